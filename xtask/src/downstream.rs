//! `cargo xtask downstream [--cross <triple>]`: a crate outside this workspace, made in a
//! temporary directory the way README tells a new user to, that depends on pyhost by path,
//! built and run on the host, checked with `cargo pyhost doctor`, and with `--cross` built and
//! run under qemu with `cargo pyhost cross --target <triple> --run`.
//!
//! `cargo pyhost` is the cargo-pyhost binary of this workspace, found by cargo on `PATH` as a
//! user's `cargo install --path cargo-pyhost` would put it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

/// The crate's `src/main.rs`: Python called from Rust and Rust from Python, and the machine
/// Python sees.
const MAIN_RS: &str = r#"use pyhost::types::Module;
use pyhost::{Interpreter, Object};

/// Doubles a number, in Rust.
#[pyhost::function]
fn double(x: i64) -> i64 {
    x * 2
}

#[pyhost::module(name = "downstream")]
fn downstream(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(double))
}

fn main() {
    if let Err(e) = run() {
        // `{e:#}` prints the Python traceback too.
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> pyhost::Result<()> {
    Interpreter::builder()
        .builtin_module("downstream", downstream::builtin())
        .start()?;
    pyhost::with_gil(|py| {
        let machine: String = py.import("platform")?.call_method0("machine")?.extract()?;
        let version: String = py.eval("__import__('sys').version.split()[0]")?.extract()?;
        let doubled: i64 = py.eval("__import__('downstream').double(21)")?.extract()?;
        println!("machine: {machine}");
        println!("python: {version}");
        println!("rust says: {doubled}");
        Ok(())
    })?;
    pyhost::shutdown()
}
"#;

const BUILD_RS: &str = "fn main() {\n    pyhost_build::dependent::emit();\n}\n";

/// The crate's manifest, depending on this checkout by path.
fn manifest(root: &Path) -> String {
    format!(
        "[package]\nname = \"downstream-check\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
         publish = false\n\n[dependencies]\npyhost = {{ path = {root:?} }}\n\n\
         [build-dependencies]\npyhost-build = {{ path = {build:?} }}\n\n\
         # Its own workspace: not a member of any around it.\n[workspace]\n",
        root = root.display().to_string(),
        build = root.join("build-support").display().to_string(),
    )
}

/// Writes the crate into `dir` (emptied first).
pub fn write_crate(dir: &Path, root: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    let files = [
        ("Cargo.toml", manifest(root)),
        ("build.rs", BUILD_RS.to_owned()),
        ("src/main.rs", MAIN_RS.to_owned()),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}

/// What the program printed is right for `machine`: the platform it ran on, and the call into
/// Rust and back.
pub fn check_output(stdout: &str, machine: &str) -> Result<(), String> {
    let want = [format!("machine: {machine}"), "rust says: 42".to_owned()];
    for w in &want {
        if !stdout.lines().any(|l| l == w) {
            return Err(format!("expected a line `{w}` in the output:\n{stdout}"));
        }
    }
    Ok(())
}

/// The command.
pub fn run(args: &[String]) -> Result<(), String> {
    let cross = match args {
        [] => None,
        [flag, triple] if flag == "--cross" => Some(triple.clone()),
        _ => return Err("usage: cargo xtask downstream [--cross <triple>]".to_owned()),
    };
    let root = util::workspace_root();
    let bin_dir = build_cargo_pyhost()?;
    let dir = std::env::temp_dir().join("pyhost-downstream");
    write_crate(&dir, &root)?;
    println!(
        "downstream: a crate in {} depending on {}",
        dir.display(),
        root.display()
    );
    let target_dir = cache_dir();
    let path = std::env::join_paths(
        std::iter::once(bin_dir.clone()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .map_err(|e| format!("PATH: {e}"))?;
    let cargo = |args: &[&str]| -> Result<String, String> {
        println!("$ (cd {} && cargo {})", dir.display(), args.join(" "));
        let out = Command::new(util::cargo())
            .args(args)
            .current_dir(&dir)
            .env("PATH", &path)
            .env("CARGO_TARGET_DIR", &target_dir)
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| format!("running cargo: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        print!("{stdout}");
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "`cargo {}` failed ({})",
                args.join(" "),
                out.status
            ))
        }
    };
    match &cross {
        None => {
            cargo(&["pyhost", "doctor"])?;
            let out = cargo(&["run", "-q"])?;
            check_output(&out, std::env::consts::ARCH)?;
            println!("downstream: built and ran on the host: ok");
        }
        Some(triple) => {
            let t = cargo_pyhost::cli::find_target(triple)?;
            // Shows that the run needs no binfmt_misc entry: qemu is cargo's runner.
            let _off = BinfmtOff::new(t.qemu);
            let out = cargo(&["pyhost", "cross", "--target", triple, "--run", "--", "-q"])?;
            check_output(&out, t.machine)?;
            println!(
                "downstream: built for {triple} and ran under {}: ok",
                t.qemu
            );
        }
    }
    Ok(())
}

/// Turns the kernel's binfmt_misc entry for `qemu` off while it lives (when there is one and
/// it may be written: as root), and back on when dropped.
struct BinfmtOff(Option<PathBuf>);

impl BinfmtOff {
    fn new(qemu: &str) -> BinfmtOff {
        let entry = Path::new("/proc/sys/fs/binfmt_misc").join(qemu);
        let enabled = std::fs::read_to_string(&entry).is_ok_and(|s| s.starts_with("enabled"));
        if enabled && std::fs::write(&entry, "0").is_ok() {
            println!("downstream: {} off for this run", entry.display());
            BinfmtOff(Some(entry))
        } else {
            BinfmtOff(None)
        }
    }
}

impl Drop for BinfmtOff {
    fn drop(&mut self) {
        if let Some(entry) = &self.0 {
            if std::fs::write(entry, "1").is_err() {
                eprintln!("downstream: could not turn {} back on", entry.display());
            }
        }
    }
}

/// Builds this workspace's cargo-pyhost and returns the directory holding the binary.
fn build_cargo_pyhost() -> Result<PathBuf, String> {
    let status = Command::new(util::cargo())
        .args(["build", "-q", "-p", "cargo-pyhost"])
        .current_dir(util::workspace_root())
        .status()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building cargo-pyhost failed ({status})"));
    }
    let dir = util::target_dir().join("debug");
    if dir.join("cargo-pyhost").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "no cargo-pyhost in {} after building it",
            dir.display()
        ))
    }
}

/// Where the crate's builds go: kept between runs, outside the checkout.
fn cache_dir() -> PathBuf {
    let cache = Path::new("/var/cache/pyhost/downstream-target");
    if std::fs::create_dir_all(cache).is_ok() {
        cache.to_path_buf()
    } else {
        std::env::temp_dir().join("pyhost-downstream-target")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crate_depends_on_the_checkout_by_path_in_its_own_workspace() {
        let dir = std::env::temp_dir().join(format!("xtask-downstream-{}", std::process::id()));
        write_crate(&dir, Path::new("/src/pyhost")).unwrap();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("pyhost = { path = \"/src/pyhost\" }"),
            "{manifest}"
        );
        assert!(
            manifest.contains("pyhost-build = { path = \"/src/pyhost/build-support\" }"),
            "{manifest}"
        );
        assert!(manifest.contains("\n[workspace]\n"));
        assert!(dir.join("src/main.rs").is_file() && dir.join("build.rs").is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn output_must_name_the_machine_and_the_round_trip() {
        let out = "machine: aarch64\npython: 3.11.2\nrust says: 42\n";
        assert!(check_output(out, "aarch64").is_ok());
        assert!(
            check_output(out, "x86_64")
                .unwrap_err()
                .contains("machine: x86_64")
        );
        assert!(check_output("machine: aarch64\n", "aarch64").is_err());
    }
}
