//! What the commands print, the same way everywhere: file names in JSON (lossless for names that are not UTF-8),
//! usage errors (exit 2) and the one line a writing command prints on success.

use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};

pub use stemma_import::resolve::envelope::json_file;

/// The JSON object `{"file": ..., ["file_bytes": ...]}` naming `path`, for commands that add fields to it.
pub fn json_file_object(path: &Path) -> Map<String, Value> {
    let named = json_file(path);
    let mut object = Map::new();
    object.insert("file".into(), Value::String(named.file.into_owned()));
    if let Some(bytes) = named.file_bytes {
        object.insert(
            "file_bytes".into(),
            Value::Array(bytes.iter().map(|b| Value::from(*b)).collect()),
        );
    }
    object
}

/// A mistake on the command line found after parsing (a malformed `--param`): `main` exits with
/// [`crate::exit::USAGE`], as for the errors clap finds.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// True when any cause in the chain is a [`UsageError`].
pub fn is_usage_error(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<UsageError>())
}

/// An error with its causes on one line, as anyhow's `{:#}` prints it, except that a cause is left out when the
/// line already ends with its text: library errors that quote their source in their own message (`I/O error:
/// <os error>`) would otherwise print it twice.
pub struct Chain<'a>(pub &'a anyhow::Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&chain_text(self.0.chain().map(ToString::to_string)))
    }
}

/// The texts of an error chain joined with `: `, each left out when the line already ends with it.
fn chain_text(causes: impl Iterator<Item = String>) -> String {
    let mut line = String::new();
    for text in causes {
        if text.is_empty() || line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// The one line a command prints when it succeeded (standard output), unless `-q`.
pub fn done(quiet: bool, line: fmt::Arguments<'_>) {
    if !quiet {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_quoted_is_not_repeated() {
        let causes = [
            "x.png: not written",
            "stemma record: record is not valid JSON: EOF at line 1",
            "record is not valid JSON: EOF at line 1",
            "EOF at line 1",
        ];
        assert_eq!(
            chain_text(causes.iter().map(|s| s.to_string())),
            "x.png: not written: stemma record: record is not valid JSON: EOF at line 1"
        );
        let io =
            anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::NotFound)).context("a.png");
        assert_eq!(Chain(&io).to_string(), format!("{io:#}"));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_object_has_the_fields_of_the_file_name() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        for path in [
            Path::new("a/ü.png"),
            Path::new(OsStr::from_bytes(b"d/x\xff\xfe.png")),
        ] {
            let fields = serde_json::to_value(json_file(path)).unwrap();
            assert_eq!(Value::Object(json_file_object(path)), fields);
        }
    }
}
