//! Facts about the compilation target, read from cargo's variables (never from `cfg!`, which
//! describes the machine the build script runs on), and the table of cross targets pyhost knows
//! how to set up.

use std::path::{Path, PathBuf};

use crate::Env;

/// The target being compiled for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The Rust target triple, e.g. `aarch64-unknown-linux-gnu`.
    pub triple: String,
    /// `target_arch`, e.g. `aarch64`.
    pub arch: String,
    /// `target_os`, e.g. `linux`.
    pub os: String,
    /// `target_env`, e.g. `gnu`.
    pub env: String,
    /// `target_pointer_width` in bits.
    pub pointer_width: u32,
    /// The triple of the machine running the build.
    pub host: String,
}

impl Target {
    /// Reads the target from cargo's build-script variables (`TARGET`, `HOST`,
    /// `CARGO_CFG_TARGET_*`). Outside a build script, falls back to the facts of the triple.
    pub fn from_env(env: &Env) -> Target {
        let host = env
            .cargo_var("HOST")
            .unwrap_or_else(|| default_host().to_owned());
        let triple = env.cargo_var("TARGET").unwrap_or_else(|| host.clone());
        let mut t = Target::from_triple(&triple, &host);
        if let Some(arch) = env.cargo_var("CARGO_CFG_TARGET_ARCH") {
            t.arch = arch;
        }
        if let Some(os) = env.cargo_var("CARGO_CFG_TARGET_OS") {
            t.os = os;
        }
        if let Some(e) = env.cargo_var("CARGO_CFG_TARGET_ENV") {
            t.env = e;
        }
        if let Some(w) = env
            .cargo_var("CARGO_CFG_TARGET_POINTER_WIDTH")
            .and_then(|w| w.parse().ok())
        {
            t.pointer_width = w;
        }
        t
    }

    /// The facts a triple implies, for use outside build scripts (xtask, tests).
    ///
    /// ```
    /// let t = pyhost_build::Target::from_triple("aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu");
    /// assert!(t.is_cross());
    /// assert_eq!(t.multiarch().as_deref(), Some("aarch64-linux-gnu"));
    /// assert_eq!(t.pointer_width, 64);
    /// ```
    pub fn from_triple(triple: &str, host: &str) -> Target {
        let mut parts = triple.split('-');
        let arch = parts.next().unwrap_or_default();
        let rest: Vec<&str> = parts.collect();
        let os = if rest.contains(&"linux") {
            "linux"
        } else if rest.contains(&"darwin") {
            "macos"
        } else if rest.contains(&"windows") {
            "windows"
        } else {
            rest.get(1).copied().unwrap_or("unknown")
        };
        let env = rest
            .last()
            .filter(|e| e.starts_with("gnu") || e.starts_with("musl") || e.starts_with("msvc"))
            .map(|e| {
                if e.starts_with("gnu") {
                    "gnu"
                } else if e.starts_with("musl") {
                    "musl"
                } else {
                    "msvc"
                }
            })
            .unwrap_or("");
        let norm_arch = match arch {
            a if a.starts_with("armv7") || a.starts_with("arm") => "arm",
            "i686" | "i586" => "x86",
            a => a,
        };
        let pointer_width = match norm_arch {
            "x86" | "arm" | "mips" | "powerpc" | "riscv32" => 32,
            _ => 64,
        };
        Target {
            triple: triple.to_owned(),
            arch: norm_arch.to_owned(),
            os: os.to_owned(),
            env: env.to_owned(),
            pointer_width,
            host: host.to_owned(),
        }
    }

    /// Whether the target differs from the machine running the build. A cross build never runs
    /// a host interpreter to describe the target.
    pub fn is_cross(&self) -> bool {
        self.triple != self.host
    }

    /// The Debian/Ubuntu multiarch tuple of a Linux target (`aarch64-linux-gnu`), where its
    /// libraries and `pkgconfig` directory live.
    pub fn multiarch(&self) -> Option<String> {
        if self.os != "linux" {
            return None;
        }
        let m = match (self.arch.as_str(), self.env.as_str()) {
            ("x86_64", "gnu") => "x86_64-linux-gnu",
            ("aarch64", "gnu") => "aarch64-linux-gnu",
            ("x86", "gnu") => "i386-linux-gnu",
            ("arm", "gnu") if self.triple.ends_with("hf") => "arm-linux-gnueabihf",
            ("arm", "gnu") => "arm-linux-gnueabi",
            ("powerpc64", "gnu") => "powerpc64-linux-gnu",
            ("powerpc64le", "gnu") => "powerpc64le-linux-gnu",
            ("riscv64", "gnu") | ("riscv64gc", "gnu") => "riscv64-linux-gnu",
            ("s390x", "gnu") => "s390x-linux-gnu",
            _ => return None,
        };
        Some(m.to_owned())
    }

    /// The target triple with `-` replaced by `_`, as used in variable names
    /// (`PKG_CONFIG_PATH_aarch64_unknown_linux_gnu`).
    pub fn triple_underscored(&self) -> String {
        self.triple.replace('-', "_")
    }

    /// Directories where a system linker finds libraries for this target without `-L`, and
    /// which therefore need no rpath.
    pub fn system_lib_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(m) = self.multiarch() {
            dirs.push(Path::new("/usr/lib").join(&m));
            dirs.push(Path::new("/lib").join(&m));
        }
        if !self.is_cross() {
            for d in ["/usr/lib64", "/lib64", "/usr/lib", "/lib"] {
                dirs.push(PathBuf::from(d));
            }
        }
        dirs
    }
}

fn default_host() -> &'static str {
    // Only used outside build scripts (HOST unset): describes the machine running this code.
    if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        "x86_64-unknown-linux-gnu"
    } else if cfg!(all(target_arch = "aarch64", target_os = "linux")) {
        "aarch64-unknown-linux-gnu"
    } else if cfg!(all(target_arch = "aarch64", target_os = "macos")) {
        "aarch64-apple-darwin"
    } else {
        "unknown"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cargo_variables_over_triple_guesses() {
        let env = Env::fixed([
            ("TARGET", "armv7-unknown-linux-gnueabihf"),
            ("HOST", "x86_64-unknown-linux-gnu"),
            ("CARGO_CFG_TARGET_ARCH", "arm"),
            ("CARGO_CFG_TARGET_OS", "linux"),
            ("CARGO_CFG_TARGET_ENV", "gnu"),
            ("CARGO_CFG_TARGET_POINTER_WIDTH", "32"),
        ]);
        let t = Target::from_env(&env);
        assert!(t.is_cross());
        assert_eq!(t.pointer_width, 32);
        assert_eq!(t.multiarch().as_deref(), Some("arm-linux-gnueabihf"));
        assert_eq!(t.triple_underscored(), "armv7_unknown_linux_gnueabihf");
        // cargo's own variables need no rerun-if-env-changed.
        assert!(env.read_vars().is_empty());
    }

    #[test]
    fn host_build_lists_plain_system_dirs() {
        let t = Target::from_triple("x86_64-unknown-linux-gnu", "x86_64-unknown-linux-gnu");
        assert!(!t.is_cross());
        let dirs = t.system_lib_dirs();
        assert!(dirs.contains(&PathBuf::from("/usr/lib/x86_64-linux-gnu")));
        assert!(dirs.contains(&PathBuf::from("/usr/lib")));
        let cross = Target::from_triple("aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu");
        assert!(!cross.system_lib_dirs().contains(&PathBuf::from("/usr/lib")));
    }
}
