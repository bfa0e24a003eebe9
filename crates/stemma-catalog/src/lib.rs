//! The stemma catalog: an embedded SQLite index of a whole image library, keyed by content id, with a query
//! language, prompt management (stacks, variations, templates), tags and ratings, lineage and exports.
//!
//! Every file's metadata is read through [`resolver`], nothing else. SQL is kept portable except in [`search`]
//! (FTS5).

pub mod bulk;
pub mod catalog;
mod error;
pub mod export;
pub mod extract;
pub mod find;
pub mod fork_link;
pub mod gallery;
pub mod lineage;
pub mod link;
pub mod prompts;
pub mod query;
pub mod resolver;
pub mod scan;
pub mod schema;
pub mod search;
pub mod store;
pub mod tags;
pub mod tokens;

pub use catalog::{locate, Catalog};
pub use error::{Error, Result};
pub use scan::{scan, Progress, ScanOptions, ScanSummary};
