//! Lossless reading and writing of stemma records in image containers.
//!
//! One handler per container grammar implements [`ContainerHandler`]; [`HANDLERS`] lists them. Handlers walk
//! chunks or segments, never decode pixels to read metadata, and keep every byte they do not own. Limits on
//! untrusted input are explicit ([`Limits`]).

pub mod apng;
pub mod atomic;
pub mod bmff;
pub mod detect;
pub mod edit_file;
mod error;
pub mod exif;
pub mod gif;
pub mod handler;
pub mod jpeg;
mod limits;
pub mod lock;
pub mod matroska;
mod matroska_write;
pub mod metadata;
pub mod mirror;
pub mod mp4;
mod mp4_write;
pub mod ops;
pub mod pixels;
mod pixels_png;
pub mod png;
mod png_tail;
pub mod sidecar;
pub mod source;
pub mod text;
pub mod video;
pub mod webp;
pub mod xmp;

pub use detect::{sniff, Format};
pub use error::{Error, Result};
pub use handler::{handler_for, ContainerHandler, Edit, RecordChange, StripProfile, HANDLERS};
pub use limits::Limits;
pub use metadata::{Block, Entry, Metadata, Value};
pub use video::{video_info, VideoInfo};
