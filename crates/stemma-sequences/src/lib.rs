//! Frame sequences of animation and optimisation runs: Disco Diffusion, pytti, Deforum, VQGAN+CLIP and the frame
//! interpolation tools (RIFE, FILM, Flowframes). A folder scan ([`scan_folder_with`]) groups a run's frames by
//! what their names and the run's settings file say, finds gaps, restarts, cadence and interpolated frames, and
//! gives every frame its record; [`export_sequence`] assembles the frames into one APNG with a per-frame table.
//!
//! What one file says on its own (its name, a settings file, an A1111 `.txt`) is read by `stemma-import`'s
//! importers; this crate is what needs the whole folder.
//!
//! ```
//! use stemma_import::{recognise_filename, Tool};
//! let m = recognise_filename("TimeToDisco(0)_0012.png").unwrap();
//! assert_eq!(m.tool, Tool::Disco);
//! assert_eq!(m.frame, Some(12));
//! assert_eq!(m.sequence_key.as_deref(), Some("disco:TimeToDisco(0)"));
//! ```

pub mod apng;
mod error;
mod index;
pub mod sequence;

pub use apng::{export_apng, export_apng_with, export_sequence, ApngExport, ApngFrame};
pub use error::{Error, Result};
pub use index::FrameIndex;
pub use sequence::{
    scan_folder, scan_folder_with, write_frame_records, FolderScan, FrameEntry, FrameKind,
    ScanOptions, SequenceReport,
};
