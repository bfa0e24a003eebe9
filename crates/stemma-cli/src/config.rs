//! User defaults for writing, from a TOML file: `$STEMMA_CONFIG`, else `$XDG_CONFIG_HOME/stemma/config.toml`, else
//! `~/.config/stemma/config.toml`. Flags on the command line win over the file.
//!
//! ```toml
//! a1111 = true                 # also write the A1111 `parameters` text / EXIF UserComment
//! windows = true               # also write Windows' EXIF text tags
//! xmp = true                   # write the XMP interop mirrors (default true)
//! prompt_author = "Jane Doe"   # prompt.author of records stemma writes, unless given
//! ```

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Deserialize;

/// The defaults a user can set.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub a1111: Option<bool>,
    pub windows: Option<bool>,
    pub xmp: Option<bool>,
    pub prompt_author: Option<String>,
}

/// Where the configuration file is looked for.
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("STEMMA_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("stemma/config.toml"))
}

/// The configuration, or the defaults when there is no file. A file that exists but is broken is an error, and so
/// is a `$STEMMA_CONFIG` naming a file that does not exist (the user asked for that file; silently writing
/// without its settings would surprise them).
pub fn load() -> Result<Config> {
    let Some(path) = config_path() else {
        return Ok(Config::default());
    };
    let named = std::env::var_os("STEMMA_CONFIG").is_some();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            toml::from_str(&text).with_context(|| format!("configuration {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && named => Err(e).with_context(|| {
            format!(
                "configuration {} (named by $STEMMA_CONFIG) not found",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(e).with_context(|| format!("configuration {}", path.display())),
    }
}

/// A boolean option: the flag pair on the command line (`--x` / `--no-x`), else the file, else `default`.
pub fn choose(on: bool, off: bool, from_file: Option<bool>, default: bool) -> bool {
    if on {
        true
    } else if off {
        false
    } else {
        from_file.unwrap_or(default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key_and_refuses_unknown_ones() {
        let c: Config =
            toml::from_str("a1111 = true\nwindows = false\nprompt_author = \"Jane\"").unwrap();
        assert_eq!(c.a1111, Some(true));
        assert_eq!(c.windows, Some(false));
        assert_eq!(c.prompt_author.as_deref(), Some("Jane"));
        assert!(toml::from_str::<Config>("a111 = true").is_err());
    }

    #[test]
    fn flags_win_over_the_file() {
        assert!(choose(true, false, Some(false), false));
        assert!(!choose(false, true, Some(true), true));
        assert!(choose(false, false, Some(true), false));
        assert!(!choose(false, false, None, false));
    }
}
