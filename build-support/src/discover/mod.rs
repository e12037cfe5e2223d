//! Finding the Python to build against: explicit configuration, then pkg-config, then an
//! interpreter probe (native builds only), and checking that what was found agrees with itself.

mod checks;
mod pkg_config;
mod probe;

use std::path::{Path, PathBuf};

use crate::config::LinkKind;
use crate::error::Attempt;
use crate::headers::HeaderFacts;
use crate::interpreter::{self};
use crate::pkgconfig::PkgConfig;
use crate::{Env, Error, PythonConfig, PythonVersion, Result, Target};

/// Runs the discovery for one target.
///
/// ```no_run
/// // In a build script:
/// let env = pyhost_build::Env::from_process();
/// let resolved = pyhost_build::Discovery::new(&env).resolve().unwrap_or_else(|e| {
///     eprintln!("{e}");
///     std::process::exit(1);
/// });
/// resolved.emit();
/// ```
#[derive(Debug)]
pub struct Discovery<'e> {
    env: &'e Env,
    target: Target,
}

/// The outcome of a discovery: the configuration, the header facts it was checked against,
/// and what the build should tell its user.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The Python to build against.
    pub config: PythonConfig,
    /// The target it was resolved for.
    pub target: Target,
    /// What the headers say.
    pub headers: HeaderFacts,
    /// Things the user should see on every build (printed as `cargo:warning`).
    pub warnings: Vec<String>,
    /// Details shown by `PYHOST_PRINT_CONFIG`.
    pub notes: Vec<String>,
    /// The sysroot in effect for the target, if any.
    pub sysroot: Option<PathBuf>,
    /// Every variable the discovery read, for `rerun-if-env-changed`.
    pub env_vars: Vec<String>,
    /// Files whose change should rerun the build script.
    pub watched_files: Vec<PathBuf>,
    /// `PYHOST_PRINT_CONFIG` is set: print the configuration and stop.
    pub print_requested: bool,
}

impl<'e> Discovery<'e> {
    /// A discovery for the target described by `env` (cargo's `TARGET` and `CARGO_CFG_*`).
    pub fn new(env: &'e Env) -> Self {
        Discovery {
            target: Target::from_env(env),
            env,
        }
    }

    /// A discovery for an explicit target (used by xtask's `doctor`).
    pub fn for_target(env: &'e Env, target: Target) -> Self {
        Discovery { env, target }
    }

    /// Finds and checks the Python to build against.
    pub fn resolve(&self) -> Result<Resolved> {
        let env = self.env;
        let mut state = State {
            print_requested: env.flag("PYHOST_PRINT_CONFIG"),
            ..State::default()
        };
        let link = match env.var("PYHOST_LINK").as_deref() {
            None => None,
            Some("shared") => Some(LinkKind::Shared),
            Some("static") => Some(LinkKind::Static),
            Some(other) => {
                return Err(explicit(
                    "PYHOST_LINK",
                    other,
                    "is neither `shared` nor `static`",
                    "set PYHOST_LINK=static or PYHOST_LINK=shared, or unset it",
                ));
            }
        };
        // `3.12`, or `3.12d` for a debug build (Py_DEBUG).
        let wanted_version = match env.var("PYHOST_PYTHON_VERSION") {
            None => None,
            Some(v) => {
                let (number, debug) = match v.strip_suffix('d') {
                    Some(n) => (n, true),
                    None => (v.as_str(), false),
                };
                state.want_debug = debug;
                Some(number.parse::<PythonVersion>().map_err(|e| {
                    explicit(
                        "PYHOST_PYTHON_VERSION",
                        &v,
                        &e,
                        "set it to a version like 3.12 (or 3.12d for a debug build)",
                    )
                })?)
            }
        };

        // 1. Explicit configuration.
        if let Some(path) = env.var("PYHOST_CONFIG_FILE") {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::ConfigFile {
                path: PathBuf::from(&path),
                line: 0,
                message: format!("cannot read the file PYHOST_CONFIG_FILE names: {e}"),
            })?;
            let config = PythonConfig::parse(&text, &path)?;
            if env.var("PYHOST_PYTHON").is_some() {
                state.warn(
                    "both PYHOST_CONFIG_FILE and PYHOST_PYTHON are set; PYHOST_CONFIG_FILE wins",
                );
            }
            if link.is_some() {
                state.warn(
                    "PYHOST_LINK is ignored when PYHOST_CONFIG_FILE is set: use its `shared` key",
                );
            }
            state.watched.push(PathBuf::from(&path));
            return self.finish(config, state, None, wanted_version);
        }
        state
            .attempts
            .push(attempt("PYHOST_CONFIG_FILE", "not set"));

        if let Some(python) = env.var("PYHOST_PYTHON") {
            let facts = interpreter::probe(env, Path::new(&python)).map_err(|e| {
                explicit(
                    "PYHOST_PYTHON",
                    &python,
                    &e,
                    "point PYHOST_PYTHON at a working python3 interpreter, or unset it",
                )
            })?;
            let config =
                self.config_from_interpreter(&facts, Some("PYHOST_PYTHON"), link, &mut state)?;
            return self.finish(config, state, Some(facts), wanted_version);
        }
        state.attempts.push(attempt("PYHOST_PYTHON", "not set"));

        // 2. pkg-config.
        let pc = PkgConfig::for_target(env, &self.target);
        let search = pc.describe();
        match pc.available() {
            Err(e) => state.attempts.push(attempt("pkg-config", &e)),
            Ok(()) => {
                for name in self.pkg_config_names(&pc, wanted_version, state.want_debug) {
                    match pc.probe(&name) {
                        Err(e) => state
                            .attempts
                            .push(attempt(&format!("pkg-config {name} ({search})"), &e)),
                        Ok(pkg) => {
                            let found: Option<PythonVersion> = pkg.version.parse().ok();
                            if let (Some(w), Some(f)) = (wanted_version, found) {
                                if !w.same_minor(&f) {
                                    state.attempts.push(attempt(
                                        &format!("pkg-config {name} ({search})"),
                                        &format!("found Python {f}, but PYHOST_PYTHON_VERSION={w}"),
                                    ));
                                    continue;
                                }
                            }
                            let sysroot = pc.sysroot().map(Path::to_path_buf);
                            let config = self.config_from_pkg_config(&pkg, link, &mut state)?;
                            state.sysroot = sysroot;
                            if let Some(pc_file) = &pkg.pc_file {
                                state.watched.push(pc_file.clone());
                            }
                            return self.finish(config, state, None, wanted_version);
                        }
                    }
                }
            }
        }

        // 3. Interpreter probe, native builds only.
        if self.target.is_cross() {
            state.attempts.push(attempt(
                "python3 on PATH",
                &format!(
                    "skipped: cross-compiling for {} on {}, and a host interpreter cannot \
                     describe the target's Python",
                    self.target.triple, self.target.host
                ),
            ));
        } else {
            // The probe result depends on which python3 PATH finds.
            let _ = env.var("PATH");
            match interpreter::probe(env, Path::new("python3")) {
                Err(e) => state.attempts.push(attempt("python3 on PATH", &e)),
                Ok(facts) => {
                    let version_ok = match (wanted_version, facts.get("version")) {
                        (Some(w), Some(f)) => {
                            f.parse::<PythonVersion>().is_ok_and(|f| w.same_minor(&f))
                        }
                        _ => true,
                    };
                    if version_ok {
                        let config =
                            self.config_from_interpreter(&facts, None, link, &mut state)?;
                        return self.finish(config, state, Some(facts), wanted_version);
                    }
                    state.attempts.push(attempt(
                        "python3 on PATH",
                        &format!(
                            "is Python {}, but PYHOST_PYTHON_VERSION={}",
                            facts.get("version").unwrap_or("?"),
                            wanted_version.map(|v| v.to_string()).unwrap_or_default()
                        ),
                    ));
                }
            }
        }
        Err(Error::NotFound {
            target: self.target.triple.clone(),
            attempts: state.attempts,
            fixes: self.not_found_fixes(wanted_version),
        })
    }
}

pub(super) fn attempt(step: &str, outcome: &str) -> Attempt {
    Attempt {
        step: step.to_owned(),
        outcome: outcome.to_owned(),
    }
}

pub(super) fn explicit(variable: &str, value: &str, problem: &str, fix: &str) -> Error {
    Error::Explicit {
        variable: variable.to_owned(),
        value: value.to_owned(),
        problem: problem.to_owned(),
        fix: fix.to_owned(),
    }
}

#[derive(Debug, Default)]
pub(super) struct State {
    /// `PYHOST_PYTHON_VERSION` ends in `d`: only a debug build will do.
    pub(super) want_debug: bool,
    pub(super) attempts: Vec<Attempt>,
    pub(super) warnings: Vec<String>,
    pub(super) notes: Vec<String>,
    pub(super) sysroot: Option<PathBuf>,
    pub(super) watched: Vec<PathBuf>,
    pub(super) print_requested: bool,
}

impl State {
    pub(super) fn warn(&mut self, w: impl Into<String>) {
        self.warnings.push(w.into());
    }
    pub(super) fn note(&mut self, n: impl Into<String>) {
        self.notes.push(n.into());
    }
}
