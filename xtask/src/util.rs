//! Small helpers shared by the commands.

use std::path::{Path, PathBuf};

/// The workspace root (the parent of xtask's manifest dir).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The host triple, from `rustc -vV`.
pub fn host_triple() -> String {
    std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        })
        .unwrap_or_else(|| "x86_64-unknown-linux-gnu".to_owned())
}

/// The pyenv root: `$PYENV_ROOT`, or `~/.pyenv`.
pub fn pyenv_root() -> PathBuf {
    std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".pyenv")
        })
}

/// Installed pyenv CPython versions `3.minor.*`, newest patch first.
pub fn pyenv_versions(minor: u8) -> Vec<(String, PathBuf)> {
    let mut found: Vec<(Vec<u32>, String, PathBuf)> =
        std::fs::read_dir(pyenv_root().join("versions"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let rest = name.strip_prefix(&format!("3.{minor}."))?;
                let patch: u32 = rest.parse().ok()?;
                Some((vec![patch], name, e.path()))
            })
            .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, n, p)| (n, p)).collect()
}
