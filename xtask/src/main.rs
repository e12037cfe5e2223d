//! `cargo xtask <command>`: pyhost's workflows in one place.
//!
//! The knowledge (targets, their environment, where Pythons live) is in `cargo-pyhost`
//! (`cross`, `candidates`, `doctor`) and `pyhost-build` (`Discovery`); this is a thin command
//! line over it, plus what only this workspace needs (its test plan, bindings, benchmarks).

#[cfg(test)]
mod arch;
mod bench;
mod bindings;
mod cross;
mod doctor;
mod downstream;
mod fuzz;
mod json;
mod merge;
mod run;
mod setup;
mod sid;
mod test;
mod util;
mod valgrind;
mod workspace;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  test [--dry-run] [--fail-fast] [--skip <steps>] [--timeout <minutes>]
        the full suite: fmt, clippy, bindings --check, the workspace tests on the default
        Python, the Python-dependent tests on every other CPython >= 3.8 found (pyenv,
        system), and the cross targets whose toolchains are installed (under qemu); ends
        with a summary table and fails if any step failed
  cross --target <triple> [--run] [-- <cargo args>]
        cross-compile (aarch64-unknown-linux-gnu, armv7-unknown-linux-gnueabihf): checks the
        toolchain and names the install command of what is missing, sets linker, CC/AR,
        pkg-config, bindgen and the qemu runner, then
          no args:             builds the Python test suite (cargo test --no-run)
          --run:               runs it under qemu, then shows platform.machine() from inside
          -- <args>:           cargo build <args>
          --run -- <args>:     cargo test <args>, or cargo run <args> with --bin/--example
        with --no-default-features (Python compiled out) the target's libpython is not needed
  doctor
        `cargo pyhost doctor` (which Python a build links for the host and each cross target,
        every install seen, mismatches, libclang, what to do) plus the Debian unstable root
  downstream [--cross <triple>]
        make a crate outside the workspace depending on this checkout by path, as README
        says; build and run it (and `cargo pyhost doctor`) on the host, or with --cross build
        it with `cargo pyhost cross --target <triple> --run` and run it under qemu
  bindings [--check]
        regenerate pyhost-sys's pre-generated bindings: one file for CPython 3.8-3.15,
        merged from bindgen's output for each version (--check: fail if it is stale)
  valgrind
        the core test binaries (shared, lifecycle, macros_module) under memcheck with
        PYTHONMALLOC=malloc: fails on invalid reads or writes, uninitialised values and
        definite leaks, but for xtask/valgrind/*.supp (CPython's, each entry explained)
  fuzz [--time <seconds>] [--target conversions|arguments]
        the libFuzzer targets of fuzz/ under AddressSanitizer (cargo-fuzz, stable toolchain
        with RUSTC_BOOTSTRAP=1): seeds in fuzz/seeds/<target>/ first, then fuzzing for the
        time given (default 60 s each); corpus and build kept in /var/cache/pyhost/fuzz
  setup
        install what the suite needs, idempotently (as root: apt packages, the aarch64
        rustup target, the Debian unstable root with CPython 3.14 and 3.15); `test` runs it
  bench [--quick] [--json <file>] [--callgrind] [--build-times] [--only <ids>] [--no-write]
        build benches/ (profile bench-release, PyO3 pointed at the Python pyhost links) and
        run w1..w8 through the raw C API, pyhost and PyO3, interleaved; prints one table and
        writes BENCHMARKS.md (full runs of every workload only; --write forces it)
          --quick:        under 2 minutes (fewer rounds, w7 with 100,000 calls per thread)
          --json <file>:  the medians as a JSON list of {workload, unit, raw, limit, pyhost, pyo3}
          --callgrind:    also instructions per operation under valgrind (w1..w6)
          --build-times:  also the cold build time of a hello-embed binary (slow)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match cmd.as_str() {
        "test" => test::run(rest),
        "cross" => cross::run(rest),
        "doctor" => doctor::run(rest),
        "downstream" => downstream::run(rest),
        "bindings" => bindings::run(rest),
        "bench" => bench::run(rest),
        "setup" => setup::run(rest),
        "valgrind" => valgrind::run(rest),
        "fuzz" => fuzz::run(rest),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
