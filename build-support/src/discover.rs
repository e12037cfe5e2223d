//! Finding the Python to build against: explicit configuration, then pkg-config, then an
//! interpreter probe (native builds only), and checking that what was found agrees with itself.

use std::path::{Path, PathBuf};

use crate::config::{LinkKind, Source};
use crate::error::Attempt;
use crate::headers::{self, HeaderFacts};
use crate::interpreter::{self, InterpreterFacts};
use crate::pkgconfig::{Package, PkgConfig};
use crate::version::MIN_MINOR;
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

    fn pkg_config_names(
        &self,
        pc: &PkgConfig<'_>,
        wanted: Option<PythonVersion>,
        debug: bool,
    ) -> Vec<String> {
        let mut names = Vec::new();
        if let Some(w) = wanted {
            if debug {
                // Debian names a debug build both ways.
                names.push(format!("python-{}d-embed", w.short()));
                names.push(format!("python-{}-dbg-embed", w.short()));
                return names;
            }
            names.push(format!("python-{}-embed", w.short()));
        }
        names.push("python3-embed".to_owned());
        // Debian's cross packages ship only the versioned names: take the newest first.
        let mut versioned: Vec<(u8, String)> = pc
            .list_all()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|n| {
                let minor = n.strip_prefix("python-3.")?.strip_suffix("-embed")?;
                Some((minor.parse().ok()?, n))
            })
            .filter(|(minor, _)| *minor >= MIN_MINOR)
            .collect();
        versioned.sort_by_key(|v| std::cmp::Reverse(v.0));
        for (_, n) in versioned {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        names
    }

    fn not_found_fixes(&self, wanted: Option<PythonVersion>) -> Vec<String> {
        let t = &self.target;
        let pkg_version = wanted.map(|w| w.short()).unwrap_or_else(|| "3".to_owned());
        if t.is_cross() {
            let arch = debian_arch(t).unwrap_or("<arch>");
            vec![
                format!(
                    "on Debian/Ubuntu: dpkg --add-architecture {arch} && apt-get update && \
                     apt-get install libpython{pkg_version}-dev:{arch}"
                ),
                format!(
                    "or set PKG_CONFIG_PATH_{}=<directory holding the target's python3-embed.pc> \
                     (and PKG_CONFIG_SYSROOT_DIR_{} for a sysroot)",
                    t.triple_underscored(),
                    t.triple_underscored()
                ),
                "or describe the target's Python in a file and set PYHOST_CONFIG_FILE=<file> \
                 (see pyhost-build's documentation for its keys)"
                    .to_owned(),
            ]
        } else {
            vec![
                format!(
                    "on Debian/Ubuntu: apt-get install python{pkg_version}-dev pkg-config; on \
                     Fedora: dnf install python3-devel pkgconf"
                ),
                "or set PYHOST_PYTHON=/path/to/python3 (an interpreter with its headers and \
                 shared libpython)"
                    .to_owned(),
                "or set PKG_CONFIG_PATH=<prefix>/lib/pkgconfig of a Python install (a pyenv \
                 version, for example)"
                    .to_owned(),
            ]
        }
    }

    fn config_from_pkg_config(
        &self,
        pkg: &Package,
        link: Option<LinkKind>,
        state: &mut State,
    ) -> Result<PythonConfig> {
        let source = Source::PkgConfig {
            package: pkg.name.clone(),
            pc_file: pkg.pc_file.clone(),
        };
        let bad_pc = |what: &str| Error::Missing {
            what: what.to_owned(),
            looked_in: pkg.pc_file.iter().cloned().collect(),
            source: source.to_string(),
            fix: "repair or reinstall the package that owns this .pc file (python3-dev), or \
                  point PKG_CONFIG_PATH elsewhere"
                .to_owned(),
        };
        let version: PythonVersion = pkg
            .version
            .parse()
            .map_err(|_| bad_pc(&format!("a Python version in Version: {}", pkg.version)))?;
        let lib_name = pkg
            .libs
            .iter()
            .find(|l| l.starts_with("python"))
            .cloned()
            .ok_or_else(|| bad_pc("a -lpython3.X entry in Libs"))?;
        let lib_dir = pkg
            .lib_dirs
            .first()
            .cloned()
            .or_else(|| pkg.libdir_var.clone());
        let mut config = PythonConfig {
            version,
            abiflags: lib_name
                .strip_prefix(&format!("python{}", version.short()))
                .unwrap_or("")
                .to_owned(),
            include_dirs: pkg.include_dirs.clone(),
            lib_dir,
            lib_name,
            link: LinkKind::Shared,
            extra_libs: Vec::new(),
            pointer_width: self.target.pointer_width,
            gil_disabled: false,
            debug: false,
            limited_api: false,
            executable: None,
            rpath: true,
            source,
        };
        if link == Some(LinkKind::Static) {
            self.use_static_lib(&mut config, &pkg.static_libs, state)?;
        }
        Ok(config)
    }

    /// Switches a configuration to the static libpython next to its shared one: Debian and
    /// pyenv keep it in `lib/python3.X/config-3.X-<multiarch>/`, Debian as a `-pic` variant
    /// that can go into a position-independent executable.
    fn use_static_lib(
        &self,
        config: &mut PythonConfig,
        pc_static_libs: &[String],
        state: &mut State,
    ) -> Result<()> {
        let short = config.version.short();
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(lib_dir) = &config.lib_dir {
            dirs.push(lib_dir.clone());
            let multiarch = self.target.multiarch();
            // `config-3.11` or `config-3.11-<multiarch>` of this target (Debian installs one
            // per architecture side by side).
            let is_config_dir = |name: &str| match name.strip_prefix(&format!("config-{short}")) {
                Some("") => true,
                Some(rest) => match (&multiarch, rest.strip_prefix('-')) {
                    (Some(m), Some(arch)) => arch == m,
                    (None, Some(_)) => true,
                    _ => false,
                },
                None => false,
            };
            let sibling = lib_dir.parent().map(|p| p.join(format!("python{short}")));
            for base in [Some(lib_dir.join(format!("python{short}"))), sibling]
                .into_iter()
                .flatten()
            {
                if let Ok(rd) = std::fs::read_dir(&base) {
                    let mut found: Vec<PathBuf> = rd
                        .flatten()
                        .map(|e| e.path())
                        .filter(|p| {
                            p.file_name()
                                .and_then(|n| n.to_str())
                                .is_some_and(is_config_dir)
                        })
                        .collect();
                    found.sort();
                    dirs.extend(found);
                }
            }
        }
        let base = config.lib_name.clone();
        // A position-independent archive anywhere beats a plain one: Rust links PIE
        // executables, which a non-PIC libpython cannot go into.
        let candidates = [format!("{base}-pic"), base.clone()];
        for name in &candidates {
            for dir in &dirs {
                if dir.join(format!("lib{name}.a")).is_file() {
                    config.link = LinkKind::Static;
                    config.lib_dir = Some(dir.clone());
                    config.lib_name = name.clone();
                    let mut libs: Vec<String> = pc_static_libs.to_vec();
                    libs.extend(makefile_libs(dir));
                    for common in ["m", "dl", "pthread", "util"] {
                        libs.push(common.to_owned());
                    }
                    let mut seen = Vec::new();
                    for l in libs {
                        if !l.starts_with("python") && !seen.contains(&l) {
                            seen.push(l);
                        }
                    }
                    config.extra_libs = seen;
                    state.note(format!(
                        "static link: {} (extra libraries: {})",
                        dir.join(format!("lib{name}.a")).display(),
                        config.extra_libs.join(", ")
                    ));
                    return Ok(());
                }
            }
        }
        Err(Error::Missing {
            what: format!("a static lib{base}.a (PYHOST_LINK=static)"),
            looked_in: dirs,
            source: config.source.to_string(),
            fix: "install the package that ships it (Debian: libpython3.X-dev ships \
                  libpython3.X-pic.a), build Python with its static library, or unset \
                  PYHOST_LINK to link the shared library"
                .to_owned(),
        })
    }

    fn config_from_interpreter(
        &self,
        facts: &InterpreterFacts,
        variable: Option<&str>,
        link: Option<LinkKind>,
        state: &mut State,
    ) -> Result<PythonConfig> {
        let exe = facts.executable();
        let source = Source::Interpreter {
            path: exe.clone(),
            variable: variable.map(str::to_owned),
        };
        let version: PythonVersion =
            facts
                .get("version")
                .unwrap_or("")
                .parse()
                .map_err(|e: String| {
                    explicit(
                        variable.unwrap_or("python3"),
                        &exe.display().to_string(),
                        &e,
                        "use a CPython interpreter",
                    )
                })?;
        let mut include_dirs: Vec<PathBuf> = Vec::new();
        for key in ["include", "platinclude"] {
            if let Some(d) = facts.get(key).map(PathBuf::from) {
                if !include_dirs.contains(&d) {
                    include_dirs.push(d);
                }
            }
        }
        let want_static = link == Some(LinkKind::Static);
        let (lib, kind) = match facts.library(!want_static) {
            Some(l) => (
                l,
                if want_static {
                    LinkKind::Static
                } else {
                    LinkKind::Shared
                },
            ),
            None if !want_static => match facts.library(false) {
                Some(l) if link.is_none() => {
                    state.warn(format!(
                        "{} has no shared libpython (it was built without --enable-shared); \
                         linking its static {} instead",
                        exe.display(),
                        l.1
                    ));
                    (l, LinkKind::Static)
                }
                _ => {
                    return Err(Error::Missing {
                        what: format!("a shared libpython{}", version.short()),
                        looked_in: facts.get("libdir").map(PathBuf::from).into_iter().collect(),
                        source: source.to_string(),
                        fix: "use a Python built with --enable-shared (pyenv: \
                              PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.X), or set \
                              PYHOST_LINK=static"
                            .to_owned(),
                    });
                }
            },
            None => {
                return Err(Error::Missing {
                    what: format!(
                        "a static libpython{}.a (PYHOST_LINK=static)",
                        version.short()
                    ),
                    looked_in: [facts.get("libpl"), facts.get("libdir")]
                        .into_iter()
                        .flatten()
                        .map(PathBuf::from)
                        .collect(),
                    source: source.to_string(),
                    fix: "build Python with its static library, or unset PYHOST_LINK".to_owned(),
                });
            }
        };
        let (mut lib_dir, file) = lib;
        let mut lib_name = file
            .strip_prefix("lib")
            .unwrap_or(&file)
            .trim_end_matches(".a")
            .split(".so")
            .next()
            .unwrap_or_default()
            .to_owned();
        if kind == LinkKind::Static {
            let pic = format!("lib{lib_name}-pic.a");
            if lib_dir.join(&pic).is_file() {
                lib_name = format!("{lib_name}-pic");
            } else if let Some(libpl) = facts.get("libpl").map(PathBuf::from) {
                if libpl.join(&pic).is_file() {
                    lib_dir = libpl;
                    lib_name = format!("{lib_name}-pic");
                }
            }
        }
        let extra_libs = if kind == LinkKind::Static {
            let mut libs: Vec<String> = Vec::new();
            for flag in facts.get("libs").unwrap_or("").split_whitespace() {
                if let Some(l) = flag.strip_prefix("-l") {
                    if !libs.iter().any(|x| x == l) {
                        libs.push(l.to_owned());
                    }
                }
            }
            libs
        } else {
            Vec::new()
        };
        Ok(PythonConfig {
            version,
            abiflags: facts.get("abiflags").unwrap_or("").to_owned(),
            include_dirs,
            lib_dir: Some(lib_dir),
            lib_name,
            link: kind,
            extra_libs,
            pointer_width: facts
                .get("pointer_width")
                .and_then(|w| w.parse().ok())
                .unwrap_or(self.target.pointer_width),
            gil_disabled: facts.flag("gil_disabled"),
            debug: facts.flag("debug"),
            limited_api: false,
            executable: Some(exe),
            rpath: true,
            source,
        })
    }

    /// Checks a candidate configuration against the headers, the library on disk and the
    /// interpreter, fills in what the headers know, and collects the warnings.
    fn finish(
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

    fn check_library(
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
    fn path_python_warning(&self, config: &PythonConfig) -> Option<String> {
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

/// The version in a library name: `python3.11d` → `3.11`.
fn lib_name_version(name: &str) -> Option<String> {
    let rest = name.strip_prefix("python")?;
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = digits.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    (!major.is_empty() && !minor.is_empty()).then(|| format!("{major}.{minor}"))
}

/// Debian's architecture name for a target (`arm64` for aarch64).
pub(crate) fn debian_arch(target: &Target) -> Option<&'static str> {
    Some(match target.multiarch()?.as_str() {
        "x86_64-linux-gnu" => "amd64",
        "aarch64-linux-gnu" => "arm64",
        "i386-linux-gnu" => "i386",
        "arm-linux-gnueabihf" => "armhf",
        "arm-linux-gnueabi" => "armel",
        "powerpc64le-linux-gnu" => "ppc64el",
        "riscv64-linux-gnu" => "riscv64",
        "s390x-linux-gnu" => "s390x",
        _ => return None,
    })
}

/// `-l` names a static libpython of a `config-3.X` directory needs: `LIBS` and `SYSLIBS` from
/// its `Makefile`, plus `MODULE_<NAME>_LDFLAGS` of each extension module compiled into the
/// library (those listed in its `config.c`). Shared extension modules' libraries are not
/// needed.
fn makefile_libs(config_dir: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(config_dir.join("Makefile")) else {
        return Vec::new();
    };
    let builtin: Vec<String> = std::fs::read_to_string(config_dir.join("config.c"))
        .unwrap_or_default()
        .split("PyInit_")
        .skip(1)
        .filter_map(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then(|| format!("MODULE_{}_LDFLAGS", name.to_ascii_uppercase()))
        })
        .collect();
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if matches!(key, "LIBS" | "SYSLIBS") || builtin.iter().any(|b| b == key) {
            for flag in value.split_whitespace() {
                if let Some(l) = flag.strip_prefix("-l") {
                    if !out.iter().any(|x| x == l) {
                        out.push(l.to_owned());
                    }
                }
            }
        }
    }
    out
}

fn attempt(step: &str, outcome: &str) -> Attempt {
    Attempt {
        step: step.to_owned(),
        outcome: outcome.to_owned(),
    }
}

fn explicit(variable: &str, value: &str, problem: &str, fix: &str) -> Error {
    Error::Explicit {
        variable: variable.to_owned(),
        value: value.to_owned(),
        problem: problem.to_owned(),
        fix: fix.to_owned(),
    }
}

#[derive(Debug, Default)]
struct State {
    /// `PYHOST_PYTHON_VERSION` ends in `d`: only a debug build will do.
    want_debug: bool,
    attempts: Vec<Attempt>,
    warnings: Vec<String>,
    notes: Vec<String>,
    sysroot: Option<PathBuf>,
    watched: Vec<PathBuf>,
    print_requested: bool,
}

impl State {
    fn warn(&mut self, w: impl Into<String>) {
        self.warnings.push(w.into());
    }
    fn note(&mut self, n: impl Into<String>) {
        self.notes.push(n.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_names_carry_their_version() {
        assert_eq!(lib_name_version("python3.11").as_deref(), Some("3.11"));
        assert_eq!(lib_name_version("python3.13t").as_deref(), Some("3.13"));
        assert_eq!(lib_name_version("python3.11-pic").as_deref(), Some("3.11"));
        assert_eq!(lib_name_version("python3"), None);
        assert_eq!(lib_name_version("ruby"), None);
    }

    #[test]
    fn makefile_libs_come_from_builtin_modules_only() {
        let tmp = crate::test_support::TempDir::new("makefile");
        std::fs::write(
            tmp.path().join("Makefile"),
            "LIBS=\t\t-ldl\nSYSLIBS=  -lm\nMODLIBS= $(LOCALMODLIBS)\nMODULE_ZLIB_LDFLAGS=-lz \n\
             MODULE_PYEXPAT_LDFLAGS=-lexpat\nMODULE__TKINTER_LDFLAGS=-ltk8.6\nCC= gcc\n",
        )
        .unwrap();
        std::fs::write(
            tmp.path().join("config.c"),
            "extern PyObject* PyInit_zlib(void);\nextern PyObject* PyInit_pyexpat(void);\n",
        )
        .unwrap();
        assert_eq!(makefile_libs(tmp.path()), ["dl", "m", "z", "expat"]);
        assert!(makefile_libs(&tmp.path().join("none")).is_empty());
    }
}
