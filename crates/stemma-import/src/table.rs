//! The supported-dialects table, rendered from the importer registry (so the README cannot drift from the code).

use crate::IMPORTERS;

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialectRow {
    pub id: &'static str,
    pub tools: &'static str,
    pub detection: &'static str,
}

/// Every registered dialect, in registry order (most specific first).
pub fn dialect_rows() -> Vec<DialectRow> {
    IMPORTERS
        .iter()
        .map(|i| DialectRow {
            id: i.id(),
            tools: i.describe(),
            detection: i.detection_rule(),
        })
        .collect()
}

/// The table as GitHub-flavoured Markdown: `| dialect | tools | detected by |`.
pub fn dialects_markdown() -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = String::from("| dialect | tools | detected by |\n|---|---|---|\n");
    for row in dialect_rows() {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            row.id,
            cell(row.tools),
            cell(row.detection)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_importer_with_unique_ids() {
        let md = dialects_markdown();
        assert_eq!(md.lines().count(), IMPORTERS.len() + 2);
        let rows = dialect_rows();
        for (i, row) in rows.iter().enumerate() {
            assert!(md.contains(&format!("| `{}` |", row.id)));
            assert!(
                !row.tools.is_empty() && !row.detection.is_empty(),
                "{}",
                row.id
            );
            assert!(
                rows[i + 1..].iter().all(|r| r.id != row.id),
                "duplicate id {}",
                row.id
            );
        }
        for id in ["a1111", "novelai", "swarmui", "c2pa", "stealth"] {
            assert!(rows.iter().any(|r| r.id == id), "{id}");
        }
    }

    #[test]
    fn pipes_are_escaped() {
        let md = dialects_markdown();
        for line in md.lines().skip(2) {
            assert_eq!(line.matches(" | ").count(), 2, "{line}");
        }
    }
}
