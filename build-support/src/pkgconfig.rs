//! Running `pkg-config` for the target, honouring the per-target variables that the
//! `pkg-config` crate and cross toolchains use.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Env, Target};

/// What pkg-config says about one package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Package {
    /// The package name queried (`python3-embed`).
    pub name: String,
    /// `--modversion` (pkg-config only gives `3.11`).
    pub version: String,
    /// `-I` directories from `--cflags`.
    pub include_dirs: Vec<PathBuf>,
    /// `-L` directories from `--libs`.
    pub lib_dirs: Vec<PathBuf>,
    /// `-l` names from `--libs`, in order.
    pub libs: Vec<String>,
    /// `-l` names only in `--static --libs` (what a static libpython needs).
    pub static_libs: Vec<String>,
    /// The `.pc` file, from `pcfiledir`.
    pub pc_file: Option<PathBuf>,
    /// The `libdir` variable.
    pub libdir_var: Option<PathBuf>,
}

/// A pkg-config runner for one target.
#[derive(Debug)]
pub struct PkgConfig<'a> {
    env: &'a Env,
    program: String,
    /// `(variable, value, where the value came from)` passed to pkg-config.
    vars: Vec<(String, String, String)>,
}

const SEARCH_VARS: [&str; 3] = [
    "PKG_CONFIG_PATH",
    "PKG_CONFIG_LIBDIR",
    "PKG_CONFIG_SYSROOT_DIR",
];

impl<'a> PkgConfig<'a> {
    /// Sets up pkg-config for `target`. For each of `PKG_CONFIG_PATH`, `PKG_CONFIG_LIBDIR` and
    /// `PKG_CONFIG_SYSROOT_DIR` the first of these wins: `VAR_<triple>`,
    /// `VAR_<triple_with_underscores>`, `TARGET_VAR` (cross) or `HOST_VAR` (native), `VAR`.
    ///
    /// A cross build with none of them set looks in the target's Debian multiarch directory
    /// (`/usr/lib/<multiarch>/pkgconfig`), as Debian's `<multiarch>-pkg-config` wrappers do, and
    /// never in the host's default directories, which would describe the host's Python.
    pub fn for_target(env: &'a Env, target: &Target) -> PkgConfig<'a> {
        let program = env
            .var(&format!("PKG_CONFIG_{}", target.triple_underscored()))
            .or_else(|| env.var("PKG_CONFIG"))
            .unwrap_or_else(|| "pkg-config".to_owned());
        let kind = if target.is_cross() { "TARGET" } else { "HOST" };
        let mut vars = Vec::new();
        for var in SEARCH_VARS {
            let names = [
                format!("{var}_{}", target.triple),
                format!("{var}_{}", target.triple_underscored()),
                format!("{kind}_{var}"),
                var.to_owned(),
            ];
            // A cross build must not fall back to the host's plain variables: they describe
            // the host's Python.
            let usable = if target.is_cross() {
                &names[..3]
            } else {
                &names[..]
            };
            if let Some((name, value)) = usable
                .iter()
                .find_map(|n| env.var(n).map(|v| (n.clone(), v)))
            {
                vars.push((var.to_owned(), value, name));
            }
        }
        if target.is_cross()
            && !vars
                .iter()
                .any(|(v, _, _)| v == "PKG_CONFIG_LIBDIR" || v == "PKG_CONFIG_PATH")
        {
            let root = vars
                .iter()
                .find(|(v, _, _)| v == "PKG_CONFIG_SYSROOT_DIR")
                .map(|(_, value, _)| PathBuf::from(value))
                .unwrap_or_else(|| PathBuf::from("/"));
            let mut dirs: Vec<String> = Vec::new();
            if let Some(m) = target.multiarch() {
                for d in [
                    format!("usr/lib/{m}/pkgconfig"),
                    "usr/share/pkgconfig".into(),
                ] {
                    dirs.push(root.join(d).display().to_string());
                }
            }
            // Set even when empty: an empty PKG_CONFIG_LIBDIR stops pkg-config from reading
            // the host's default directories.
            vars.push((
                "PKG_CONFIG_LIBDIR".into(),
                dirs.join(":"),
                format!("the {} multiarch default", target.triple),
            ));
        }
        PkgConfig { env, program, vars }
    }

    /// The search variables in effect, as `VAR=value (from NAME)`, for messages.
    pub fn describe(&self) -> String {
        if self.vars.is_empty() {
            return "pkg-config's default search path".to_owned();
        }
        self.vars
            .iter()
            .map(|(var, value, from)| {
                if var == from {
                    format!("{var}={value}")
                } else {
                    format!("{var}={value} (from {from})")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The program that is run.
    pub fn program(&self) -> &str {
        &self.program
    }

    fn command(&self) -> Command {
        let mut cmd = self.env.command(&self.program);
        for var in SEARCH_VARS {
            cmd.env_remove(var);
        }
        for (var, value, _) in &self.vars {
            cmd.env(var, value);
        }
        // pkg-config drops system -I/-L flags unless told otherwise; we want every directory.
        cmd.env("PKG_CONFIG_ALLOW_SYSTEM_CFLAGS", "1");
        cmd.env("PKG_CONFIG_ALLOW_SYSTEM_LIBS", "1");
        cmd
    }

    fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = self.command().args(args).output().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "`{}` is not installed (apt-get install pkg-config, or set PKG_CONFIG)",
                    self.program
                )
            } else {
                format!("cannot run `{}`: {e}", self.program)
            }
        })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let msg = stderr.trim();
            return Err(if msg.is_empty() {
                format!(
                    "`{} {}` failed ({})",
                    self.program,
                    args.join(" "),
                    out.status
                )
            } else {
                msg.lines().collect::<Vec<_>>().join(" ")
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Whether the pkg-config program can be run at all.
    pub fn available(&self) -> Result<(), String> {
        self.run(&["--version"]).map(|_| ())
    }

    /// The names of every package pkg-config can see.
    pub fn list_all(&self) -> Result<Vec<String>, String> {
        Ok(self
            .run(&["--list-all"])?
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect())
    }

    /// Queries one package. `Err` carries pkg-config's own message (package not found, or
    /// what is broken in the `.pc` file).
    pub fn probe(&self, name: &str) -> Result<Package, String> {
        let version = self.run(&["--print-errors", "--modversion", name])?;
        if version.is_empty() {
            return Err(format!("{name}.pc has an empty Version field"));
        }
        let cflags = split_flags(&self.run(&["--print-errors", "--cflags", name])?);
        let libs = split_flags(&self.run(&["--print-errors", "--libs", name])?);
        let static_flags =
            split_flags(&self.run(&["--print-errors", "--static", "--libs", name])?);
        let var = |v: &str| {
            self.run(&["--variable", v, name])
                .ok()
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        };
        let libs_of = |flags: &[String]| -> Vec<String> {
            flags
                .iter()
                .filter_map(|f| f.strip_prefix("-l").map(str::to_owned))
                .collect()
        };
        let shared_libs = libs_of(&libs);
        let static_libs = libs_of(&static_flags)
            .into_iter()
            .filter(|l| !shared_libs.contains(l))
            .collect();
        Ok(Package {
            name: name.to_owned(),
            version,
            include_dirs: cflags
                .iter()
                .filter_map(|f| f.strip_prefix("-I").map(PathBuf::from))
                .collect(),
            lib_dirs: libs
                .iter()
                .filter_map(|f| f.strip_prefix("-L").map(PathBuf::from))
                .collect(),
            libs: shared_libs,
            static_libs,
            pc_file: var("pcfiledir").map(|d| d.join(format!("{name}.pc"))),
            libdir_var: var("libdir"),
        })
    }

    /// The sysroot pkg-config prefixes to paths, if one is set.
    pub fn sysroot(&self) -> Option<&Path> {
        self.vars
            .iter()
            .find(|(v, _, _)| v == "PKG_CONFIG_SYSROOT_DIR")
            .map(|(_, value, _)| Path::new(value.as_str()))
    }
}

/// Splits pkg-config output into flags: whitespace separates, a backslash escapes the next
/// character, quotes group.
fn split_flags(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\\', _) => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_token = true;
            }
            ('"' | '\'', None) => {
                quote = Some(c);
                in_token = true;
            }
            (c, Some(q)) if c == q => quote = None,
            (c, None) if c.is_whitespace() => {
                if in_token {
                    out.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            (c, _) => {
                cur.push(c);
                in_token = true;
            }
        }
    }
    if in_token {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_escaped_and_quoted_flags() {
        assert_eq!(
            split_flags(r#"-I/a\ b -I"/c d" -lpython3.11  -ldl"#),
            ["-I/a b", "-I/c d", "-lpython3.11", "-ldl"]
        );
        assert!(split_flags("   ").is_empty());
    }

    #[test]
    fn per_target_variables_win_and_cross_never_uses_plain_ones() {
        let env = Env::fixed([
            ("PKG_CONFIG_PATH", "/host"),
            ("PKG_CONFIG_PATH_aarch64_unknown_linux_gnu", "/arm"),
            ("TARGET_PKG_CONFIG_SYSROOT_DIR", "/sysroot"),
        ]);
        let cross = Target::from_triple("aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu");
        let pc = PkgConfig::for_target(&env, &cross);
        let d = pc.describe();
        assert!(
            d.contains("PKG_CONFIG_PATH=/arm (from PKG_CONFIG_PATH_aarch64_unknown_linux_gnu)"),
            "{d}"
        );
        assert!(d.contains("PKG_CONFIG_SYSROOT_DIR=/sysroot"), "{d}");
        assert!(!d.contains("/host"), "{d}");
        assert_eq!(pc.sysroot(), Some(Path::new("/sysroot")));
        assert!(
            env.read_vars()
                .contains(&"PKG_CONFIG_PATH_aarch64-unknown-linux-gnu".to_string())
        );

        let native = Target::from_triple("x86_64-unknown-linux-gnu", "x86_64-unknown-linux-gnu");
        let pc = PkgConfig::for_target(&env, &native);
        assert_eq!(pc.describe(), "PKG_CONFIG_PATH=/host");
    }

    #[test]
    fn cross_without_variables_uses_multiarch_dir() {
        let env = Env::fixed([("PKG_CONFIG_PATH", "/host")]);
        let cross = Target::from_triple("aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu");
        let d = PkgConfig::for_target(&env, &cross).describe();
        assert!(
            d.starts_with(
                "PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig"
            ),
            "{d}"
        );
    }
}
