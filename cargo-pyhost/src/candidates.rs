//! Every Python install pyhost-build can see for a target, what a build would make of each,
//! and the variables that select it.
//!
//! [`Discovery`] answers "which Python does this build use?". A survey answers the
//! questions around it: which others are there, is the one on `PATH` the one being linked,
//! and what to set to build against another. `cargo pyhost doctor` prints a survey, and
//! pyhost's `cargo xtask test` runs its test suite once per install it lists.
//!
//! Where it looks, in this order (the order in which equal installs are named):
//!
//! 1. pkg-config: `python3-embed` and every `python-3.X-embed` it lists for the target;
//! 2. pyenv: each directory of `$PYENV_ROOT/versions` (default `~/.pyenv/versions`);
//! 3. `python3` on `PATH` (pyenv shims resolved to the real interpreter);
//! 4. the system's interpreters: `python3.X` in `/usr/local/bin` and `/usr/bin`.
//!
//! Interpreters (2–4) are only considered when the target is the host.
//!
//! ```no_run
//! use cargo_pyhost::candidates;
//! use pyhost_build::{Env, Target};
//! let env = Env::from_process();
//! let host = "x86_64-unknown-linux-gnu";
//! let survey = candidates::survey(&env, &Target::from_triple(host, host));
//! for c in &survey.candidates {
//!     let selected = if c.default { "*" } else { " " };
//!     let version = c.version().map(|v| v.to_string()).unwrap_or_default();
//!     println!("{selected} {} {version}", c.label);
//! }
//! ```

use std::path::{Path, PathBuf};

use pyhost_build::MIN_MINOR;
use pyhost_build::interpreter;
use pyhost_build::pkgconfig::PkgConfig;
use pyhost_build::{Discovery, Env, Error, PythonVersion, Resolved, Target};

/// Where a candidate was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// A pkg-config package (`python3-embed`, `python-3.11-embed`).
    PkgConfig,
    /// A pyenv version directory.
    Pyenv,
    /// `python3` on `PATH`.
    PathPython,
    /// An interpreter in a system directory (`/usr/bin/python3.11`).
    System,
}

/// Variable assignments that make a build pick one Python: `Some(value)` sets the variable,
/// `None` unsets it.
pub type Selector = Vec<(String, Option<String>)>;

/// One Python install and what a build would make of it.
#[derive(Debug)]
pub struct Candidate {
    /// Where it was found first.
    pub kind: Kind,
    /// For humans: `pkg-config python3-embed`, `pyenv 3.12.1`, `python3 on PATH`,
    /// `/usr/bin/python3.11`.
    pub label: String,
    /// The `.pc` file or the interpreter.
    pub location: PathBuf,
    /// The version it claims before any check (the `.pc` file's `Version`, the pyenv
    /// directory's name, the interpreter's answer), when known.
    pub claimed: Option<PythonVersion>,
    /// Ways to select it, best first: apply one of them to the environment of a build.
    pub selectors: Vec<Selector>,
    /// What a discovery run with the first selector makes of it.
    pub resolved: Result<Resolved, Error>,
    /// Other places where the same install was found (`python3 on PATH`, another `.pc`
    /// name).
    pub also: Vec<String>,
    /// Whether a build in the unchanged environment picks this install.
    pub default: bool,
}

impl Candidate {
    /// The version: the one the headers declare when the install resolved, else the
    /// claimed one.
    pub fn version(&self) -> Option<PythonVersion> {
        match &self.resolved {
            Ok(r) => Some(r.config.version),
            Err(_) => self.claimed,
        }
    }

    /// Whether pyhost can build against it.
    pub fn usable(&self) -> bool {
        self.resolved.is_ok()
    }

    /// Whether it is older than pyhost supports.
    pub fn unsupported(&self) -> bool {
        matches!(self.resolved, Err(Error::Unsupported { .. }))
    }
}

/// Every candidate for one target, and what a build in the unchanged environment picks.
#[derive(Debug)]
pub struct Survey {
    /// The target surveyed.
    pub target: Target,
    /// What a build picks with the environment as it is.
    pub default: Result<Resolved, Error>,
    /// Every install found, equal installs merged, in the order of the module docs.
    pub candidates: Vec<Candidate>,
    /// What `python3` on `PATH` is (native targets only): its real executable and version,
    /// or why it could not be asked.
    pub path_python: Option<Result<(PathBuf, PythonVersion), String>>,
}

impl Survey {
    /// The candidate a build picks by default.
    pub fn default_candidate(&self) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.default)
    }

    /// The candidate `python3` on `PATH` belongs to.
    pub fn path_candidate(&self) -> Option<&Candidate> {
        self.candidates
            .iter()
            .find(|c| c.kind == Kind::PathPython || c.also.iter().any(|a| a == PATH_LABEL))
    }
}

const PATH_LABEL: &str = "python3 on PATH";
const CHOOSERS: [&str; 3] = [
    "PYHOST_CONFIG_FILE",
    "PYHOST_PYTHON",
    "PYHOST_PYTHON_VERSION",
];

/// Surveys the Python installs for `target` as seen from `env`. Runs pkg-config and each
/// interpreter found, so it takes a moment (about a tenth of a second per install).
pub fn survey(env: &Env, target: &Target) -> Survey {
    let default = Discovery::for_target(env, target.clone()).resolve();
    let mut found: Vec<Candidate> = Vec::new();
    // The same file under two names (Debian's python3-embed.pc is a symlink to
    // python-3.11-embed.pc): one candidate, the other name noted.
    let push = |c: Candidate, found: &mut Vec<Candidate>| {
        let key = canonical(&c.location);
        match found.iter_mut().find(|f| canonical(&f.location) == key) {
            Some(first) => first.also.push(c.label),
            None => found.push(c),
        }
    };

    // 1. pkg-config.
    let pc = PkgConfig::for_target(env, target);
    if pc.available().is_ok() {
        let mut names: Vec<(Option<u8>, String)> = pc
            .list_all()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|n| {
                if n == "python3-embed" {
                    return Some((None, n));
                }
                let minor = n.strip_prefix("python-3.")?.strip_suffix("-embed")?;
                Some((Some(minor.parse().ok()?), n))
            })
            .collect();
        // python3-embed first, then the versioned names, newest first.
        names.sort_by_key(|(m, _)| m.map(std::cmp::Reverse));
        for (minor, name) in names {
            let Ok(pkg) = pc.probe(&name) else { continue };
            let Some(pc_file) = pkg.pc_file.clone() else {
                continue;
            };
            let dir = pc_file.parent().map(Path::to_path_buf).unwrap_or_default();
            let mut sel = clear_choosers(env, &["PYHOST_PYTHON_VERSION"]);
            if !target.is_cross() {
                sel.push(("PKG_CONFIG_PATH".into(), Some(dir.display().to_string())));
            }
            if let Some(m) = minor {
                sel.push(("PYHOST_PYTHON_VERSION".into(), Some(format!("3.{m}"))));
            }
            let c = candidate(
                env,
                target,
                Kind::PkgConfig,
                format!("pkg-config {name}"),
                pc_file,
                pkg.version.parse().ok(),
                vec![sel],
            );
            push(c, &mut found);
        }
    }

    let mut path_python = None;
    if !target.is_cross() {
        // 2. pyenv.
        for (name, prefix) in pyenv_versions(env) {
            let claimed: Option<PythonVersion> = name.parse().ok();
            let label = format!("pyenv {name}");
            let exe = pyenv_interpreter(&prefix);
            if let Some(v) = claimed.filter(|v| v.major != 3 || v.minor < MIN_MINOR) {
                push(
                    Candidate {
                        kind: Kind::Pyenv,
                        resolved: Err(Error::Unsupported {
                            version: v.to_string(),
                            source: format!("{label} ({})", prefix.display()),
                        }),
                        label,
                        location: exe.unwrap_or(prefix),
                        claimed,
                        selectors: Vec::new(),
                        also: Vec::new(),
                        default: false,
                    },
                    &mut found,
                );
                continue;
            }
            let Some(exe) = exe else { continue };
            let mut selectors = vec![interpreter_selector(env, &exe)];
            let pc_dir = prefix.join("lib/pkgconfig");
            if pc_dir.join("python3-embed.pc").is_file() {
                let mut sel = clear_choosers(env, &[]);
                sel.push(("PKG_CONFIG_PATH".into(), Some(pc_dir.display().to_string())));
                selectors.push(sel);
            }
            let c = candidate(env, target, Kind::Pyenv, label, exe, claimed, selectors);
            push(c, &mut found);
        }

        // 3. python3 on PATH.
        let probed = interpreter::probe(env, Path::new("python3"));
        path_python = Some(probed.as_ref().map_err(Clone::clone).and_then(|f| {
            let v = f
                .get("version")
                .unwrap_or("")
                .parse::<PythonVersion>()
                .map_err(|e| format!("python3 on PATH: {e}"))?;
            Ok((f.executable(), v))
        }));
        if let Ok(facts) = &probed {
            let exe = facts.executable();
            let key = canonical(&exe);
            // Found already (as a pyenv version): note where else it is.
            if let Some(c) = found.iter_mut().find(|c| canonical(&c.location) == key) {
                c.also.push(PATH_LABEL.to_owned());
            } else {
                let claimed = facts.get("version").and_then(|v| v.parse().ok());
                let sel = interpreter_selector(env, &exe);
                let c = candidate(
                    env,
                    target,
                    Kind::PathPython,
                    PATH_LABEL.to_owned(),
                    exe,
                    claimed,
                    vec![sel],
                );
                push(c, &mut found);
            }
        }

        // 4. System interpreters.
        for exe in system_interpreters() {
            let label = exe.display().to_string();
            let sel = interpreter_selector(env, &exe);
            let c = candidate(env, target, Kind::System, label, exe, None, vec![sel]);
            push(c, &mut found);
        }
    }

    let mut candidates = merge(found);
    if let Ok(d) = &default {
        let key = identity(d);
        for c in &mut candidates {
            c.default = c.resolved.as_ref().is_ok_and(|r| identity(r) == key);
        }
    }
    Survey {
        target: target.clone(),
        default,
        candidates,
        path_python,
    }
}

fn candidate(
    env: &Env,
    target: &Target,
    kind: Kind,
    label: String,
    location: PathBuf,
    claimed: Option<PythonVersion>,
    selectors: Vec<Selector>,
) -> Candidate {
    let resolved = Discovery::for_target(&env.with(&selectors[0]), target.clone()).resolve();
    let claimed = claimed.or_else(|| resolved.as_ref().ok().map(|r| r.config.version));
    Candidate {
        kind,
        label,
        location,
        claimed,
        selectors,
        resolved,
        also: Vec::new(),
        default: false,
    }
}

/// `PYHOST_PYTHON=<exe>`, clearing the variables that would win over it.
fn interpreter_selector(env: &Env, exe: &Path) -> Selector {
    let mut sel = clear_choosers(env, &["PYHOST_PYTHON"]);
    sel.push(("PYHOST_PYTHON".into(), Some(exe.display().to_string())));
    sel
}

/// Unsets the variables that choose a Python and are set in `env`, except `keep`.
fn clear_choosers(env: &Env, keep: &[&str]) -> Selector {
    CHOOSERS
        .iter()
        .filter(|v| !keep.contains(v) && env.var(v).is_some())
        .map(|v| ((*v).to_owned(), None))
        .collect()
}

/// Merges candidates that resolved to the same install (same headers, same library): the
/// first keeps its label, the others become `also`, their selectors are appended.
fn merge(found: Vec<Candidate>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for c in found {
        let key = c.resolved.as_ref().ok().map(identity);
        if let Some(k) = &key {
            if let Some(first) = out
                .iter_mut()
                .find(|o| o.resolved.as_ref().ok().map(identity).as_ref() == Some(k))
            {
                first.also.push(c.label);
                first.also.extend(c.also);
                first.selectors.extend(c.selectors);
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// What makes two resolutions the same install: the directory of `Python.h` and the library.
fn identity(r: &Resolved) -> (PathBuf, Option<PathBuf>, String) {
    (
        canonical(&r.headers.python_h_dir),
        r.config.lib_dir.as_deref().map(canonical),
        r.config.lib_name.clone(),
    )
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// The pyenv root: `$PYENV_ROOT`, else `$HOME/.pyenv`.
pub fn pyenv_root(env: &Env) -> Option<PathBuf> {
    env.var("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| env.var("HOME").map(|h| Path::new(&h).join(".pyenv")))
}

/// The directories of `<pyenv root>/versions`, as `(name, prefix)`, sorted by version
/// (names that are not versions last, by name).
pub fn pyenv_versions(env: &Env) -> Vec<(String, PathBuf)> {
    let Some(root) = pyenv_root(env) else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(root.join("versions"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    found.sort_by_key(|a| version_key(&a.0));
    found
}

/// Sort key of a pyenv directory name: versions by number, anything else after them.
fn version_key(name: &str) -> (bool, Vec<u32>, String) {
    let nums: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
    match nums {
        Some(n) => (false, n, String::new()),
        None => (true, Vec::new(), name.to_owned()),
    }
}

/// The interpreter of a pyenv version: `bin/python3.X`, `bin/python3` or `bin/python`.
fn pyenv_interpreter(prefix: &Path) -> Option<PathBuf> {
    let bin = prefix.join("bin");
    let mut versioned: Vec<PathBuf> = std::fs::read_dir(&bin)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("python"))
                .is_some_and(|rest| {
                    let mut parts = rest.split('.');
                    parts.next().is_some_and(|m| m.parse::<u8>().is_ok())
                        && parts.next().is_some_and(|m| m.parse::<u8>().is_ok())
                        && parts.next().is_none()
                })
        })
        .collect();
    versioned.sort();
    versioned
        .into_iter()
        .next()
        .or_else(|| Some(bin.join("python3")).filter(|p| p.is_file()))
        .or_else(|| Some(bin.join("python")).filter(|p| p.is_file()))
}

/// `python3.X` in `/usr/local/bin` and `/usr/bin`, newest first, symlinks to one another
/// dropped.
fn system_interpreters() -> Vec<PathBuf> {
    let mut out: Vec<(u8, PathBuf)> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for dir in ["/usr/local/bin", "/usr/bin"] {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut here: Vec<(u8, PathBuf)> = rd
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let minor: u8 = name.strip_prefix("python3.")?.parse().ok()?;
                Some((minor, e.path()))
            })
            .collect();
        here.sort_by_key(|(m, _)| std::cmp::Reverse(*m));
        for (m, p) in here {
            let c = canonical(&p);
            if !seen.contains(&c) {
                seen.push(c);
                out.push((m, p));
            }
        }
    }
    out.into_iter().map(|(_, p)| p).collect()
}

/// Formats a selector as shell words: `PYHOST_PYTHON=/x/python3`, with `env -u VAR` in front
/// for the variables it unsets.
///
/// ```
/// use cargo_pyhost::candidates::selector_to_string;
/// let sel = vec![
///     ("PYHOST_CONFIG_FILE".to_string(), None),
///     ("PYHOST_PYTHON".to_string(), Some("/opt/py/bin/python3.12".to_string())),
/// ];
/// assert_eq!(
///     selector_to_string(&sel),
///     "env -u PYHOST_CONFIG_FILE PYHOST_PYTHON=/opt/py/bin/python3.12"
/// );
/// assert_eq!(selector_to_string(&[]), "(nothing to set)");
/// ```
pub fn selector_to_string(sel: &[(String, Option<String>)]) -> String {
    if sel.is_empty() {
        return "(nothing to set)".to_owned();
    }
    let unset: Vec<&str> = sel
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k.as_str())
        .collect();
    let mut words: Vec<String> = Vec::new();
    if !unset.is_empty() {
        words.push("env".to_owned());
        for u in unset {
            words.push(format!("-u {u}"));
        }
    }
    for (k, v) in sel {
        if let Some(v) = v {
            words.push(format!("{k}={}", crate::cross::shell_quote(v)));
        }
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyenv_names_sort_by_version_then_name() {
        let mut names = vec![
            "3.10.13",
            "3.8.18",
            "pypy3.10-7.3",
            "2.7.18",
            "3.9.18",
            "3.13.0",
        ];
        names.sort_by_key(|a| version_key(a));
        assert_eq!(
            names,
            [
                "2.7.18",
                "3.8.18",
                "3.9.18",
                "3.10.13",
                "3.13.0",
                "pypy3.10-7.3"
            ]
        );
    }

    #[test]
    fn selectors_clear_only_variables_that_are_set() {
        let env = Env::fixed([
            ("PYHOST_CONFIG_FILE", "/c"),
            ("PYHOST_PYTHON_VERSION", "3.9"),
        ]);
        assert_eq!(
            interpreter_selector(&env, Path::new("/p/python3.12")),
            [
                ("PYHOST_CONFIG_FILE".to_owned(), None),
                ("PYHOST_PYTHON_VERSION".to_owned(), None),
                ("PYHOST_PYTHON".to_owned(), Some("/p/python3.12".to_owned())),
            ]
        );
        assert!(interpreter_selector(&Env::fixed::<&str, &str>([]), Path::new("/p")).len() == 1);
        assert_eq!(
            selector_to_string(&[("PKG_CONFIG_PATH".into(), Some("/a b".into()))]),
            "PKG_CONFIG_PATH='/a b'"
        );
    }

    #[test]
    fn pyenv_interpreter_prefers_the_versioned_name() {
        let tmp = pyhost_build::test_support::TempDir::new("pyenv-bin");
        let bin = tmp.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for f in ["python3", "python3.12", "python3.12-config", "python"] {
            std::fs::write(bin.join(f), "").unwrap();
        }
        assert_eq!(pyenv_interpreter(tmp.path()), Some(bin.join("python3.12")));
        std::fs::remove_file(bin.join("python3.12")).unwrap();
        assert_eq!(pyenv_interpreter(tmp.path()), Some(bin.join("python3")));
    }
}
