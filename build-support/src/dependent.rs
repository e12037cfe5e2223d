//! For the build script of a crate that uses pyhost: re-emit the cfgs and the link arguments
//! of the Python that `pyhost-sys` resolved.
//!
//! Cargo passes a `links` crate's metadata only to crates that depend on it directly, and
//! applies `rustc-link-arg` only to the package that prints it. So a binary that embeds Python
//! calls [`emit`] from its own `build.rs` to get the rpath to a non-system libpython (and, for a
//! static libpython, the symbol export that extension modules need), plus the `py_3_N` cfgs:
//!
//! ```no_run
//! // build.rs of a program that depends on `pyhost` (or `pyhost-sys`), in its `main`:
//! pyhost_build::dependent::emit();
//! ```
//!
//! The values come from `DEP_PYTHON3_CONFIG` / `DEP_PYTHON3_RPATH` (a direct dependency on
//! `pyhost-sys`) or `DEP_PYHOST_CONFIG` / `DEP_PYHOST_RPATH` (a direct dependency on `pyhost`,
//! which passes them on).

use std::path::PathBuf;

use crate::{Env, PythonConfig};

/// The configuration a dependency resolved, as seen by a dependant's build script.
#[derive(Debug, Clone)]
pub struct FromDependency {
    /// The Python pyhost-sys builds against.
    pub config: PythonConfig,
    /// The rpath directory it chose, if any.
    pub rpath: Option<PathBuf>,
    /// The variable prefix it was read from (`DEP_PYTHON3` or `DEP_PYHOST`).
    pub prefix: &'static str,
}

impl FromDependency {
    /// The directives [`emit`] prints.
    pub fn directives(&self) -> Vec<String> {
        self.config.dependant_directives(self.rpath.as_deref())
    }
}

/// Reads the configuration passed down by `pyhost-sys` or `pyhost`; `None` when neither is a
/// direct dependency of the package being built (for example when Python is an optional
/// feature that is turned off).
pub fn read(env: &Env) -> Option<Result<FromDependency, crate::Error>> {
    for prefix in ["DEP_PYTHON3", "DEP_PYHOST"] {
        if let Some(encoded) = env.cargo_var(&format!("{prefix}_CONFIG")) {
            let rpath = env.cargo_var(&format!("{prefix}_RPATH")).map(PathBuf::from);
            return Some(
                PythonConfig::decode(&encoded, &format!("{prefix}_CONFIG")).map(|config| {
                    FromDependency {
                        config,
                        rpath,
                        prefix,
                    }
                }),
            );
        }
    }
    None
}

/// Prints the cfgs and link arguments of the Python pyhost was built against. Stops the build
/// with an explanation when the package does not depend directly on `pyhost` or `pyhost-sys`.
pub fn emit() {
    if !emit_if_present() {
        let env = Env::from_process();
        crate::emit::fail(
            "pyhost_build::dependent::emit() found neither DEP_PYTHON3_CONFIG nor \
             DEP_PYHOST_CONFIG. Add `pyhost` (or `pyhost-sys`) to the [dependencies] of this \
             package: cargo passes its build information only to direct dependants. If Python \
             is an optional feature here, call emit_if_present() instead.",
            &env,
        );
    }
}

/// Like [`emit`], but does nothing and returns `false` when no pyhost dependency is present,
/// for packages where Python is optional.
pub fn emit_if_present() -> bool {
    let env = Env::from_process();
    match read(&env) {
        None => {
            // Declare the cfgs anyway, so `#[cfg(py_3_12)]` in an optional-Python crate does
            // not warn when Python is off.
            for d in PythonConfig::declared_cfgs() {
                println!("cargo::rustc-check-cfg=cfg({d})");
            }
            false
        }
        Some(Err(e)) => crate::emit::fail(&e.to_string(), &env),
        Some(Ok(dep)) => {
            for line in dep.directives() {
                println!("{line}");
            }
            true
        }
    }
}

/// For a crate that wraps pyhost-sys and declares its own `links` key (as `pyhost` does):
/// passes the configuration on as this crate's metadata, so that its dependants' build scripts
/// find it under `DEP_<LINKS>_CONFIG`.
pub fn forward() {
    let env = Env::from_process();
    match read(&env) {
        Some(Ok(dep)) => {
            println!("cargo:config={}", dep.config.encode());
            println!(
                "cargo:rpath={}",
                dep.rpath
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
        }
        Some(Err(e)) => crate::emit::fail(&e.to_string(), &env),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sys_metadata_first_and_builds_directives() {
        let cfg = PythonConfig::parse(
            "version=3.12.1\ninclude_dirs=/p/include/python3.12\nlib_dir=/p/lib\n",
            "t",
        )
        .unwrap();
        let env = Env::fixed([
            ("DEP_PYTHON3_CONFIG", cfg.encode()),
            ("DEP_PYTHON3_RPATH", "/p/lib".to_owned()),
            ("DEP_PYHOST_CONFIG", "garbage".to_owned()),
        ]);
        let dep = read(&env).unwrap().unwrap();
        assert_eq!(dep.prefix, "DEP_PYTHON3");
        let d = dep.directives();
        assert!(
            d.contains(&"cargo:rustc-link-arg=-Wl,-rpath,/p/lib".to_string()),
            "{d:?}"
        );
        assert!(d.contains(&"cargo:rustc-cfg=py_3_12".to_string()));
        // A dependant never links libpython itself: pyhost-sys does.
        assert!(!d.iter().any(|l| l.starts_with("cargo:rustc-link-lib")));
    }

    #[test]
    fn absent_dependency_and_broken_metadata() {
        assert!(read(&Env::fixed::<&str, &str>([])).is_none());
        let env = Env::fixed([("DEP_PYHOST_CONFIG", "version=x")]);
        let err = read(&env).unwrap().unwrap_err();
        assert!(err.to_string().contains("DEP_PYHOST_CONFIG"), "{err}");
    }
}
