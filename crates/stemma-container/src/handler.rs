//! The container trait: one implementation per container grammar, listed once in [`HANDLERS`].

use stemma_model::ContentId;

use crate::detect::Format;
use crate::error::Result;
use crate::limits::Limits;
use crate::metadata::Metadata;
use crate::mirror::Mirrors;
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
    /// With a new record: also write the XMP interop mirrors (`dc:description`, IPTC AI properties, Digital
    /// Source Type). In PNG they go into an `XML:com.adobe.xmp` iTXt; elsewhere into the XMP that holds the record.
    pub xmp_mirrors: bool,
    /// With a new record: also write the A1111 `parameters` text (PNG iTXt `parameters`; EXIF UserComment in
    /// JPEG and WebP, only when the file has no EXIF yet).
    pub a1111_mirror: bool,
    /// With a new record: also write the Windows text tags (EXIF ImageDescription, XPComment, XPTitle) where the
    /// container carries EXIF and the file has no EXIF yet.
    pub windows_text: bool,
}

impl Default for Edit {
    /// Change nothing; mirrors on when a record is set.
    fn default() -> Self {
        Edit {
            record: RecordChange::Keep,
            strip: None,
            force: false,
            xmp_mirrors: true,
            a1111_mirror: false,
            windows_text: false,
        }
    }
}

impl Edit {
    /// Write or replace the record, with its XMP mirrors.
    pub fn set_record(json: String) -> Self {
        Edit {
            record: RecordChange::Set(json),
            ..Edit::default()
        }
    }

    /// Strip with a profile, nothing else.
    pub fn strip(profile: StripProfile) -> Self {
        Edit {
            strip: Some(profile),
            ..Edit::default()
        }
    }

    /// True when a file with a C2PA manifest must refuse this edit: it changes the record, does not strip the
    /// manifest (`strip --profile all`) and is not forced.
    pub fn breaks_c2pa(&self, has_c2pa: bool) -> bool {
        has_c2pa
            && !self.force
            && !matches!(self.strip, Some(StripProfile::All))
            && !matches!(self.record, RecordChange::Keep)
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
    /// Apply `edit` to the whole file and return the new bytes, writing the `mirrors` computed once above the
    /// handlers for this edit ([`Mirrors::of`] or [`Mirrors::from_record`]).
    fn apply(
        &self,
        file: &[u8],
        edit: &Edit,
        mirrors: &Mirrors,
        limits: &Limits,
    ) -> Result<Vec<u8>>;
    /// Apply `edit` to the whole file and return the new bytes (its mirrors derived from the record it sets).
    fn edit(&self, file: &[u8], edit: &Edit, limits: &Limits) -> Result<Vec<u8>> {
        self.apply(file, edit, &Mirrors::of(edit), limits)
    }
    /// The data id: `sha256:` of the encoded image data with all metadata left out (specification §5.2).
    fn data_id(&self, file: &[u8], limits: &Limits) -> Result<ContentId>;
    /// Integrity problems (CRCs, structure) that do not stop parsing; an error when the file cannot be parsed.
    fn check(&self, file: &[u8], limits: &Limits) -> Result<Vec<String>>;
    /// The problems of [`check`](Self::check) that make the file damaged (truncated, inconsistent structure), so
    /// that a writer must refuse it; notices such as data kept after the end of the image are left out.
    fn damage(&self, file: &[u8], limits: &Limits) -> Result<Vec<String>> {
        self.check(file, limits)
    }
}

/// Every handler, one per container grammar.
pub static HANDLERS: &[&dyn ContainerHandler] = &[
    &crate::png::PngHandler,
    &crate::jpeg::JpegHandler,
    &crate::webp::WebpHandler,
    &crate::gif::GifHandler,
    &crate::bmff::BmffHandler(Format::Avif),
    &crate::bmff::BmffHandler(Format::Heif),
    &crate::mp4::Mp4Handler(Format::Mp4),
    &crate::mp4::Mp4Handler(Format::Mov),
    &crate::matroska::MatroskaHandler,
];

/// The handler for a format, if there is one.
pub fn handler_for(format: Format) -> Option<&'static dyn ContainerHandler> {
    HANDLERS.iter().copied().find(|h| h.format() == format)
}
