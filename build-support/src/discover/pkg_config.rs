//! pkg-config: the package names to try, what a package says, the static library choice.

use std::path::{Path, PathBuf};

use crate::config::{LinkKind, Source};
use crate::pkgconfig::{Package, PkgConfig};
use crate::version::MIN_MINOR;
use crate::{Error, PythonConfig, PythonVersion, Result, Target};

use super::{Discovery, State};

impl Discovery<'_> {
    pub(super) fn pkg_config_names(
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

    pub(super) fn not_found_fixes(&self, wanted: Option<PythonVersion>) -> Vec<String> {
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

    pub(super) fn config_from_pkg_config(
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
    pub(super) fn use_static_lib(
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
}

/// The version in a library name: `python3.11d` → `3.11`.
pub(super) fn lib_name_version(name: &str) -> Option<String> {
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
pub(super) fn makefile_libs(config_dir: &Path) -> Vec<String> {
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
