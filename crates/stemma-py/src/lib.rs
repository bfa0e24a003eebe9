//! stemma for Python: the library calls behind the `stemma` package (read, show, stamp, strip, ids, scan, runs).
//!
//! The Rust side is plain Rust so that its logic is tested by `cargo test`; the PyO3 module (`python` feature,
//! turned on by maturin) only converts arguments, releases the GIL and maps errors to Python exceptions.

pub mod catalog;
pub mod edit;
pub mod envelope;
pub mod error;
pub mod files;
pub mod resolver;
pub mod runs;

#[cfg(feature = "python")]
mod python;

pub use error::{Error, ErrorKind, Result};
