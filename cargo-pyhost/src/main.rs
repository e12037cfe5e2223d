//! `cargo pyhost <command>`: see [`cargo_pyhost::cli::USAGE`].

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // Run as `cargo pyhost …`, cargo passes the subcommand name first.
    if args.first().is_some_and(|a| a == "pyhost") {
        args.remove(0);
    }
    match cargo_pyhost::cli::run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
