//! Action logs for `hebbian replay`: CSV, one step per row, one number per action column. One
//! reader for every task, so each rejects the same bad input the same way, naming the line and
//! the column.

use std::path::{Path, PathBuf};

use crate::limits::{MAX_TEXT_INPUT_BYTES, read_text_capped};

/// Most rows a replay accepts (100 episodes of 1,000 steps; each row writes a line of output).
pub const MAX_REPLAY_ROWS: usize = 100_000;

/// Why an action log was refused.
#[derive(Debug, thiserror::Error)]
pub enum ActionCsvError {
    #[error("cannot read action file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}: expected {expected} comma-separated numbers ({columns}), found {found}"
    )]
    Width {
        path: PathBuf,
        line: usize,
        expected: usize,
        columns: String,
        found: usize,
    },
    #[error("{path}:{line}: column {column} (`{name}`): {problem}")]
    Value {
        path: PathBuf,
        line: usize,
        column: usize,
        name: String,
        problem: String,
    },
    #[error("{path}: no action rows (only blank lines, comments or a header)")]
    Empty { path: PathBuf },
    #[error("{path}: more than {MAX_REPLAY_ROWS} action rows; split the replay")]
    TooLong { path: PathBuf },
}

/// A header is a first row of names: no field is a number and every one starts like a name.
/// A numeric-looking row that fails to parse is therefore data, and an error, not a header.
fn is_header(fields: &[&str]) -> bool {
    fields.iter().all(|f| {
        f.parse::<f32>().is_err() && f.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
    })
}

/// Reads an action log with the given column names. Blank lines and `#` comments are skipped,
/// and so is a first row that is a header. Every value must be a finite number.
pub fn read_action_rows<const N: usize>(
    path: &Path,
    columns: [&str; N],
) -> Result<Vec<[f32; N]>, ActionCsvError> {
    let text = read_text_capped(path, MAX_TEXT_INPUT_BYTES, "action file").map_err(|source| {
        ActionCsvError::Read {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let mut rows = Vec::new();
    let mut first = true;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if std::mem::take(&mut first) && is_header(&fields) {
            continue;
        }
        if fields.len() != N {
            return Err(ActionCsvError::Width {
                path: path.to_path_buf(),
                line: n + 1,
                expected: N,
                columns: columns.join(","),
                found: fields.len(),
            });
        }
        if rows.len() == MAX_REPLAY_ROWS {
            return Err(ActionCsvError::TooLong {
                path: path.to_path_buf(),
            });
        }
        let mut row = [0.0f32; N];
        for (k, field) in fields.iter().enumerate() {
            let bad = |problem: String| ActionCsvError::Value {
                path: path.to_path_buf(),
                line: n + 1,
                column: k + 1,
                name: columns[k].to_string(),
                problem,
            };
            let v: f32 = field
                .parse()
                .map_err(|_| bad(format!("`{field}` is not a number")))?;
            if !v.is_finite() {
                return Err(bad(format!("`{field}` is not a finite number")));
            }
            row[k] = v;
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(ActionCsvError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<[f32; 3]>, ActionCsvError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        std::fs::write(&path, text).unwrap();
        read_action_rows(&path, ["steer", "gas", "brake"])
    }

    #[test]
    fn headers_comments_and_rows() {
        let rows = read("# log\nsteer,gas,brake\n\n0.5, 1, 0\n-1,0,0.8\n").unwrap();
        assert_eq!(rows, vec![[0.5, 1.0, 0.0], [-1.0, 0.0, 0.8]]);
        assert_eq!(read("0,0,0\n").unwrap().len(), 1);
    }

    #[test]
    fn bad_rows_name_line_and_column() {
        let msg = |t: &str| read(t).unwrap_err().to_string();
        // Numeric-looking but malformed: an error, not a header.
        let m = msg("0.1x,0,0\n0,0,0\n");
        assert!(
            m.contains(":1:") && m.contains("`steer`") && m.contains("0.1x"),
            "{m}"
        );
        let m = msg("steer,gas,brake\n0,nan,0\n");
        assert!(
            m.contains(":2:") && m.contains("`gas`") && m.contains("finite"),
            "{m}"
        );
        let m = msg("0,0,inf\n");
        assert!(m.contains("`brake`") && m.contains("finite"), "{m}");
        let m = msg("0,0\n");
        assert!(m.contains("expected 3") && m.contains("found 2"), "{m}");
        assert!(msg("").contains("no action rows"));
        assert!(msg("steer,gas,brake\n# nothing\n").contains("no action rows"));
    }
}
