//! What a cross build needs, per target: the toolchain, the environment that points cargo,
//! cc, pkg-config and bindgen at it, a qemu runner, and the commands that install each piece.
//!
//! `cargo pyhost cross` (and pyhost's own `cargo xtask cross`) is a thin CLI over this table; a
//! project with its own xtask or CI script can use it the same way:
//!
//! ```no_run
//! use cargo_pyhost::cross::{CrossTarget, Needs};
//! let t = CrossTarget::find("aarch64-unknown-linux-gnu").unwrap();
//! let env = pyhost_build::Env::from_process();
//! let missing: Vec<_> = t
//!     .check_all(&env, "x86_64-unknown-linux-gnu", Needs::ALL)
//!     .into_iter()
//!     .filter(|s| s.found.is_err())
//!     .collect();
//! for s in &missing {
//!     eprintln!("missing {}: {}", s.requirement.what, s.requirement.install);
//! }
//! if missing.is_empty() {
//!     let status = t
//!         .cargo("test", &["-p".into(), "pyhost-sys".into()])
//!         .command()
//!         .status()
//!         .unwrap();
//!     assert!(status.success());
//! }
//! ```
//!
//! The environment itself is plain data:
//!
//! ```
//! use cargo_pyhost::cross::CrossTarget;
//! let t = CrossTarget::find("aarch64-unknown-linux-gnu").unwrap();
//! let env = t.env();
//! assert!(env.contains(&(
//!     "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER".into(),
//!     "aarch64-linux-gnu-gcc".into()
//! )));
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use pyhost_build::{Discovery, Env, Resolved, Target};

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
    /// What `platform.machine()` says inside the target's Python (`aarch64`, `armv7l`).
    pub machine: &'static str,
}

/// The cross targets pyhost supports.
pub const CROSS_TARGETS: &[CrossTarget] = &[
    CrossTarget {
        triple: "aarch64-unknown-linux-gnu",
        gnu: "aarch64-linux-gnu",
        debian_arch: "arm64",
        qemu: "qemu-aarch64",
        loader: "/lib/ld-linux-aarch64.so.1",
        machine: "aarch64",
    },
    CrossTarget {
        triple: "armv7-unknown-linux-gnueabihf",
        gnu: "arm-linux-gnueabihf",
        debian_arch: "armhf",
        qemu: "qemu-arm",
        loader: "/lib/ld-linux-armhf.so.3",
        machine: "armv7l",
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
    /// Whether it is needed only when what runs starts target programs itself (a test that
    /// runs its own binary again in a fresh process): cargo's runner covers the programs cargo
    /// starts, the kernel's binfmt_misc entry the others.
    pub nested_only: bool,
    /// How to tell whether this host has it.
    pub check: Check,
}

/// How to tell whether a [`Requirement`] is met on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Check {
    /// The Rust standard library for this triple is installed: `rustc --print target-libdir
    /// --target <triple>` names a directory holding `libstd-*`.
    RustTarget(String),
    /// This program is on `PATH`.
    Program(String),
    /// pyhost-build's discovery, run in the environment of [`CrossTarget::env`], finds and
    /// accepts the target's Python.
    TargetPython,
    /// The kernel has this enabled `binfmt_misc` entry (`/proc/sys/fs/binfmt_misc/<name>`),
    /// so that a target program started by another (a test that runs itself again in a fresh
    /// process) runs under qemu too.
    Binfmt(String),
}

/// What a cross build is asked to do, which decides what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Python is built in (not compiled out with `--no-default-features`).
    pub python: bool,
    /// The result is run, under qemu as cargo's runner.
    pub run: bool,
    /// What runs starts target programs itself, which only a binfmt_misc entry hands to qemu.
    pub nested: bool,
}

impl Needs {
    /// Everything: Python, runs, and runs that start target programs (pyhost's own suite).
    pub const ALL: Needs = Needs {
        python: true,
        run: true,
        nested: true,
    };
}

/// A requirement and whether this host has it: `Ok` with what was found, or `Err` with why
/// not.
#[derive(Debug, Clone)]
pub struct Status {
    /// The requirement.
    pub requirement: Requirement,
    /// `Ok(what was found)` or `Err(why it is missing)`.
    pub found: Result<String, String>,
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
    /// archiver for `cc`, the target's pkg-config directory (and the `pkg-config` crate's
    /// permission to cross-compile, for other `-sys` crates of the build), bindgen's clang
    /// target and the qemu runner for `cargo test`/`cargo run`.
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
            (format!("PKG_CONFIG_ALLOW_CROSS_{lower}"), "1".to_owned()),
            (
                format!("BINDGEN_EXTRA_CLANG_ARGS_{lower}"),
                format!(
                    "--target={}",
                    pyhost_build::bindings::clang_target(&self.target(""))
                ),
            ),
        ]
    }

    /// `cargo <subcommand> --target <triple> <args…>` in the environment of
    /// [`CrossTarget::env`].
    pub fn cargo(&self, subcommand: &str, args: &[String]) -> Invocation {
        self.cargo_with(self.multiarch_libc_installed(), subcommand, args)
    }

    /// [`CrossTarget::cargo`] with the multiarch question answered by the caller (for tests).
    pub fn cargo_with(
        &self,
        multiarch_libc: bool,
        subcommand: &str,
        args: &[String],
    ) -> Invocation {
        let mut all = vec![
            subcommand.to_owned(),
            "--target".to_owned(),
            self.triple.to_owned(),
        ];
        all.extend(args.iter().cloned());
        Invocation {
            program: "cargo".to_owned(),
            args: all,
            env: self.env_with(multiarch_libc),
        }
    }

    /// Everything the build needs, in the order to install it. `python_minor` names the
    /// target libpython package (`libpython3.11-dev:arm64`); `None` takes Debian's default
    /// (`libpython3-dev:arm64`).
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
                nested_only: false,
                check: Check::RustTarget(self.triple.to_owned()),
            },
            Requirement {
                what: format!("the cross C compiler {}-gcc", self.gnu),
                install: format!("apt-get install {gcc_pkg}"),
                python_only: false,
                run_only: false,
                nested_only: false,
                check: Check::Program(format!("{}-gcc", self.gnu)),
            },
            Requirement {
                what: format!("the target's libpython and headers ({py})"),
                install: format!(
                    "dpkg --add-architecture {arch} && apt-get update && apt-get install {py}",
                    arch = self.debian_arch
                ),
                python_only: true,
                run_only: false,
                nested_only: false,
                check: Check::TargetPython,
            },
            Requirement {
                what: format!("the emulator {}", self.qemu),
                install: "apt-get install qemu-user".to_owned(),
                python_only: false,
                run_only: true,
                nested_only: false,
                check: Check::Program(self.qemu.to_owned()),
            },
            Requirement {
                what: format!(
                    "the binfmt_misc entry {} (runs target programs that tests start \
                     themselves)",
                    self.qemu
                ),
                // Debian's qemu-user-binfmt registers it through systemd-binfmt; without
                // systemd (containers, CI VMs) the entry is written by hand.
                install: format!(
                    "apt-get install qemu-user-binfmt && (mountpoint -q {BINFMT} || mount -t \
                     binfmt_misc binfmt_misc {BINFMT}) && ([ -e {BINFMT}/{q} ] || cat \
                     /usr/lib/binfmt.d/{q}.conf > {BINFMT}/register)",
                    q = self.qemu
                ),
                python_only: false,
                run_only: true,
                nested_only: true,
                check: Check::Binfmt(self.qemu.to_owned()),
            },
        ]
    }

    /// The requirements of a build asked for `needs`: without Python, none of the target
    /// Python pieces (a program with Python compiled out); without runs, no emulator; without
    /// nested runs, no binfmt_misc entry.
    pub fn requirements_for(&self, needs: Needs) -> Vec<Requirement> {
        self.requirements(None)
            .into_iter()
            .filter(|r| {
                (needs.python || !r.python_only)
                    && (needs.run || !r.run_only)
                    && (needs.nested || !r.nested_only)
            })
            .collect()
    }

    /// Checks each of [`CrossTarget::requirements_for`] on this host. `env` is the caller's
    /// environment (the cross variables are added for the Python check); `host` is the
    /// triple of this machine.
    pub fn check_all(&self, env: &Env, host: &str, needs: Needs) -> Vec<Status> {
        self.requirements_for(needs)
            .into_iter()
            .map(|requirement| {
                let found = self.check(env, host, &requirement.check);
                Status { requirement, found }
            })
            .collect()
    }

    /// Whether one requirement is met: `Ok(what was found)` or `Err(why not)`.
    pub fn check(&self, env: &Env, host: &str, check: &Check) -> Result<String, String> {
        match check {
            Check::RustTarget(triple) => rust_target_installed(env, triple),
            Check::Program(name) => find_program(env, name)
                .map(|p| p.display().to_string())
                .ok_or_else(|| format!("`{name}` is not on PATH")),
            Check::Binfmt(name) => {
                let entry = Path::new(BINFMT).join(name);
                match std::fs::read_to_string(&entry) {
                    Ok(text) if text.lines().next() == Some("enabled") => {
                        Ok(entry.display().to_string())
                    }
                    Ok(_) => Err(format!("{} is disabled", entry.display())),
                    Err(_) => Err(format!("{} does not exist", entry.display())),
                }
            }
            Check::TargetPython => self
                .resolve_python(env, host)
                .map(|r| format!("Python {} from {}", r.config.version, r.config.source))
                .map_err(|e| first_line(&e.to_string())),
        }
    }

    /// What pyhost-sys's build script will pick for this target: the discovery, run in `env`
    /// plus the variables of [`CrossTarget::env`] that `env` does not set itself.
    pub fn resolve_python(&self, env: &Env, host: &str) -> pyhost_build::Result<Resolved> {
        let overrides: Vec<(String, Option<String>)> = self
            .env()
            .into_iter()
            .filter(|(k, _)| env.var(k).is_none())
            .map(|(k, v)| (k, Some(v)))
            .collect();
        let env = env.with(&overrides);
        Discovery::for_target(&env, self.target(host)).resolve()
    }

    /// The target's pkg-config directory on a Debian-like host.
    pub fn pkg_config_dir(&self) -> PathBuf {
        Path::new("/usr/lib").join(self.gnu).join("pkgconfig")
    }
}

/// Where the kernel's `binfmt_misc` entries live.
const BINFMT: &str = "/proc/sys/fs/binfmt_misc";

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_owned()
}

/// Finds `name` in `env`'s `PATH` (or takes it as a path when it has a `/`).
pub fn find_program(env: &Env, name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Path::new(name).is_file().then(|| PathBuf::from(name));
    }
    let path = env.var("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn rust_target_installed(env: &Env, triple: &str) -> Result<String, String> {
    let rustc = env.var("RUSTC").unwrap_or_else(|| "rustc".to_owned());
    let out = env
        .command(&rustc)
        .args(["--print", "target-libdir", "--target", triple])
        .output()
        .map_err(|e| format!("cannot run `{rustc}`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{rustc} --print target-libdir --target {triple}` failed: {}",
            first_line(String::from_utf8_lossy(&out.stderr).trim())
        ));
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let has_std = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"));
    if has_std {
        Ok(dir.display().to_string())
    } else {
        Err(format!("no standard library in {}", dir.display()))
    }
}

/// A command line and its extra environment, as data: printed, tested, then run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The program (`cargo`).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables set on top of the caller's environment.
    pub env: Vec<(String, String)>,
}

impl Invocation {
    /// The command, ready to run.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }
}

/// The invocation as one shell line: `VAR=value … program args…`, quoted where needed.
impl fmt::Display for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_quote(v)))
            .collect();
        words.push(shell_quote(&self.program));
        words.extend(self.args.iter().map(|a| shell_quote(a)));
        f.write_str(&words.join(" "))
    }
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn environment_for_aarch64_is_exact() {
        let t = CrossTarget::find("aarch64-unknown-linux-gnu").unwrap();
        assert_eq!(t.env_with(true)[1].1, "qemu-aarch64");
        assert_eq!(
            t.env_with(false),
            pairs(&[
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
                ("PKG_CONFIG_ALLOW_CROSS_aarch64_unknown_linux_gnu", "1"),
                (
                    "BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu",
                    "--target=aarch64-unknown-linux-gnu"
                ),
            ])
        );
    }

    #[test]
    fn environment_for_armv7_is_exact() {
        let t = CrossTarget::find("armv7-unknown-linux-gnueabihf").unwrap();
        assert_eq!(
            t.env_with(true),
            pairs(&[
                (
                    "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER",
                    "arm-linux-gnueabihf-gcc"
                ),
                (
                    "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER",
                    "qemu-arm"
                ),
                (
                    "CC_armv7_unknown_linux_gnueabihf",
                    "arm-linux-gnueabihf-gcc"
                ),
                ("AR_armv7_unknown_linux_gnueabihf", "arm-linux-gnueabihf-ar"),
                (
                    "PKG_CONFIG_LIBDIR_armv7_unknown_linux_gnueabihf",
                    "/usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig"
                ),
                ("PKG_CONFIG_ALLOW_CROSS_armv7_unknown_linux_gnueabihf", "1"),
                (
                    "BINDGEN_EXTRA_CLANG_ARGS_armv7_unknown_linux_gnueabihf",
                    "--target=armv7-unknown-linux-gnueabihf"
                ),
            ])
        );
    }

    #[test]
    fn cargo_invocation_puts_the_target_first_and_passes_args_through() {
        let t = CrossTarget::find("aarch64-unknown-linux-gnu").unwrap();
        let inv = t.cargo_with(
            true,
            "test",
            &[
                "-p".into(),
                "pyhost-sys".into(),
                "--".into(),
                "--nocapture".into(),
            ],
        );
        assert_eq!(inv.program, "cargo");
        assert_eq!(
            inv.args,
            [
                "test",
                "--target",
                "aarch64-unknown-linux-gnu",
                "-p",
                "pyhost-sys",
                "--",
                "--nocapture"
            ]
        );
        assert_eq!(inv.env, t.env_with(true));
        let line = inv.to_string();
        assert!(
            line.starts_with(
                "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc "
            ),
            "{line}"
        );
        assert!(
            line.ends_with(
                " cargo test --target aarch64-unknown-linux-gnu -p pyhost-sys -- --nocapture"
            ),
            "{line}"
        );
        let runner = t.cargo_with(false, "build", &[]).to_string();
        assert!(
            runner.contains(
                "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER='qemu-aarch64 -L /usr/aarch64-linux-gnu'"
            ),
            "{runner}"
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
        assert_eq!(
            reqs[2].install,
            "dpkg --add-architecture armhf && apt-get update && apt-get install \
             libpython3.11-dev:armhf"
        );
        assert_eq!(reqs[3].install, "apt-get install qemu-user");
        assert_eq!(
            reqs[4].install,
            "apt-get install qemu-user-binfmt && (mountpoint -q /proc/sys/fs/binfmt_misc || \
             mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc) && ([ -e \
             /proc/sys/fs/binfmt_misc/qemu-arm ] || cat /usr/lib/binfmt.d/qemu-arm.conf > \
             /proc/sys/fs/binfmt_misc/register)"
        );
        assert!(reqs[2].python_only && reqs[3].run_only && reqs[4].run_only);
        assert!(!reqs[3].nested_only && reqs[4].nested_only);
        assert_eq!(
            reqs.iter().map(|r| r.check.clone()).collect::<Vec<_>>(),
            [
                Check::RustTarget("armv7-unknown-linux-gnueabihf".into()),
                Check::Program("arm-linux-gnueabihf-gcc".into()),
                Check::TargetPython,
                Check::Program("qemu-arm".into()),
                Check::Binfmt("qemu-arm".into()),
            ]
        );
        assert_eq!(t.target("x86_64-unknown-linux-gnu").pointer_width, 32);
        assert!(CrossTarget::find("mips-unknown-linux-gnu").is_none());
    }

    #[test]
    fn python_and_emulator_are_needed_only_when_asked_for() {
        let t = CrossTarget::find("aarch64-unknown-linux-gnu").unwrap();
        let names = |python, run| -> Vec<String> {
            t.requirements_for(Needs {
                python,
                run,
                nested: run,
            })
            .into_iter()
            .map(|r| r.install)
            .collect()
        };
        assert_eq!(
            names(false, false),
            [
                "rustup target add aarch64-unknown-linux-gnu",
                "apt-get install gcc-aarch64-linux-gnu"
            ]
        );
        assert_eq!(names(false, true).len(), 4);
        assert_eq!(names(true, false).len(), 3);
        let no_binfmt = t.requirements_for(Needs {
            nested: false,
            ..Needs::ALL
        });
        assert_eq!(no_binfmt.len(), 4);
        assert!(
            no_binfmt
                .iter()
                .all(|r| !matches!(r.check, Check::Binfmt(_)))
        );
        assert_eq!(
            names(true, true)[2],
            "dpkg --add-architecture arm64 && apt-get update && apt-get install \
             libpython3-dev:arm64"
        );
    }

    #[test]
    fn programs_are_looked_up_on_the_given_path_only() {
        let tmp = pyhost_build::test_support::TempDir::new("cross-path");
        let gcc = tmp.path().join("aarch64-linux-gnu-gcc");
        std::fs::write(&gcc, "").unwrap();
        let env = Env::fixed([("PATH", format!("/nonexistent:{}", tmp.path().display()))]);
        let t = CrossTarget::find("aarch64-unknown-linux-gnu").unwrap();
        let host = "x86_64-unknown-linux-gnu";
        assert_eq!(
            t.check(&env, host, &Check::Program("aarch64-linux-gnu-gcc".into())),
            Ok(gcc.display().to_string())
        );
        assert_eq!(
            t.check(&env, host, &Check::Program("qemu-aarch64".into())),
            Err("`qemu-aarch64` is not on PATH".to_owned())
        );
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("a-b_c/d.e=f:g"), "a-b_c/d.e=f:g");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
