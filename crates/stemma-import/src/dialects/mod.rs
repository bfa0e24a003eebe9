//! The importer registry. Order matters for ties in confidence: specific dialects come before generic ones.

use crate::Importer;

/// Every importer, most specific first.
pub static IMPORTERS: &[&dyn Importer] = &[];
