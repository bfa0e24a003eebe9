//! The file name as an importer ([`crate::names`] holds the pattern table).
//!
//! A name is the least trustworthy evidence ([`Tier::Name`]): it makes a record only when it carries the tool's
//! own marker ([`Confidence::Strong`]: `DALL·E`, a Midjourney job UUID, a Deforum timestring, ...). Shapes other
//! software writes too (camera names such as `IMG_1234.png`, pytti's `name_3.png`, a bare number) are listed as a
//! weak layer and need corroboration: a run's settings file beside them, which the sequence scanner reads.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::names::{recognise_filename, FilenameMatch};
use crate::tool::Tool;
use crate::{Confidence, Error, Evidence, Imported, Importer, Result, Tier};

/// File-name stems that cameras, phones and screen grabbers write (DCF `IMG_0001`, `DSC_`, `PXL_`, `Screenshot`,
/// date-time names). They carry no tool marker, whatever pattern they happen to fit.
const CAMERA_STEMS: &[&str] = &[
    r"^(?i:img|dsc|dscn|dscf|dcim|pxl|mvimg|vid|photo|pic|image|screenshot|screen shot|sam|gopr|dji|p)[_ -]?\d",
    r"^\d{8}[_ -]\d{6}",
];

static CAMERA_RES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    CAMERA_STEMS
        .iter()
        .filter_map(|re| Regex::new(re).ok())
        .collect()
});

/// Whether a name is of the shape cameras and phones write.
pub fn is_camera_name(name: &str) -> bool {
    CAMERA_RES.iter().any(|re| re.is_match(name))
}

thread_local! {
    /// The last file name matched on this thread (folder, name) and what it gave: several importers ask about the
    /// same file one after the other (this one's `detect` and `import`, the run importers' frame check), and the
    /// pattern table is the costliest part of reading a name, so each name is matched once.
    static LAST_MATCH: RefCell<Option<(PathBuf, String, Option<FilenameMatch>)>> =
        const { RefCell::new(None) };
}

/// What the name says, with camera shapes demoted to weak.
pub(crate) fn name_match(evidence: &Evidence) -> Option<FilenameMatch> {
    let name = evidence.file_name?;
    let folder = evidence.folder.map_or(Path::new(""), |f| f.folder());
    let cached = LAST_MATCH.with(|last| {
        last.borrow()
            .as_ref()
            .filter(|(f, n, _)| f == folder && n == name)
            .map(|(_, _, m)| m.clone())
    });
    if let Some(m) = cached {
        return m;
    }
    let m = match_name(folder, name);
    LAST_MATCH.with(|last| {
        *last.borrow_mut() = Some((folder.to_path_buf(), name.to_string(), m.clone()));
    });
    m
}

fn match_name(folder: &Path, name: &str) -> Option<FilenameMatch> {
    let mut m = recognise_filename(folder.join(name)).filter(|m| m.tool != Tool::Generic)?;
    if is_camera_name(name) {
        m.confidence = Confidence::Weak;
    }
    Some(m)
}

/// The file-name importer.
pub struct FileName;

impl Importer for FileName {
    fn id(&self) -> &'static str {
        "filename"
    }
    fn describe(&self) -> &'static str {
        "Older tools that keep what they know in the file name: DALL·E, Midjourney, DreamStudio, A1111, SD scripts, Disco Diffusion, pytti, Deforum, VQGAN+CLIP, NMKD, Fooocus, InvokeAI 2.x, RIFE, FILM, Flowframes"
    }
    fn detection_rule(&self) -> &'static str {
        "a row of the file-name table (`names::PATTERNS`); a record only from a name with the tool's own marker"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        name_match(evidence).map_or(Confidence::No, |m| m.confidence)
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let m = name_match(evidence).ok_or(Error::Parse {
            dialect: "filename",
            reason: "the name fits no pattern".into(),
        })?;
        Ok(Imported {
            dialect: "filename",
            record: m.to_record(),
            warnings: Vec::new(),
        })
    }
    fn tier(&self) -> Tier {
        Tier::Name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FolderContext;
    use stemma_container::Metadata;

    fn tool_of(folder: &FolderContext, name: &str) -> Option<Tool> {
        let metadata = Metadata::default();
        let evidence = Evidence::new(&metadata)
            .with_file_name(Some(name))
            .with_folder(Some(folder));
        name_match(&evidence).map(|m| m.tool)
    }

    #[test]
    fn a_name_is_matched_again_in_another_folder() {
        // The last match is kept per thread; a folder rule decides these, so the same name must not be answered
        // from the match made for the other folder.
        let rife = FolderContext::lazy(Path::new("/renders/vid_out"));
        let vqgan = FolderContext::lazy(Path::new("/renders/steps"));
        let elsewhere = FolderContext::lazy(Path::new("/renders/misc"));
        assert_eq!(tool_of(&rife, "0000001.png"), Some(Tool::Rife));
        assert_eq!(tool_of(&vqgan, "0000001.png"), Some(Tool::VqganClip));
        assert_eq!(tool_of(&rife, "0000001.png"), Some(Tool::Rife));
        assert_eq!(tool_of(&rife, "img12.png"), None);
        assert_eq!(tool_of(&elsewhere, "0000001.png"), None);
    }
}
