//! Where a build script reads its environment from, and which variables it read.
//!
//! Every lookup of a user-facing variable goes through [`Env::var`], which records the name so
//! that [`crate::Resolved::emit`] can print `cargo:rerun-if-env-changed` for each one. Tests build
//! an [`Env::fixed`] environment so that discovery never sees the developer's real variables.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::process::Command;

/// The environment a discovery runs in: the real process environment, or a fixed map for tests.
#[derive(Debug)]
pub struct Env {
    fixed: Option<BTreeMap<String, String>>,
    read: RefCell<BTreeSet<String>>,
}

impl Env {
    /// The environment of the running process (what a build script sees).
    pub fn from_process() -> Self {
        Env {
            fixed: None,
            read: RefCell::default(),
        }
    }

    /// A hermetic environment holding exactly `vars`. Commands started through
    /// [`Env::command`] see only these variables.
    ///
    /// ```
    /// let env = pyhost_build::Env::fixed([("PYHOST_PYTHON", "/usr/bin/python3")]);
    /// assert_eq!(env.var("PYHOST_PYTHON").as_deref(), Some("/usr/bin/python3"));
    /// assert_eq!(env.var("PATH"), None);
    /// ```
    pub fn fixed<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        Env {
            fixed: Some(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
            read: RefCell::default(),
        }
    }

    /// A fixed copy of this environment (the process's variables, or the fixed map) with
    /// `overrides` applied: `Some(value)` sets a variable, `None` removes it. Tools use it to
    /// ask "what would a build pick with these variables?" without touching their own
    /// environment.
    ///
    /// ```
    /// let env = pyhost_build::Env::fixed([("A", "1"), ("B", "2")]);
    /// let changed = env.with(&[("A".into(), None), ("C".into(), Some("3".into()))]);
    /// assert_eq!((changed.var("A"), changed.var("B").as_deref(), changed.var("C").as_deref()),
    ///            (None, Some("2"), Some("3")));
    /// ```
    pub fn with(&self, overrides: &[(String, Option<String>)]) -> Env {
        let mut map: BTreeMap<String, String> = match &self.fixed {
            Some(map) => map.clone(),
            None => std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        };
        for (name, value) in overrides {
            match value {
                Some(v) => map.insert(name.clone(), v.clone()),
                None => map.remove(name),
            };
        }
        Env {
            fixed: Some(map),
            read: RefCell::default(),
        }
    }

    /// Reads a user-facing variable and remembers that it was read. An empty value counts as
    /// unset, as it does for most build tools.
    pub fn var(&self, name: &str) -> Option<String> {
        self.read.borrow_mut().insert(name.to_owned());
        self.raw(name).filter(|v| !v.is_empty())
    }

    /// Reads a variable that cargo sets for build scripts (`TARGET`, `CARGO_CFG_*`): these need
    /// no `rerun-if-env-changed`.
    pub fn cargo_var(&self, name: &str) -> Option<String> {
        self.raw(name).filter(|v| !v.is_empty())
    }

    /// Whether a flag variable is set to a true value (`1`, `true`, `yes`, `on`).
    pub fn flag(&self, name: &str) -> bool {
        self.var(name).is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
    }

    fn raw(&self, name: &str) -> Option<String> {
        match &self.fixed {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// The names of every user-facing variable read so far, sorted.
    pub fn read_vars(&self) -> Vec<String> {
        self.read.borrow().iter().cloned().collect()
    }

    /// A command that runs in this environment: for a fixed environment the child sees only
    /// the fixed variables.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        if let Some(map) = &self.fixed {
            cmd.env_clear();
            cmd.envs(map);
        }
        cmd
    }
}
