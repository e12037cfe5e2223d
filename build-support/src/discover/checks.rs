//! Checking a candidate against its headers, its library on disk and the interpreter on
//! `PATH`.

use std::path::{Path, PathBuf};

use crate::config::{LinkKind, Source};
use crate::headers::{self};
use crate::interpreter::{self, InterpreterFacts};
use crate::version::MIN_MINOR;
use crate::{Error, PythonConfig, PythonVersion, Result};

use super::pkg_config::{debian_arch, lib_name_version};
use super::{Discovery, Resolved, State};

impl Discovery<'_> {
    /// Checks a candidate configuration against the headers, the library on disk and the
    /// interpreter, fills in what the headers know, and collects the warnings.
    pub(super) fn finish(
        &self,
        mut config: PythonConfig,
        mut state: State,
        interpreter: Option<InterpreterFacts>,
        wanted: Option<PythonVersion>,
    ) -> Result<Resolved> {
        let env = self.env;
        let target = &self.target;
        let source = config.source.to_string();
        let dev_pkg = |v: &PythonVersion| match (target.is_cross(), debian_arch(target)) {
            (true, Some(arch)) => format!("apt-get install libpython{}-dev:{arch}", v.short()),
            _ => format!("apt-get install libpython{}-dev (Debian/Ubuntu)", v.short()),
        };
        let headers = headers::inspect(&config.include_dirs, target, state.sysroot.as_deref())
            .map_err(|e| Error::Missing {
                what: if e == "no Python.h" {
                    "Python.h".to_owned()
                } else {
                    format!("a readable patchlevel.h ({e})")
                },
                looked_in: config.include_dirs.clone(),
                source: source.clone(),
                fix: format!(
                    "install the Python headers: {}, or point the configuration at the \
                         directory holding Python.h",
                    dev_pkg(&config.version)
                ),
            })?;
        let patchlevel = headers
            .python_h_dir
            .join("patchlevel.h")
            .display()
            .to_string();
        if !headers.version.same_minor(&config.version) {
            return Err(Error::Mismatch {
                what: "Python version".into(),
                left: (source.clone(), config.version.to_string()),
                right: (patchlevel, headers.version.to_string()),
                fix: "the headers and the library must come from the same Python: fix the \
                      include dirs of the configuration, or choose another Python with \
                      PYHOST_PYTHON or PKG_CONFIG_PATH"
                    .into(),
            });
        }
        if let (Some(a), Some(b)) = (config.version.patch, headers.version.patch) {
            if a != b {
                state.note(format!(
                    "{source} is Python {}, its headers say {}: the same ABI, so this is fine",
                    config.version, headers.version
                ));
            }
        }
        if headers.version.minor < MIN_MINOR || headers.version.major != 3 {
            return Err(Error::Unsupported {
                version: headers.version.to_string(),
                source,
            });
        }
        if state.want_debug && !headers.debug {
            return Err(Error::Mismatch {
                what: "Debug build (Py_DEBUG)".into(),
                left: (
                    "PYHOST_PYTHON_VERSION".into(),
                    format!("{}d", headers.version.short()),
                ),
                right: (source, "a release build".into()),
                fix: format!(
                    "install the debug build (Debian: apt-get install python{}-dbg), or drop \
                     the `d` from PYHOST_PYTHON_VERSION",
                    headers.version.short()
                ),
            });
        }
        if let Some(w) = wanted {
            if !w.same_minor(&headers.version) {
                return Err(Error::Mismatch {
                    what: "Python version".into(),
                    left: ("PYHOST_PYTHON_VERSION".into(), w.to_string()),
                    right: (source, headers.version.to_string()),
                    fix: "unset PYHOST_PYTHON_VERSION or make the configuration name that version"
                        .into(),
                });
            }
        }
        config.version = headers.version;
        if let Some(width) = headers.pointer_width {
            if width != target.pointer_width {
                return Err(Error::Mismatch {
                    what: "Pointer width".into(),
                    left: (
                        headers
                            .pyconfig
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default(),
                        format!("{width}-bit"),
                    ),
                    right: (
                        format!("target {}", target.triple),
                        format!("{}-bit", target.pointer_width),
                    ),
                    fix: format!(
                        "these headers belong to another architecture: point \
                         PKG_CONFIG_PATH_{} (or PYHOST_CONFIG_FILE) at the target's Python",
                        target.triple_underscored()
                    ),
                });
            }
            config.pointer_width = width;
        }
        if headers.pyconfig.is_some() {
            if matches!(config.source, Source::ConfigFile(_))
                && config.gil_disabled != headers.gil_disabled
            {
                return Err(Error::Mismatch {
                    what: "Free-threading (Py_GIL_DISABLED)".into(),
                    left: (source, config.gil_disabled.to_string()),
                    right: (
                        headers
                            .pyconfig
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default(),
                        headers.gil_disabled.to_string(),
                    ),
                    fix: "set gil_disabled in the configuration file to what the headers say"
                        .into(),
                });
            }
            config.gil_disabled = headers.gil_disabled;
            config.debug = headers.debug;
        }
        if let Some(lib_version) = lib_name_version(&config.lib_name) {
            if lib_version != config.version.short() {
                return Err(Error::Mismatch {
                    what: "Python version".into(),
                    left: (
                        format!("the library name lib{}", config.lib_name),
                        lib_version,
                    ),
                    right: (patchlevel, config.version.to_string()),
                    fix: "make lib_name (or the .pc file's -l flag) name the library of the \
                          same Python as the headers"
                        .into(),
                });
            }
        }
        self.check_library(&config, &dev_pkg)?;

        // An interpreter named by the configuration must be the same Python.
        if !target.is_cross() {
            if let (None, Some(exe)) = (&interpreter, &config.executable) {
                if let Ok(facts) = interpreter::probe(env, exe) {
                    if let Some(v) = facts
                        .get("version")
                        .and_then(|v| v.parse::<PythonVersion>().ok())
                    {
                        if !v.same_minor(&config.version) {
                            return Err(Error::Mismatch {
                                what: "Python version".into(),
                                left: (format!("the executable {}", exe.display()), v.to_string()),
                                right: (source, config.version.to_string()),
                                fix: "make `executable` name the interpreter of the Python being linked".into(),
                            });
                        }
                    }
                }
            }
        }
        if env.flag("PYHOST_NO_RPATH") {
            config.rpath = false;
        }
        if !target.is_cross()
            && !matches!(&config.source, Source::Interpreter { variable: None, .. })
        {
            if let Some(w) = self.path_python_warning(&config) {
                state.warn(w);
            }
        }
        Ok(Resolved {
            config,
            target: target.clone(),
            headers,
            warnings: state.warnings,
            notes: state.notes,
            sysroot: state.sysroot,
            env_vars: env.read_vars(),
            watched_files: state.watched,
            print_requested: state.print_requested,
        })
    }

    pub(super) fn check_library(
        &self,
        config: &PythonConfig,
        dev_pkg: &dyn Fn(&PythonVersion) -> String,
    ) -> Result<()> {
        let file = config.lib_file_name();
        let dirs: Vec<PathBuf> = match &config.lib_dir {
            Some(d) => vec![d.clone()],
            None => self.target.system_lib_dirs(),
        };
        let present = dirs.iter().any(|d| {
            d.join(&file).exists()
                || (config.link == LinkKind::Shared && d.join(format!("{file}.1.0")).exists())
        });
        if present {
            return Ok(());
        }
        Err(Error::Missing {
            what: file,
            looked_in: dirs,
            source: config.source.to_string(),
            fix: format!(
                "install the library: {}, or fix lib_dir/lib_name in the configuration",
                dev_pkg(&config.version)
            ),
        })
    }

    /// On a native build, compares the chosen Python with `python3` on PATH and explains any
    /// difference: the embedded interpreter uses the linked Python's standard library.
    pub(super) fn path_python_warning(&self, config: &PythonConfig) -> Option<String> {
        let facts = interpreter::probe(self.env, Path::new("python3")).ok()?;
        let exe = facts.executable();
        let version: PythonVersion = facts.get("version")?.parse().ok()?;
        let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let path_lib = facts.library(true).map(|(d, _)| canon(&d));
        let our_lib = config.lib_dir.as_deref().map(canon);
        let same_exe = config.executable.as_deref().map(canon) == Some(canon(&exe));
        if same_exe
            || (version.same_minor(&config.version) && path_lib.is_some() && path_lib == our_lib)
        {
            return None;
        }
        let lib = |d: Option<&Path>| {
            d.map(|d| format!(", libpython in {}", d.display()))
                .unwrap_or_default()
        };
        Some(format!(
            "building against Python {} from {}{}, but `python3` on PATH is Python {} ({}{}). \
             The embedded interpreter uses the standard library of the Python it links, not \
             the one on PATH. To build against the PATH one instead, set PYHOST_PYTHON={}",
            config.version,
            config.source,
            lib(config.lib_dir.as_deref()),
            version,
            exe.display(),
            lib(path_lib.as_deref()),
            exe.display(),
        ))
    }
}
