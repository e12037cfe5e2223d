//! Asking an interpreter about itself through `sysconfig`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::Env;

/// The probe script. It runs with `-E -S` (no `PYTHON*` variables, no site), uses nothing newer
/// than Python 3.6 so that an old interpreter is reported as old rather than failing, and
/// prints one `key=value` per line.
pub const PROBE_SCRIPT: &str = r#"
import os, struct, sys, sysconfig
v = sysconfig.get_config_var
paths = sysconfig.get_paths()
def out(k, val):
    print("%s=%s" % (k, "" if val is None else val))
out("version", "%d.%d.%d" % sys.version_info[:3])
out("abiflags", getattr(sys, "abiflags", ""))
out("include", paths.get("include"))
out("platinclude", paths.get("platinclude"))
out("libdir", v("LIBDIR"))
out("libpl", v("LIBPL"))
out("ldlibrary", v("LDLIBRARY"))
out("library", v("LIBRARY"))
out("shared", v("Py_ENABLE_SHARED"))
out("libs", " ".join(x for x in (v("LIBS"), v("SYSLIBS"), v("MODLIBS")) if x))
out("pointer_width", struct.calcsize("P") * 8)
out("gil_disabled", v("Py_GIL_DISABLED"))
out("debug", v("Py_DEBUG"))
out("executable", os.path.realpath(sys.executable))
out("base_prefix", getattr(sys, "base_prefix", sys.prefix))
out("multiarch", v("MULTIARCH"))
"#;

/// What an interpreter says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterpreterFacts {
    /// `version=...` and the other keys of [`PROBE_SCRIPT`].
    pub values: BTreeMap<String, String>,
    /// The command that was run.
    pub command: PathBuf,
}

impl InterpreterFacts {
    /// One value, `None` when absent or empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty() && *v != "None")
    }

    /// A `sysconfig` flag variable that is `1`.
    pub fn flag(&self, key: &str) -> bool {
        self.get(key) == Some("1")
    }

    /// The real executable (symlinks and pyenv shims resolved).
    pub fn executable(&self) -> PathBuf {
        self.get("executable")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.command.clone())
    }

    /// The directory of libpython and its file name, for a shared or static link.
    pub fn library(&self, shared: bool) -> Option<(PathBuf, String)> {
        if shared {
            let file = self.get("ldlibrary")?;
            if !file.ends_with(".a") {
                return Some((PathBuf::from(self.get("libdir")?), file.to_owned()));
            }
            None
        } else {
            let file = self.get("library")?;
            // A static libpython lives in LIBPL (config-3.X-<multiarch>) or LIBDIR.
            [self.get("libpl"), self.get("libdir")]
                .into_iter()
                .flatten()
                .map(PathBuf::from)
                .find(|d| d.join(file).is_file())
                .map(|d| (d, file.to_owned()))
        }
    }
}

/// Runs `python` with the probe script.
pub fn probe(env: &Env, python: &Path) -> Result<InterpreterFacts, String> {
    let out = env
        .command(python)
        .args(["-E", "-S", "-c", PROBE_SCRIPT])
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("`{}` was not found", python.display())
            } else {
                format!("cannot run `{}`: {e}", python.display())
            }
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.trim().lines().last().unwrap_or("").to_owned();
        return Err(format!(
            "`{}` failed ({}){}",
            python.display(),
            out.status,
            if last.is_empty() {
                String::new()
            } else {
                format!(": {last}")
            }
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let values: BTreeMap<String, String> = stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    if !values.contains_key("version") {
        return Err(format!(
            "`{}` ran but did not answer the sysconfig probe (is it a Python interpreter?)",
            python.display()
        ));
    }
    Ok(InterpreterFacts {
        values,
        command: python.to_path_buf(),
    })
}
