//! The resolved description of the Python to build against, its `key=value` file format, and
//! the cargo directives it turns into.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::version::{MAX_DECLARED_MINOR, MIN_MINOR};
use crate::{Error, PythonVersion};

/// How libpython is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// `libpython3.X.so`: needed at run time, found through the rpath or the system dirs.
    Shared,
    /// `libpython3.X.a`, linked whole and its symbols exported, so the binary needs no
    /// libpython at run time and C extension modules still load.
    Static,
}

/// Where a configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `PYHOST_CONFIG_FILE`.
    ConfigFile(PathBuf),
    /// An interpreter asked through `sysconfig`: `PYHOST_PYTHON` or `python3` on `PATH`.
    Interpreter {
        /// The interpreter that was run.
        path: PathBuf,
        /// The variable that named it, or `None` for the `PATH` probe.
        variable: Option<String>,
    },
    /// A pkg-config package such as `python3-embed`.
    PkgConfig {
        /// The package name.
        package: String,
        /// The `.pc` file pkg-config read, when it could tell.
        pc_file: Option<PathBuf>,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::ConfigFile(p) => write!(f, "PYHOST_CONFIG_FILE={}", p.display()),
            Source::Interpreter {
                path,
                variable: Some(v),
            } => write!(f, "{v}={}", path.display()),
            Source::Interpreter {
                path,
                variable: None,
            } => write!(f, "the interpreter probe ({})", path.display()),
            Source::PkgConfig {
                package,
                pc_file: Some(pc),
            } => write!(f, "pkg-config {package} ({})", pc.display()),
            Source::PkgConfig {
                package,
                pc_file: None,
            } => write!(f, "pkg-config {package}"),
        }
    }
}

/// Everything a build needs to know about the Python it compiles and links against.
///
/// Produced by [`crate::Discovery`], or written by hand in a `PYHOST_CONFIG_FILE`:
///
/// ```
/// let text = "version=3.11\ninclude_dirs=/usr/include/python3.11\n\
///             lib_dir=/usr/lib/x86_64-linux-gnu\nlib_name=python3.11\n";
/// let cfg = pyhost_build::PythonConfig::parse(text, "example").unwrap();
/// assert_eq!(cfg.version.short(), "3.11");
/// assert!(cfg.cfgs().contains(&"py_3_8".to_string()));
/// assert!(!cfg.cfgs().contains(&"py_3_12".to_string()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonConfig {
    /// The version the headers declare (`PY_VERSION`).
    pub version: PythonVersion,
    /// `sys.abiflags`: `""` for a release build, `"d"` for a debug build, `"t"` when
    /// free-threaded.
    pub abiflags: String,
    /// Directories holding `Python.h` and `pyconfig.h`.
    pub include_dirs: Vec<PathBuf>,
    /// The directory holding libpython, or `None` when it is in a system directory.
    pub lib_dir: Option<PathBuf>,
    /// The library name as given to the linker: `python3.11` for `libpython3.11.so`.
    pub lib_name: String,
    /// Shared or static libpython.
    pub link: LinkKind,
    /// Extra libraries a static libpython needs (`dl`, `m`, `z`, ...).
    pub extra_libs: Vec<String>,
    /// Pointer width of the target Python in bits.
    pub pointer_width: u32,
    /// Whether the headers are free-threaded (`Py_GIL_DISABLED`).
    pub gil_disabled: bool,
    /// Whether the headers are a debug build (`Py_DEBUG`).
    pub debug: bool,
    /// Whether bindings are restricted to the limited API of this version (`py_limited_api`).
    pub limited_api: bool,
    /// The interpreter belonging to this Python, when known.
    pub executable: Option<PathBuf>,
    /// Whether to emit an rpath to `lib_dir` (on by default for non-system dirs).
    pub rpath: bool,
    /// Where this configuration came from.
    pub source: Source,
}

const KEYS: &[&str] = &[
    "version",
    "abiflags",
    "include_dirs",
    "lib_dir",
    "lib_name",
    "shared",
    "extra_libs",
    "pointer_width",
    "gil_disabled",
    "debug",
    "limited_api",
    "executable",
    "rpath",
];

impl PythonConfig {
    /// Parses the `key=value` format of `PYHOST_CONFIG_FILE`. `origin` names the file in error
    /// messages. Blank lines and lines starting with `#` are ignored; unknown keys are errors, so
    /// a typo is never silently ignored.
    ///
    /// Keys: `version` (required), `include_dirs` (required, `:`-separated), `lib_dir`,
    /// `lib_name` (default `python3.X` plus abiflags), `shared` (default true), `extra_libs`
    /// (comma-separated), `abiflags`, `pointer_width` (default 64), `gil_disabled`, `debug`,
    /// `limited_api`, `executable`, `rpath` (default true).
    pub fn parse(text: &str, origin: &str) -> Result<PythonConfig, Error> {
        let err = |line: usize, message: String| Error::ConfigFile {
            path: PathBuf::from(origin),
            line,
            message,
        };
        let mut values: Vec<(&str, String, usize)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(err(i + 1, format!("`{line}` is not of the form key=value")));
            };
            let k = k.trim();
            let Some(key) = KEYS.iter().find(|known| **known == k) else {
                return Err(err(
                    i + 1,
                    format!("unknown key `{k}`; known keys: {}", KEYS.join(", ")),
                ));
            };
            if values.iter().any(|(seen, _, _)| seen == key) {
                return Err(err(i + 1, format!("`{k}` is given twice")));
            }
            values.push((key, v.trim().to_owned(), i + 1));
        }
        let get = |key: &str| values.iter().find(|(k, _, _)| *k == key);
        let boolean = |key: &str, default: bool| -> Result<bool, Error> {
            match get(key) {
                None => Ok(default),
                Some((_, v, line)) => parse_bool(v)
                    .ok_or_else(|| err(*line, format!("`{key}={v}`: expected true or false"))),
            }
        };
        let (_, version, vline) =
            get("version").ok_or_else(|| err(0, "the required key `version` is missing".into()))?;
        let version: PythonVersion = version.parse().map_err(|e| err(*vline, e))?;
        let include_dirs: Vec<PathBuf> = match get("include_dirs") {
            Some((_, v, _)) => std::env::split_paths(v).collect(),
            None => {
                return Err(err(
                    0,
                    "the required key `include_dirs` is missing (the directory holding Python.h)"
                        .into(),
                ));
            }
        };
        let abiflags = get("abiflags")
            .map(|(_, v, _)| v.clone())
            .unwrap_or_default();
        let pointer_width = match get("pointer_width") {
            None => 64,
            Some((_, v, line)) => match v.parse() {
                Ok(w @ (32 | 64)) => w,
                _ => {
                    return Err(err(
                        *line,
                        format!("`pointer_width={v}`: expected 32 or 64"),
                    ));
                }
            },
        };
        let lib_name = get("lib_name")
            .map(|(_, v, _)| v.clone())
            .unwrap_or_else(|| format!("python{}{}", version.short(), abiflags));
        Ok(PythonConfig {
            version,
            include_dirs,
            lib_dir: get("lib_dir").map(|(_, v, _)| PathBuf::from(v)),
            lib_name,
            link: if boolean("shared", true)? {
                LinkKind::Shared
            } else {
                LinkKind::Static
            },
            extra_libs: get("extra_libs")
                .map(|(_, v, _)| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            pointer_width,
            gil_disabled: boolean("gil_disabled", abiflags.contains('t'))?,
            debug: boolean("debug", abiflags.contains('d'))?,
            limited_api: boolean("limited_api", false)?,
            executable: get("executable").map(|(_, v, _)| PathBuf::from(v)),
            rpath: boolean("rpath", true)?,
            abiflags,
            source: Source::ConfigFile(PathBuf::from(origin)),
        })
    }

    /// Writes the configuration in the `PYHOST_CONFIG_FILE` format; [`PythonConfig::parse`]
    /// reads it back.
    pub fn to_file_format(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# source: {}", self.source);
        let _ = writeln!(s, "version={}", self.version);
        let _ = writeln!(s, "abiflags={}", self.abiflags);
        let dirs = std::env::join_paths(&self.include_dirs)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(s, "include_dirs={dirs}");
        if let Some(d) = &self.lib_dir {
            let _ = writeln!(s, "lib_dir={}", d.display());
        }
        let _ = writeln!(s, "lib_name={}", self.lib_name);
        let _ = writeln!(s, "shared={}", self.link == LinkKind::Shared);
        if !self.extra_libs.is_empty() {
            let _ = writeln!(s, "extra_libs={}", self.extra_libs.join(","));
        }
        let _ = writeln!(s, "pointer_width={}", self.pointer_width);
        let _ = writeln!(s, "gil_disabled={}", self.gil_disabled);
        let _ = writeln!(s, "debug={}", self.debug);
        let _ = writeln!(s, "limited_api={}", self.limited_api);
        if let Some(e) = &self.executable {
            let _ = writeln!(s, "executable={}", e.display());
        }
        let _ = writeln!(s, "rpath={}", self.rpath);
        s
    }

    /// The cfgs this Python enables: `py_3_8` up to `py_3_<minor>`, then `py_gil_disabled`,
    /// `py_limited_api` and `py_debug` when they apply.
    pub fn cfgs(&self) -> Vec<String> {
        let mut cfgs: Vec<String> = (MIN_MINOR..=self.version.minor)
            .map(|m| format!("py_3_{m}"))
            .collect();
        if self.gil_disabled {
            cfgs.push("py_gil_disabled".into());
        }
        if self.limited_api {
            cfgs.push("py_limited_api".into());
        }
        if self.debug {
            cfgs.push("py_debug".into());
        }
        cfgs
    }

    /// Every cfg name pyhost may emit, for `rustc-check-cfg`.
    pub fn declared_cfgs() -> Vec<String> {
        let mut all: Vec<String> = (MIN_MINOR..=MAX_DECLARED_MINOR)
            .map(|m| format!("py_3_{m}"))
            .collect();
        all.extend(["py_gil_disabled", "py_limited_api", "py_debug"].map(String::from));
        all
    }

    /// The file name of the library the linker will look for.
    pub fn lib_file_name(&self) -> String {
        match self.link {
            LinkKind::Shared => format!("lib{}.so", self.lib_name),
            LinkKind::Static => format!("lib{}.a", self.lib_name),
        }
    }

    /// The directory to put in the rpath, if any: `lib_dir` when rpath is wanted, the link is
    /// shared and the directory is not one the dynamic loader searches anyway. A sysroot prefix
    /// (`PKG_CONFIG_SYSROOT_DIR`) is removed, since the path is used on the target.
    pub fn rpath_dir(&self, system_dirs: &[PathBuf], sysroot: Option<&Path>) -> Option<PathBuf> {
        if !self.rpath || self.link == LinkKind::Static {
            return None;
        }
        let dir = self.lib_dir.as_ref()?;
        let dir = match sysroot {
            Some(root) => match dir.strip_prefix(root) {
                Ok(rest) => Path::new("/").join(rest),
                Err(_) => dir.clone(),
            },
            None => dir.clone(),
        };
        let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        if system_dirs.iter().any(|s| canon(s) == canon(&dir)) {
            None
        } else {
            Some(dir)
        }
    }

    /// The cargo directives that link this Python into the package whose build script prints
    /// them: search path, library (and, for a static libpython, its dependencies and the
    /// flags that keep its symbols available to extension modules), cfgs and their
    /// declarations. The rpath is added when `rpath_dir` is given.
    pub fn link_directives(&self, rpath_dir: Option<&Path>) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(dir) = &self.lib_dir {
            out.push(format!("cargo:rustc-link-search=native={}", dir.display()));
        }
        match self.link {
            LinkKind::Shared => out.push(format!("cargo:rustc-link-lib=dylib={}", self.lib_name)),
            LinkKind::Static => {
                // Whole archive: extension modules loaded later need symbols the binary itself
                // never calls.
                out.push(format!(
                    "cargo:rustc-link-lib=static:+whole-archive,-bundle={}",
                    self.lib_name
                ));
                for lib in &self.extra_libs {
                    out.push(format!("cargo:rustc-link-lib=dylib={lib}"));
                }
            }
        }
        out.extend(self.binary_link_args(rpath_dir));
        out.extend(self.cfg_directives());
        out
    }

    /// The link arguments a final binary needs (rpath, symbol export for a static libpython).
    /// Cargo applies `rustc-link-arg` only to the package that prints it, so a dependant prints
    /// these itself, through [`crate::dependent`].
    pub fn binary_link_args(&self, rpath_dir: Option<&Path>) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(dir) = rpath_dir {
            out.push(format!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display()));
        }
        if self.link == LinkKind::Static {
            out.push("cargo:rustc-link-arg=-Wl,--export-dynamic".to_owned());
        }
        out
    }

    /// `rustc-check-cfg` declarations for every pyhost cfg, then `rustc-cfg` for the ones that
    /// apply to this Python.
    pub fn cfg_directives(&self) -> Vec<String> {
        let mut out: Vec<String> = Self::declared_cfgs()
            .into_iter()
            .map(|c| format!("cargo::rustc-check-cfg=cfg({c})"))
            .collect();
        out.extend(
            self.cfgs()
                .into_iter()
                .map(|c| format!("cargo:rustc-cfg={c}")),
        );
        out
    }

    /// Encodes the configuration on one line, for `links` metadata (`DEP_PYTHON3_CONFIG`).
    pub fn encode(&self) -> String {
        self.to_file_format()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.replace('%', "%25").replace(';', "%3B"))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Decodes [`PythonConfig::encode`]'s output.
    pub fn decode(encoded: &str, origin: &str) -> Result<PythonConfig, Error> {
        let text: String = encoded
            .split(';')
            .map(|l| l.replace("%3B", ";").replace("%25", "%") + "\n")
            .collect();
        PythonConfig::parse(&text, origin)
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PythonConfig {
        PythonConfig::parse(
            "# a comment\nversion=3.12.1\ninclude_dirs=/opt/py/include/python3.12:/opt/x\n\
             lib_dir=/opt/py/lib\nshared=true\npointer_width=64\nexecutable=/opt/py/bin/python3\n",
            "test.cfg",
        )
        .unwrap()
    }

    #[test]
    fn parses_defaults_and_lists() {
        let c = sample();
        assert_eq!(c.lib_name, "python3.12");
        assert_eq!(c.include_dirs.len(), 2);
        assert_eq!(c.link, LinkKind::Shared);
        assert!(c.rpath);
        assert_eq!(c.lib_file_name(), "libpython3.12.so");
    }

    #[test]
    fn round_trips_through_file_format_and_metadata_encoding() {
        let mut c = sample();
        c.extra_libs = vec!["dl".into(), "m".into()];
        c.lib_dir = Some(PathBuf::from("/odd;dir%/lib"));
        let back = PythonConfig::decode(&c.encode(), "test.cfg").unwrap();
        assert_eq!(back, c);
        let again = PythonConfig::parse(&c.to_file_format(), "test.cfg").unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn rejects_unknown_keys_duplicates_and_bad_values() {
        let e = PythonConfig::parse("version=3.11\nlibdir=/x\n", "f.cfg").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("f.cfg:2") && msg.contains("unknown key `libdir`"),
            "{msg}"
        );
        let e = PythonConfig::parse("version=3.11\nversion=3.12\n", "f.cfg").unwrap_err();
        assert!(e.to_string().contains("given twice"));
        let e = PythonConfig::parse("version=3.11\ninclude_dirs=/i\nshared=maybe\n", "f.cfg")
            .unwrap_err();
        assert!(e.to_string().contains("expected true or false"));
        let e = PythonConfig::parse("include_dirs=/i\n", "f.cfg").unwrap_err();
        assert!(e.to_string().contains("`version` is missing"));
        let e = PythonConfig::parse("version=3.11\n", "f.cfg").unwrap_err();
        assert!(e.to_string().contains("`include_dirs` is missing"));
        let e =
            PythonConfig::parse("version=3.11\ninclude_dirs=/i\nlib_dir\n", "f.cfg").unwrap_err();
        assert!(e.to_string().contains("key=value"));
    }

    #[test]
    fn cfgs_are_cumulative_and_declared() {
        let mut c = sample();
        assert_eq!(
            c.cfgs(),
            ["py_3_8", "py_3_9", "py_3_10", "py_3_11", "py_3_12"].map(String::from)
        );
        c.gil_disabled = true;
        assert!(c.cfgs().contains(&"py_gil_disabled".to_string()));
        let d = c.cfg_directives();
        assert!(d.contains(&"cargo::rustc-check-cfg=cfg(py_3_30)".to_string()));
        assert!(d.contains(&"cargo:rustc-cfg=py_gil_disabled".to_string()));
        assert!(!d.contains(&"cargo:rustc-cfg=py_3_13".to_string()));
    }

    #[test]
    fn rpath_skips_system_dirs_static_links_and_strips_sysroot() {
        let mut c = sample();
        let system = vec![PathBuf::from("/usr/lib")];
        assert_eq!(
            c.rpath_dir(&system, None),
            Some(PathBuf::from("/opt/py/lib"))
        );
        assert_eq!(
            c.rpath_dir(&system, Some(Path::new("/opt"))),
            Some(PathBuf::from("/py/lib"))
        );
        c.lib_dir = Some(PathBuf::from("/usr/lib"));
        assert_eq!(c.rpath_dir(&system, None), None);
        c.lib_dir = Some(PathBuf::from("/opt/py/lib"));
        c.rpath = false;
        assert_eq!(c.rpath_dir(&system, None), None);
        c.rpath = true;
        c.link = LinkKind::Static;
        assert_eq!(c.rpath_dir(&system, None), None);
    }

    #[test]
    fn static_link_directives_export_symbols() {
        let mut c = sample();
        c.link = LinkKind::Static;
        c.lib_name = "python3.12-pic".into();
        c.extra_libs = vec!["m".into()];
        let d = c.link_directives(None);
        assert!(d.contains(
            &"cargo:rustc-link-lib=static:+whole-archive,-bundle=python3.12-pic".to_string()
        ));
        assert!(d.contains(&"cargo:rustc-link-lib=dylib=m".to_string()));
        assert!(d.contains(&"cargo:rustc-link-arg=-Wl,--export-dynamic".to_string()));
    }
}
