//! The interpreter probe: a configuration from what `python3 -c sysconfig…` reports.

use std::path::PathBuf;

use crate::config::{LinkKind, Source};
use crate::interpreter::InterpreterFacts;
use crate::{Error, PythonConfig, PythonVersion, Result};

use super::{Discovery, State, explicit};

impl Discovery<'_> {
    pub(super) fn config_from_interpreter(
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
}
