//! `cargo xtask setup`: installs what the test suite needs, idempotently, and says what it
//! installs. `cargo xtask test` runs it first, so that on a fresh machine of this kind the
//! README's test command is all there is to run; `.ci/run` only calls that command.
//!
//! What it cannot get (no root, no apt, a mirror out of reach) is reported, and the steps
//! that need it are then skipped by the suite with the command that installs it.

use std::process::Command;

/// Debian packages the host build and tests need (libclang for bindgen, the headers of the
/// default Python, venv for the agent's datadog-checks-base test, valgrind for the memcheck
/// step, a Prometheus server for the agent's scrape test).
pub const HOST_PACKAGES: &[&str] = &[
    "pkg-config",
    "libclang-dev",
    "python3-dev",
    "python3-venv",
    "valgrind",
    "prometheus",
];

/// Debian packages of the aarch64 cross build and its runs under qemu.
pub const AARCH64_PACKAGES: &[&str] =
    &["gcc-aarch64-linux-gnu", "qemu-user", "libpython3-dev:arm64"];

/// What setup found it could not do, for the suite's summary.
#[derive(Debug, Default)]
pub struct Report {
    pub notes: Vec<String>,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

fn missing(packages: &[&str]) -> Vec<String> {
    packages
        .iter()
        .filter(|p| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).ends_with(" installed"))
        })
        .map(|p| (*p).to_owned())
        .collect()
}

/// Installs the missing ones of `packages` with apt (one `apt-get update` per process).
pub fn apt_install(packages: &[&str]) -> Result<(), String> {
    let todo = missing(packages);
    if todo.is_empty() {
        return Ok(());
    }
    if !is_root() || !have("apt-get") {
        return Err(format!(
            "{} not installed (needs root and apt): apt-get install {}",
            todo.join(", "),
            todo.join(" ")
        ));
    }
    static UPDATED: std::sync::Once = std::sync::Once::new();
    UPDATED.call_once(|| {
        println!("setup: apt-get update");
        // A mirror in the middle of a sync fails one index: go on with the others.
        let _ = Command::new("apt-get")
            .args(["update", "-q"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output();
    });
    println!("setup: apt-get install {}", todo.join(" "));
    let out = Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&todo)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "apt-get install {} failed ({}): {}",
            todo.join(" "),
            out.status,
            stderr.lines().rev().take(3).collect::<Vec<_>>().join(" | ")
        ))
    }
}

fn rustup_target(triple: &str) -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == triple)
    {
        return Ok(());
    }
    println!("setup: rustup target add {triple}");
    let ok = Command::new("rustup")
        .args(["target", "add", triple])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(())
    } else {
        Err(format!("rustup target add {triple} failed"))
    }
}

/// cargo-fuzz, for the fuzz step (a crates.io install into `~/.cargo/bin`, kept there).
fn cargo_fuzz() -> Result<(), String> {
    let cargo = crate::util::cargo();
    let have = Command::new(&cargo)
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if have {
        return Ok(());
    }
    println!("setup: cargo install cargo-fuzz --locked");
    let ok = Command::new(&cargo)
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(())
    } else {
        Err("cargo install cargo-fuzz failed".to_owned())
    }
}

/// Registers qemu-aarch64 with binfmt_misc, for test programs that start aarch64 programs
/// themselves. Best effort.
fn binfmt_aarch64() -> Result<(), String> {
    let dir = std::path::Path::new("/proc/sys/fs/binfmt_misc");
    let entry = dir.join("qemu-aarch64");
    if let Ok(state) = std::fs::read_to_string(&entry) {
        // A run of `cargo xtask downstream --cross` that was killed may have left it off.
        if state.starts_with("disabled") && std::fs::write(&entry, "1").is_err() {
            return Err(format!("could not enable {}", entry.display()));
        }
        return Ok(());
    }
    let conf = std::path::Path::new("/usr/lib/binfmt.d/qemu-aarch64.conf");
    let mounted = dir.join("register").exists()
        || Command::new("mount")
            .args(["-t", "binfmt_misc", "binfmt_misc"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
    if mounted && conf.exists() {
        if let Ok(rule) = std::fs::read(conf) {
            if std::fs::write(dir.join("register"), rule).is_ok() {
                println!("setup: registered qemu-aarch64 with binfmt_misc");
                return Ok(());
            }
        }
    }
    Err("could not register qemu-aarch64 with binfmt_misc".to_owned())
}

/// Everything the suite can use; what fails is reported, not fatal.
pub fn ensure() -> Report {
    let mut report = Report::default();
    let mut note = |r: Result<(), String>| {
        if let Err(e) = r {
            println!("setup: {e}");
            report.notes.push(e);
        }
    };
    // The foreign architecture first: the one `apt-get update` must fetch its index too.
    if is_root() && have("dpkg") {
        let foreign = Command::new("dpkg")
            .arg("--print-foreign-architectures")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("arm64"))
            .unwrap_or(false);
        if !foreign {
            println!("setup: dpkg --add-architecture arm64");
            let _ = Command::new("dpkg")
                .args(["--add-architecture", "arm64"])
                .status();
        }
    }
    note(apt_install(HOST_PACKAGES));
    note(apt_install(AARCH64_PACKAGES));
    note(apt_install(&["qemu-user-binfmt"]));
    note(binfmt_aarch64());
    note(rustup_target("aarch64-unknown-linux-gnu"));
    note(cargo_fuzz());
    if is_root() {
        note(crate::sid::make());
    } else {
        note(Err(format!(
            "the Debian unstable root needs root to make: {}",
            crate::sid::make_command()
        )));
    }
    report
}

/// The command.
pub fn run(args: &[String]) -> Result<(), String> {
    if !args.is_empty() {
        return Err(format!("setup takes no arguments, not {args:?}"));
    }
    let report = ensure();
    if report.notes.is_empty() {
        println!("setup: everything the suite needs is installed");
        Ok(())
    } else {
        Err(format!(
            "some pieces could not be installed; the steps that need them will be skipped:\n  {}",
            report.notes.join("\n  ")
        ))
    }
}
