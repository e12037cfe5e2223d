//! What a cross build needs, per target: the toolchain, the environment that points cargo,
//! cc, pkg-config and bindgen at it, a qemu runner, and the commands that install each piece.
//!
//! `cargo xtask cross` is a thin CLI over this table; a project with its own xtask or CI script
//! can use it the same way.
//!
//! ```
//! use pyhost_build::cross::CrossTarget;
//! let t = CrossTarget::find("aarch64-unknown-linux-gnu").unwrap();
//! let env = t.env();
//! assert!(env.contains(&(
//!     "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER".into(),
//!     "aarch64-linux-gnu-gcc".into()
//! )));
//! ```

use std::path::{Path, PathBuf};

use crate::Target;

/// A cross target pyhost knows how to build for and run under qemu on a Debian-like host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossTarget {
    /// The Rust target triple.
    pub triple: &'static str,
    /// The GNU tool prefix and multiarch tuple, e.g. `aarch64-linux-gnu`.
    pub gnu: &'static str,
    /// Debian's architecture name, e.g. `arm64`.
    pub debian_arch: &'static str,
    /// The qemu-user binary that runs the target's programs.
    pub qemu: &'static str,
    /// The target's dynamic loader, present on the host when the target's libc is installed
    /// through Debian multiarch (as it is with the target's libpython).
    pub loader: &'static str,
}

/// The cross targets pyhost supports.
pub const CROSS_TARGETS: &[CrossTarget] = &[
    CrossTarget {
        triple: "aarch64-unknown-linux-gnu",
        gnu: "aarch64-linux-gnu",
        debian_arch: "arm64",
        qemu: "qemu-aarch64",
        loader: "/lib/ld-linux-aarch64.so.1",
    },
    CrossTarget {
        triple: "armv7-unknown-linux-gnueabihf",
        gnu: "arm-linux-gnueabihf",
        debian_arch: "armhf",
        qemu: "qemu-arm",
        loader: "/lib/ld-linux-armhf.so.3",
    },
];

/// One thing a cross build needs, and how to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// What it is, for humans.
    pub what: String,
    /// The exact command that installs it.
    pub install: String,
    /// Whether it is needed only to build Python in (not for a build with Python compiled
    /// out).
    pub python_only: bool,
    /// Whether it is needed only to run the result (`--run`).
    pub run_only: bool,
}

impl CrossTarget {
    /// Looks a triple up in [`CROSS_TARGETS`].
    pub fn find(triple: &str) -> Option<&'static CrossTarget> {
        CROSS_TARGETS.iter().find(|t| t.triple == triple)
    }

    /// The target facts, as a build script on `host` would see them.
    pub fn target(&self, host: &str) -> Target {
        Target::from_triple(self.triple, host)
    }

    fn upper(&self) -> String {
        self.triple.replace('-', "_").to_ascii_uppercase()
    }

    fn lower(&self) -> String {
        self.triple.replace('-', "_")
    }

    /// Whether the target's libc is installed through multiarch on this host.
    pub fn multiarch_libc_installed(&self) -> bool {
        Path::new(self.loader).exists()
    }

    /// The qemu runner command. With the target's libc installed through multiarch (it comes
    /// with the target's libpython), the emulator runs against the host's root, where the
    /// target's libpython and standard library live; otherwise the cross toolchain's sysroot is
    /// the prefix for the loader and libc.
    pub fn runner(&self, multiarch_libc: bool) -> String {
        if multiarch_libc {
            self.qemu.to_owned()
        } else {
            format!("{} -L /usr/{}", self.qemu, self.gnu)
        }
    }

    /// [`CrossTarget::env_with`] for this host.
    pub fn env(&self) -> Vec<(String, String)> {
        self.env_with(self.multiarch_libc_installed())
    }

    /// Environment variables for `cargo build --target <triple>`: linker, C compiler and
    /// archiver for `cc`, the target's pkg-config directory, bindgen's clang target and the
    /// qemu runner for `cargo test`/`cargo run`.
    pub fn env_with(&self, multiarch_libc: bool) -> Vec<(String, String)> {
        let (upper, lower, gnu) = (self.upper(), self.lower(), self.gnu);
        vec![
            (format!("CARGO_TARGET_{upper}_LINKER"), format!("{gnu}-gcc")),
            (
                format!("CARGO_TARGET_{upper}_RUNNER"),
                self.runner(multiarch_libc),
            ),
            (format!("CC_{lower}"), format!("{gnu}-gcc")),
            (format!("AR_{lower}"), format!("{gnu}-ar")),
            (
                format!("PKG_CONFIG_LIBDIR_{lower}"),
                format!("/usr/lib/{gnu}/pkgconfig:/usr/share/pkgconfig"),
            ),
            (
                format!("BINDGEN_EXTRA_CLANG_ARGS_{lower}"),
                format!("--target={}", self.triple),
            ),
        ]
    }

    /// Everything the build needs, in the order to install it.
    pub fn requirements(&self, python_minor: Option<u8>) -> Vec<Requirement> {
        let py = python_minor
            .map(|m| format!("libpython3.{m}-dev:{}", self.debian_arch))
            .unwrap_or_else(|| format!("libpython3-dev:{}", self.debian_arch));
        let gcc_pkg = format!("gcc-{}", self.gnu);
        vec![
            Requirement {
                what: format!("the Rust standard library for {}", self.triple),
                install: format!("rustup target add {}", self.triple),
                python_only: false,
                run_only: false,
            },
            Requirement {
                what: format!("the cross C compiler {}-gcc", self.gnu),
                install: format!("apt-get install {gcc_pkg}"),
                python_only: false,
                run_only: false,
            },
            Requirement {
                what: format!("the target's libpython and headers ({py})"),
                install: format!(
                    "dpkg --add-architecture {arch} && apt-get update && apt-get install {py}",
                    arch = self.debian_arch
                ),
                python_only: true,
                run_only: false,
            },
            Requirement {
                what: format!("the emulator {}", self.qemu),
                install: "apt-get install qemu-user".to_owned(),
                python_only: false,
                run_only: true,
            },
        ]
    }

    /// The target's pkg-config directory on a Debian-like host.
    pub fn pkg_config_dir(&self) -> PathBuf {
        Path::new("/usr/lib").join(self.gnu).join("pkgconfig")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_for_aarch64_is_exact() {
        let t = CrossTarget::find("aarch64-unknown-linux-gnu").unwrap();
        assert_eq!(t.env_with(true)[1].1, "qemu-aarch64");
        assert_eq!(
            t.env_with(false),
            [
                (
                    "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
                    "aarch64-linux-gnu-gcc"
                ),
                (
                    "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER",
                    "qemu-aarch64 -L /usr/aarch64-linux-gnu"
                ),
                ("CC_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-gcc"),
                ("AR_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-ar"),
                (
                    "PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu",
                    "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig"
                ),
                (
                    "BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu",
                    "--target=aarch64-unknown-linux-gnu"
                ),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
    }

    #[test]
    fn armv7_names_and_requirements() {
        let t = CrossTarget::find("armv7-unknown-linux-gnueabihf").unwrap();
        assert_eq!(t.runner(false), "qemu-arm -L /usr/arm-linux-gnueabihf");
        let reqs = t.requirements(Some(11));
        assert_eq!(
            reqs[0].install,
            "rustup target add armv7-unknown-linux-gnueabihf"
        );
        assert_eq!(reqs[1].install, "apt-get install gcc-arm-linux-gnueabihf");
        assert!(
            reqs[2]
                .install
                .ends_with("apt-get install libpython3.11-dev:armhf")
        );
        assert!(reqs[2].python_only && reqs[3].run_only);
        assert_eq!(t.target("x86_64-unknown-linux-gnu").pointer_width, 32);
        assert!(CrossTarget::find("mips-unknown-linux-gnu").is_none());
    }
}
