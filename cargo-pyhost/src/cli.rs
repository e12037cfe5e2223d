//! The `cargo pyhost` command line: `doctor` and `cross`.

use pyhost_build::Env;

use crate::cross::{CROSS_TARGETS, CrossTarget, Invocation, Needs, Status};

/// The help text.
pub const USAGE: &str = "\
usage: cargo pyhost <command> [options]

commands:
  doctor
        which Python a build links for the host and each cross target, every install seen,
        mismatches (python3 on PATH vs the linked one), libclang, and what to do about each
  cross --target <triple> [--run] [-- [<cargo subcommand>] <cargo args>]
        cross-compile this crate (aarch64-unknown-linux-gnu, armv7-unknown-linux-gnueabihf):
        checks the toolchain and names the install command of what is missing, then runs
        cargo with the linker, CC/AR, the target's pkg-config directory, bindgen's target and
        qemu as the runner set for the target (variables you set yourself are kept)
          no --run:   cargo build --target <triple> <cargo args>
          --run:      cargo run --target <triple> <cargo args>, under qemu
          -- test …:  any cargo subcommand (build, run, test, check, clippy, doc, bench)
        with --no-default-features (Python compiled out) the target's libpython is not
        needed; no binfmt_misc entry is needed to run what cargo builds (cargo starts it
        through qemu), only for programs that start other target programs themselves
";

/// Runs a command; `Ok` holds the exit code to leave with.
///
/// # Errors
/// A message for the user: bad arguments, a missing toolchain piece (with its install
/// command), or a failed cargo run.
pub fn run(args: &[String]) -> Result<u8, String> {
    let Some((cmd, rest)) = args.split_first() else {
        print!("{USAGE}");
        return Ok(2);
    };
    match cmd.as_str() {
        "doctor" => {
            if let Some(a) = rest.first() {
                return Err(format!("doctor takes no arguments, not `{a}`"));
            }
            crate::doctor::run(&|_| {}).map(|()| 0)
        }
        "cross" => cross(&parse_cross(rest)?),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(0)
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    }
}

/// The arguments of `cross`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossArgs {
    /// The target triple.
    pub triple: String,
    /// Whether to run the result.
    pub run: bool,
    /// What follows `--`.
    pub cargo_args: Vec<String>,
}

/// Parses `--target <triple> [--run] [-- <cargo args>]`.
///
/// # Errors
/// A missing `--target`, or an unknown argument before `--`.
pub fn parse_cross(args: &[String]) -> Result<CrossArgs, String> {
    let mut triple = None;
    let mut run = false;
    let mut it = args.iter();
    let mut cargo_args = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => triple = Some(it.next().ok_or("--target needs a triple")?.clone()),
            t if t.starts_with("--target=") => triple = Some(t["--target=".len()..].to_owned()),
            "--run" => run = true,
            "--" => cargo_args = it.by_ref().cloned().collect(),
            other => {
                return Err(format!(
                    "cross: unknown argument `{other}` (cargo's arguments go after `--`)"
                ));
            }
        }
    }
    let triple = triple.ok_or_else(|| {
        format!(
            "cross needs --target <triple>; known targets: {}",
            known_targets()
        )
    })?;
    Ok(CrossArgs {
        triple,
        run,
        cargo_args,
    })
}

/// The known cross targets, comma-separated.
pub fn known_targets() -> String {
    CROSS_TARGETS
        .iter()
        .map(|t| t.triple)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Looks up a target, with the known ones in the error.
///
/// # Errors
/// An unknown triple.
pub fn find_target(triple: &str) -> Result<&'static CrossTarget, String> {
    CrossTarget::find(triple).ok_or_else(|| {
        format!(
            "cross: unknown target `{triple}`; known targets: {}",
            known_targets()
        )
    })
}

/// Whether the build needs the target's Python: not when it is compiled out with
/// `--no-default-features` (pyhost is then an optional dependency that is off).
pub fn needs_python(cargo_args: &[String]) -> bool {
    !cargo_args.iter().any(|a| a == "--no-default-features")
}

/// The cargo subcommands `cross` passes through when they come first after `--`.
const SUBCOMMANDS: &[&str] = &["build", "run", "test", "check", "clippy", "doc", "bench"];

/// The cargo command of `cargo pyhost cross`: the subcommand named first after `--`, else
/// `run` with `--run` and `build` without.
pub fn cargo_invocation(t: &CrossTarget, multiarch_libc: bool, args: &CrossArgs) -> Invocation {
    let (sub, rest) = match args.cargo_args.split_first() {
        Some((first, rest)) if SUBCOMMANDS.contains(&first.as_str()) => (first.as_str(), rest),
        _ => (if args.run { "run" } else { "build" }, &args.cargo_args[..]),
    };
    t.cargo_with(multiarch_libc, sub, rest)
}

/// Whether the cargo command starts what it builds (under the qemu runner).
fn runs(inv: &Invocation) -> bool {
    matches!(
        inv.args.first().map(String::as_str),
        Some("run" | "test" | "bench")
    )
}

/// Prints one line per requirement: `ok`/`MISSING`, what, and what was found or the install
/// command.
pub fn print_status(statuses: &[Status], indent: &str) {
    for s in statuses {
        match &s.found {
            Ok(found) => println!("{indent}ok       {} ({found})", s.requirement.what),
            Err(why) => println!(
                "{indent}MISSING  {}: {why}\n{indent}         install: {}",
                s.requirement.what, s.requirement.install
            ),
        }
    }
}

/// The missing requirements as an error naming their install commands, if any is missing.
///
/// # Errors
/// That message.
pub fn require(t: &CrossTarget, statuses: &[Status]) -> Result<(), String> {
    let missing: Vec<String> = statuses
        .iter()
        .filter(|s| s.found.is_err())
        .map(|s| format!("  {}\n      {}", s.requirement.what, s.requirement.install))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} is not ready; install what is missing:\n{}",
        t.triple,
        missing.join("\n")
    ))
}

/// Drops from `inv` the variables the caller set: theirs win.
pub fn keep_user_vars(env: &Env, inv: &mut Invocation) {
    inv.env.retain(|(k, _)| env.var(k).is_none());
}

fn cross(args: &CrossArgs) -> Result<u8, String> {
    let t = find_target(&args.triple)?;
    let host = crate::host_triple();
    let env = Env::from_process();
    let multiarch = t.multiarch_libc_installed();
    let mut inv = cargo_invocation(t, multiarch, args);
    let needs = Needs {
        python: needs_python(&args.cargo_args),
        run: runs(&inv),
        nested: false,
    };
    println!("cargo pyhost cross: {} on {host}", t.triple);
    if !needs.python {
        println!(
            "  --no-default-features: Python is compiled out; the target's libpython is not needed"
        );
    }
    let statuses = t.check_all(&env, &host, needs);
    print_status(&statuses, "  ");
    require(t, &statuses)?;
    if needs.run {
        let binfmt = t.check_all(&env, &host, Needs::ALL);
        if let Some(s) = binfmt
            .iter()
            .find(|s| s.requirement.nested_only && s.found.is_err())
        {
            println!(
                "  note: not needed here, and not there: {}. cargo runs what it builds through \
                 qemu; only a program that starts another target program needs it. Install: {}",
                s.requirement.what, s.requirement.install
            );
        }
    }
    for (k, v) in &inv.env {
        if let Some(yours) = env.var(k) {
            println!("  {k}={yours}   (yours, kept; cargo pyhost would set {v})");
        }
    }
    keep_user_vars(&env, &mut inv);
    println!("$ {inv}");
    let status = inv
        .command()
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    match status.code() {
        Some(0) => Ok(0),
        Some(c) => Ok(u8::try_from(c).unwrap_or(1)),
        None => Err(format!("cargo was killed ({status})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn parses_target_run_and_cargo_args() {
        assert_eq!(
            parse_cross(&s(&[
                "--target",
                "aarch64-unknown-linux-gnu",
                "--run",
                "--",
                "-p",
                "x",
                "--run"
            ]))
            .unwrap(),
            CrossArgs {
                triple: "aarch64-unknown-linux-gnu".into(),
                run: true,
                cargo_args: s(&["-p", "x", "--run"]),
            }
        );
        assert_eq!(
            parse_cross(&s(&["--target=armv7-unknown-linux-gnueabihf"]))
                .unwrap()
                .triple,
            "armv7-unknown-linux-gnueabihf"
        );
        assert!(
            parse_cross(&s(&["--run"]))
                .unwrap_err()
                .contains("needs --target")
        );
        assert!(parse_cross(&s(&["--target", "x", "-p"])).is_err());
        assert!(
            find_target("mips-unknown-linux-gnu")
                .unwrap_err()
                .contains("aarch64")
        );
    }

    #[test]
    fn the_subcommand_is_build_run_or_the_one_named() {
        let t = CrossTarget::find("aarch64-unknown-linux-gnu").unwrap();
        let inv = |a: &[&str]| cargo_invocation(t, true, &parse_cross(&s(a)).unwrap());
        let build = inv(&["--target", t.triple]);
        assert_eq!(build.args, s(&["build", "--target", t.triple]));
        assert!(!runs(&build));
        let run = inv(&["--target", t.triple, "--run", "--", "--release"]);
        assert_eq!(run.args, s(&["run", "--target", t.triple, "--release"]));
        assert!(runs(&run));
        let test = inv(&["--target", t.triple, "--", "test", "-p", "x"]);
        assert_eq!(test.args, s(&["test", "--target", t.triple, "-p", "x"]));
        assert!(runs(&test));
        assert!(test.env.contains(&(
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER".into(),
            "qemu-aarch64".into()
        )));
        assert!(!needs_python(&s(&["--no-default-features"])));
    }

    #[test]
    fn variables_the_user_set_are_kept() {
        let t = CrossTarget::find("aarch64-unknown-linux-gnu").unwrap();
        let mut inv = t.cargo_with(true, "build", &[]);
        let before = inv.env.len();
        let env = Env::fixed([("CC_aarch64_unknown_linux_gnu", "my-cc")]);
        keep_user_vars(&env, &mut inv);
        assert_eq!(inv.env.len(), before - 1);
        assert!(
            inv.env
                .iter()
                .all(|(k, _)| k != "CC_aarch64_unknown_linux_gnu")
        );
    }

    #[test]
    fn missing_pieces_are_named_with_their_install_command() {
        let t = CrossTarget::find("aarch64-unknown-linux-gnu").unwrap();
        let statuses: Vec<Status> = t
            .requirements_for(Needs::ALL)
            .into_iter()
            .enumerate()
            .map(|(i, requirement)| Status {
                requirement,
                found: if i == 1 {
                    Err("no".into())
                } else {
                    Ok("yes".into())
                },
            })
            .collect();
        let e = require(t, &statuses).unwrap_err();
        assert!(e.contains("apt-get install gcc-aarch64-linux-gnu"), "{e}");
        assert!(!e.contains("rustup"), "{e}");
    }
}
