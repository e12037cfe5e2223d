//! `cargo xtask valgrind`: the core test binaries under memcheck, with Python allocating
//! through `malloc` (`PYTHONMALLOC=malloc`, which pyhost honours even when isolated) so that
//! valgrind sees every Python object. Fails on any invalid read or write, on use of
//! uninitialised memory, and on a definite leak, except what the suppression files in
//! `xtask/valgrind/` attribute to CPython or to a test's deliberate choice, entry by entry.

use std::path::PathBuf;
use std::process::Command;

use crate::util;

/// The test binaries run: conversions, errors, the GIL, classes and functions (`shared`),
/// start to finalization (`lifecycle`, where leaks become visible), builtin modules.
pub const TESTS: [&str; 3] = ["shared", "lifecycle", "macros_module"];

/// The suppression files, relative to the workspace.
pub const SUPPRESSIONS: [&str; 2] = ["xtask/valgrind/cpython.supp", "xtask/valgrind/tests.supp"];

/// The exit status valgrind gives when it found an error.
const ERROR_EXIT: i32 = 99;

/// The memcheck command line for one test binary.
pub fn valgrind_args(exe: &str) -> Vec<String> {
    let root = util::workspace_root();
    let mut args: Vec<String> = [
        "--tool=memcheck",
        "--leak-check=full",
        "--show-leak-kinds=definite",
        "--errors-for-leak-kinds=definite",
        "--num-callers=40",
    ]
    .map(String::from)
    .to_vec();
    args.push(format!("--error-exitcode={ERROR_EXIT}"));
    for s in SUPPRESSIONS {
        args.push(format!("--suppressions={}", root.join(s).display()));
    }
    args.push(exe.to_owned());
    args.push("--test-threads=1".to_owned());
    args
}

/// Builds the test binaries and returns their paths, from cargo's JSON messages.
fn build() -> Result<Vec<(String, PathBuf)>, String> {
    let mut cmd = Command::new(util::cargo());
    cmd.args(["test", "-p", "pyhost", "--no-run", "--message-format=json"])
        .current_dir(util::workspace_root());
    for t in TESTS {
        cmd.args(["--test", t]);
    }
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building the test binaries failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = crate::json::parse(line) else {
            continue;
        };
        let name = msg.get("target").get("name").as_str().unwrap_or_default();
        if let (Some(exe), true) = (msg.get("executable").as_str(), TESTS.contains(&name)) {
            found.push((name.to_owned(), PathBuf::from(exe)));
        }
    }
    if found.len() != TESTS.len() {
        return Err(format!(
            "cargo built {} of the {} test binaries ({found:?})",
            found.len(),
            TESTS.len()
        ));
    }
    Ok(found)
}

/// The command.
pub fn run(args: &[String]) -> Result<(), String> {
    if !args.is_empty() {
        return Err(format!("valgrind takes no arguments, not {args:?}"));
    }
    let have = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        return Err("valgrind is not installed: apt-get install valgrind".into());
    }
    let mut failed = Vec::new();
    for (name, exe) in build()? {
        println!("valgrind: {name} ({})", exe.display());
        let status = Command::new("valgrind")
            .args(valgrind_args(&exe.display().to_string()))
            .env("PYTHONMALLOC", "malloc")
            .current_dir(util::workspace_root())
            .status()
            .map_err(|e| format!("cannot run valgrind: {e}"))?;
        match status.code() {
            Some(0) => println!("valgrind: {name}: no error"),
            Some(ERROR_EXIT) => failed.push(format!("{name}: memcheck errors (see above)")),
            _ => failed.push(format!(
                "{name}: the tests failed under valgrind ({status})"
            )),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}
