//! `cargo xtask <command>`: pyhost's workflows in one place.
//!
//! The knowledge (targets, their environment, where Pythons live) is in `pyhost-build`; this
//! is a thin command line over it.

mod bindings;
mod util;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  bindings [--check]   regenerate the pre-generated fallback bindings of pyhost-sys
                       (--check: fail if the checked-in files are stale)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match cmd.as_str() {
        "bindings" => bindings::run(rest),
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
