//! The container trait: one implementation per container grammar, listed once in [`HANDLERS`].

use stemma_model::ContentId;

use crate::detect::Format;
use crate::error::Result;
use crate::limits::Limits;
use crate::metadata::Metadata;
use crate::source::Source;

/// What to do with the stemma record in an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordChange {
    /// Leave it as it is.
    Keep,
    /// Write this record JSON (replacing any record already there).
    Set(String),
    /// Remove it.
    Remove,
}

/// Which metadata a strip removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StripProfile {
    /// Every metadata chunk or segment (text, EXIF, XMP, C2PA, unknown ancillary chunks); colour and rendering
    /// information is kept.
    All,
    /// Only stemma's own chunks.
    Stemma,
}

/// One edit of a file. Handlers apply the strip first, then the record change.
#[derive(Debug, Clone)]
pub struct Edit {
    pub record: RecordChange,
    pub strip: Option<StripProfile>,
    /// Allow an edit that invalidates a C2PA manifest.
    pub force: bool,
}

impl Edit {
    /// Write or replace the record, nothing else.
    pub fn set_record(json: String) -> Self {
        Edit {
            record: RecordChange::Set(json),
            strip: None,
            force: false,
        }
    }
}

/// A container grammar: scanning metadata without decoding pixels, and lossless edits.
///
/// Handlers are stateless. Every byte a handler does not own is written back unchanged and in order; an edit of
/// an unchanged input with [`RecordChange::Keep`] and no strip returns the input unchanged.
pub trait ContainerHandler: Send + Sync {
    /// The format this handler reads.
    fn format(&self) -> Format;
    /// Walk the file and decode its metadata; never decodes or inflates image data.
    fn scan(&self, source: &dyn Source, limits: &Limits) -> Result<Metadata>;
    /// Apply `edit` to the whole file and return the new bytes.
    fn edit(&self, file: &[u8], edit: &Edit, limits: &Limits) -> Result<Vec<u8>>;
    /// The data id: `sha256:` of the encoded image data with all metadata left out (specification §5.2).
    fn data_id(&self, file: &[u8], limits: &Limits) -> Result<ContentId>;
    /// Integrity problems (CRCs, structure) that do not stop parsing; an error when the file cannot be parsed.
    fn check(&self, file: &[u8], limits: &Limits) -> Result<Vec<String>>;
}

/// Every handler, one per container grammar.
pub static HANDLERS: &[&dyn ContainerHandler] = &[&crate::png::PngHandler];

/// The handler for a format, if there is one.
pub fn handler_for(format: Format) -> Option<&'static dyn ContainerHandler> {
    HANDLERS.iter().copied().find(|h| h.format() == format)
}
