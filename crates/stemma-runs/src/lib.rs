//! Runs of AI image generators (specification `spec/runs.md`): a run manifest (`<name>.stemma-run.json`) with
//! its base settings kept once, by settings hash, in a settings store; the status of a run by content (verified,
//! produced, damaged, foreign, missing, planned); what a generator needs to resume a broken run at the first item
//! to redo (Deforum, Disco Diffusion, pytti, a generic plan); forks of an image or a frame with changed settings
//! in the generators' own formats (A1111 infotext and API payload, ComfyUI API graph, Deforum and Disco
//! settings, native JSON); the fingerprints that let `stemma scan` link a fork's results to their source; and the
//! diff of two settings documents.
//!
//! Nothing here deletes or writes over a frame: every file is written new and atomically.

mod diff;
mod emit_a1111;
mod emit_anim;
mod emit_comfyui;
mod error;
mod fork;
mod fork_input;
mod infer;
pub mod link;
mod manifest;
mod resume;
mod status;
mod store;

pub use diff::{diff_settings, token_diff, SettingsDiff};
pub use emit_a1111::edit_infotext;
pub use emit_comfyui::{edit_graph, template_graph};
pub use error::{Error, Result};
pub use fork::{apply_changes, fork, native_params, ForkOutput, Forked};
pub use fork_input::{
    canonical_key, load_source, parse_change, ForkFormat, ForkRequest, ForkSource,
};
pub use infer::{
    infer_folder, is_manifest_path, manifest_from_settings, open_run, read_settings_file, run_id,
    OpenRun,
};
pub use manifest::{
    is_settings_hash, manifest_path, ForkInfo, Manifest, Plan, Produced, SettingsRef,
    MANIFEST_SUFFIX, MANIFEST_VERSION,
};
pub use resume::{resume, Resume, Written, RETAINED_DIR};
pub use status::{status, FileStatus, Item, ItemStatus, RunStatus};
pub use store::{SettingsStore, StoredSettings, STEMMA_DIR};
