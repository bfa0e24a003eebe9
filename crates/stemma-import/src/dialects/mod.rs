//! The importer registry. Order matters for ties in confidence: specific dialects come before generic ones.

mod a1111;
mod c2pa;
mod civitai;
mod comfyui;
pub(crate) mod comfyui_graph;
mod comfyui_nodes;
mod comfyui_shape;
mod comfyui_workflow;
mod drawthings;
mod dreamstudio;
mod easydiffusion;
mod fooocus;
mod helpers;
mod hfspace;
mod infotext;
mod invokeai;
mod midjourney;
mod nmkd;
mod novelai;
mod stabilitymatrix;
mod stealth;
pub(crate) mod stealth_probe;
mod swarmui;
mod tensorart;

use crate::Importer;

/// Every importer, most specific first. Services and tools that also embed a ComfyUI graph (SwarmUI, TensorArt,
/// Stability Matrix, Civitai) come before ComfyUI; the generic A1111 text and C2PA-only importers come last, then the
/// importers of files beside the image and of the file name (their [`crate::Tier`] ranks them below all others).
pub static IMPORTERS: &[&dyn Importer] = &[
    &novelai::NovelAi,
    &swarmui::SwarmUi,
    &tensorart::TensorArt,
    &stabilitymatrix::StabilityMatrix,
    &civitai::Civitai,
    &drawthings::DrawThings,
    &easydiffusion::EasyDiffusion,
    &nmkd::Nmkd,
    &dreamstudio::DreamStudio,
    &invokeai::InvokeAi,
    &comfyui::ComfyUi,
    &fooocus::Fooocus,
    &midjourney::Midjourney,
    &hfspace::HfSpace,
    &a1111::A1111,
    &c2pa::C2pa,
    &stealth::Stealth,
    &crate::beside::A1111TextFile,
    &crate::beside::A1111LogCsv,
    &crate::run_files::DISCO_SETTINGS,
    &crate::run_files::PYTTI_SETTINGS,
    &crate::run_files::DEFORUM_SETTINGS,
    &crate::run_files::DeforumSubtitles,
    &crate::name_importer::FileName,
];

/// The record an A1111 infotext gives (generator identified from the text), without `raw`: for infotext kept in
/// a file of its own.
pub(crate) fn a1111_infotext_record(
    evidence: &crate::Evidence,
    text: &str,
) -> stemma_model::Record {
    a1111::infotext_record(evidence, text, "a1111").record
}

/// The A1111 importer's record for evidence that holds infotext somewhere it looks (a text file beside the image
/// added as an entry).
pub(crate) fn a1111_import(evidence: &crate::Evidence) -> crate::Result<crate::Imported> {
    use crate::Importer;
    a1111::A1111.import(evidence)
}

/// Whether a text is A1111 infotext (has the parameter line).
pub(crate) fn looks_like_a1111_infotext(text: &str) -> bool {
    infotext::looks_like_infotext(text.trim_matches('\0'))
}
