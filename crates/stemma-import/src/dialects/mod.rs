//! The importer registry. Order matters for ties in confidence: specific dialects come before generic ones.

pub(crate) mod a1111;
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
