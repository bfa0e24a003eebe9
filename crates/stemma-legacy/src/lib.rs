//! Importers for older and animation tools that keep little or nothing inside their images: file-name patterns
//! (DALL·E, Midjourney, DreamStudio, A1111, the original SD scripts, Disco Diffusion, pytti, Deforum, VQGAN+CLIP,
//! interpolation tools, and a generic fallback), settings files (Disco, pytti, Deforum, A1111 `.txt` and
//! `log.csv`, Deforum `.srt`), frame sequences with gaps, restarts and interpolated frames, and APNG export with a
//! per-frame table.
//!
//! ```
//! use stemma_legacy::{recognise_filename, Tool};
//! let m = recognise_filename("TimeToDisco(0)_0012.png").unwrap();
//! assert_eq!(m.tool, Tool::Disco);
//! assert_eq!(m.frame, Some(12));
//! assert_eq!(m.sequence_key.as_deref(), Some("disco:TimeToDisco(0)"));
//! ```

mod error;
pub mod filename;
mod tool;

pub use error::{Error, Result};
pub use filename::{
    recognise_filename, recognise_name, A1111Pattern, FileKind, FilenameMatch, PATTERNS,
};
pub use tool::Tool;
