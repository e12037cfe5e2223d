//! Small helpers shared by the commands.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The workspace root (the parent of xtask's manifest dir).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The cargo that runs us (`$CARGO`, set by `cargo run`), else `cargo`.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The host triple, from `rustc -vV`.
pub fn host_triple() -> String {
    cargo_pyhost::host_triple()
}

/// The workspace's target directory (`$CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Installed pyenv CPython versions `3.minor.*`, newest patch first.
pub fn pyenv_versions(minor: u8) -> Vec<(String, PathBuf)> {
    let env = pyhost_build::Env::from_process();
    let prefix = format!("3.{minor}.");
    let mut found: Vec<(String, PathBuf)> = cargo_pyhost::candidates::pyenv_versions(&env)
        .into_iter()
        .filter(|(name, _)| {
            name.strip_prefix(&prefix)
                .is_some_and(|patch| patch.parse::<u32>().is_ok())
        })
        .collect();
    // pyhost-build sorts oldest first.
    found.reverse();
    found
}

/// `1m05s`, `12.3s`.
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// Text laid out in columns, each as wide as its widest cell; the last column is not
/// padded.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_tables() {
        assert_eq!(fmt_duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(fmt_duration(Duration::from_secs(65)), "1m05s");
        assert_eq!(
            table(&[
                vec!["a".into(), "bb".into(), "c".into()],
                vec!["ddd".into(), "e".into(), "".into()],
            ]),
            "a    bb  c\nddd  e\n"
        );
    }
}
