//! `cargo xtask cross --target <triple> [--run] [-- <cargo args>]`: checks the target's
//! toolchain, sets up the environment from `cargo_pyhost::cross`, builds, and with `--run`
//! runs under qemu.

use cargo_pyhost::cli::{CrossArgs as Args, find_target, needs_python, parse_cross as parse};
use cargo_pyhost::cross::{CrossTarget, Needs};
use pyhost_build::Env;

use crate::run::{self, Cmd, Ended};
use crate::util;
use crate::workspace::Suite;

/// The test that shows, from inside the embedded interpreter, that it runs on the target:
/// it prints `platform.machine()`; the other checks the running version against the one
/// built for.
pub const SHOW: (&str, &str, &[&str]) = (
    "pyhost-sys",
    "raw",
    &[
        "c_extension_modules_load",
        "interpreter_runs_code_and_reports_the_built_version",
    ],
);

/// The cargo commands for `args`: what to build or run, then (for `--run` of the default
/// suite) the run that shows the machine from inside the interpreter.
///
/// - no `--run`, no cargo args: `cargo test --no-run` of the Python test suite (build only);
/// - no `--run`, cargo args: `cargo build <args>`;
/// - `--run`, no cargo args: `cargo test` of the Python test suite under qemu;
/// - `--run` with `--example`/`--bin` among the args: `cargo run <args>`;
/// - `--run` with other args: `cargo test <args>`.
pub fn commands(
    t: &CrossTarget,
    multiarch_libc: bool,
    args: &Args,
    suite: Option<&Suite>,
) -> Vec<Cmd> {
    let (sub, mut rest): (&str, Vec<String>) = match (args.run, args.cargo_args.is_empty()) {
        (false, true) => ("test", vec!["--no-run".into()]),
        (false, false) => ("build", Vec::new()),
        (true, true) => ("test", vec!["--no-fail-fast".into()]),
        (true, false)
            if args.cargo_args.iter().any(|a| {
                a == "--example"
                    || a == "--bin"
                    || a.starts_with("--example=")
                    || a.starts_with("--bin=")
            }) =>
        {
            ("run", Vec::new())
        }
        (true, false) => ("test", Vec::new()),
    };
    let mut cmds = Vec::new();
    if args.cargo_args.is_empty() {
        let suite_args = suite.map(Suite::args).unwrap_or_default();
        rest.extend(suite_args);
    } else {
        rest.extend(args.cargo_args.iter().cloned());
    }
    cmds.push(Cmd::from(t.cargo_with(multiarch_libc, sub, &rest)));
    if args.run && args.cargo_args.is_empty() {
        if let Some(show) = show_command(t, multiarch_libc, suite) {
            cmds.push(show);
        }
    }
    cmds
}

/// `cargo test` of [`SHOW`] with `--nocapture`, when the suite has that test. The suite's
/// packages stay selected (only the test target is narrowed), so that cargo resolves the same
/// features and rebuilds nothing.
pub fn show_command(t: &CrossTarget, multiarch_libc: bool, suite: Option<&Suite>) -> Option<Cmd> {
    let (package, test, names) = SHOW;
    let suite = suite.filter(|s| s.has_test(package, test))?;
    let mut a: Vec<String> = Vec::new();
    for p in &suite.packages {
        a.push("-p".to_owned());
        a.push(p.clone());
    }
    a.extend(["--test", test, "--", "--exact", "--nocapture"].map(str::to_owned));
    a.extend(names.iter().map(|n| (*n).to_owned()));
    Some(Cmd::from(t.cargo_with(multiarch_libc, "test", &a)))
}

/// Drops the variables the user set already: theirs win.
pub fn keep_user_vars(cmd: &mut Cmd) {
    cmd.env.retain(|(k, _)| std::env::var_os(k).is_none());
}

/// The command.
pub fn run(args: &[String]) -> Result<(), String> {
    let args = parse(args)?;
    let t = find_target(&args.triple)?;
    let host = util::host_triple();
    let env = Env::from_process();
    let python = needs_python(&args.cargo_args);
    println!("cross-compiling for {} on {host}", t.triple);
    if !python {
        println!(
            "  --no-default-features: Python is compiled out, so the target's libpython is not needed"
        );
    }
    // The suite's tests run their own binary again in fresh processes: binfmt is needed too.
    let needs = Needs {
        python,
        run: args.run,
        nested: args.run,
    };
    let statuses = t.check_all(&env, &host, needs);
    cargo_pyhost::cli::print_status(&statuses, "  ");
    cargo_pyhost::cli::require(t, &statuses)?;
    let multiarch = t.multiarch_libc_installed();
    println!("environment:");
    for (k, v) in t.env_with(multiarch) {
        match std::env::var(&k) {
            Ok(yours) => println!("  {k}={yours}   (yours, kept; pyhost-build would set {v})"),
            Err(_) => println!("  {k}={v}"),
        }
    }
    let suite = if args.cargo_args.is_empty() {
        let s = Suite::of_workspace()?;
        println!(
            "test suite: {} (left out: {})",
            s.packages.join(", "),
            s.excluded.join("; ")
        );
        Some(s)
    } else {
        None
    };
    let mut cmds = commands(t, multiarch, &args, suite.as_ref());
    for c in &mut cmds {
        keep_user_vars(c);
    }
    let show = cmds.len() > 1;
    for (i, cmd) in cmds.iter().enumerate() {
        if show && i == cmds.len() - 1 {
            println!(
                "\nfrom inside the embedded interpreter, running under {}:",
                t.qemu
            );
        }
        match run::run(cmd, None) {
            Ended::Ok => {}
            Ended::Failed(why) => return Err(format!("{}: {why}", t.triple)),
            Ended::TimedOut(_) => unreachable!("no timeout was set"),
        }
    }
    let python = statuses
        .iter()
        .find(|s| s.requirement.python_only)
        .and_then(|s| s.found.as_ref().ok())
        .map(|p| format!(", {p}"))
        .unwrap_or_default();
    let done = if args.run {
        format!("ran under {}", t.qemu)
    } else {
        "built".to_owned()
    };
    println!("\n{}: {done}{python}: ok", t.triple);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|a| (*a).to_owned()).collect()
    }

    fn suite() -> Suite {
        Suite {
            packages: s(&["pyhost-sys", "pyhost"]),
            lib: true,
            tests: s(&["raw", "gil"]),
            ..Suite::default()
        }
    }

    #[test]
    fn run_of_the_default_suite_tests_then_shows_the_machine() {
        let t = CrossTarget::find("aarch64-unknown-linux-gnu").unwrap();
        let args = parse(&s(&["--target", t.triple, "--run"])).unwrap();
        let cmds = commands(t, true, &args, Some(&suite()));
        assert_eq!(cmds.len(), 2);
        assert_eq!(
            cmds[0].args,
            s(&[
                "test",
                "--target",
                "aarch64-unknown-linux-gnu",
                "--no-fail-fast",
                "-p",
                "pyhost-sys",
                "-p",
                "pyhost",
                "--lib",
                "--test",
                "raw",
                "--test",
                "gil"
            ])
        );
        assert_eq!(
            cmds[0].env,
            t.env_with(true)
                .into_iter()
                .map(|(k, v)| (k, Some(v)))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            cmds[1].args,
            s(&[
                "test",
                "--target",
                "aarch64-unknown-linux-gnu",
                "-p",
                "pyhost-sys",
                "-p",
                "pyhost",
                "--test",
                "raw",
                "--",
                "--exact",
                "--nocapture",
                "c_extension_modules_load",
                "interpreter_runs_code_and_reports_the_built_version"
            ])
        );
    }

    #[test]
    fn build_and_run_with_cargo_args() {
        let t = CrossTarget::find("aarch64-unknown-linux-gnu").unwrap();
        let build = parse(&s(&["--target", t.triple])).unwrap();
        assert_eq!(
            commands(t, true, &build, Some(&suite()))[0].args[..4],
            s(&["test", "--target", t.triple, "--no-run"])
        );
        let args = parse(&s(&[
            "--target",
            t.triple,
            "--",
            "-p",
            "pyhost-agent",
            "--no-default-features",
        ]))
        .unwrap();
        assert!(!needs_python(&args.cargo_args));
        let cmds = commands(t, false, &args, None);
        assert_eq!(cmds.len(), 1);
        assert_eq!(
            cmds[0].args,
            s(&[
                "build",
                "--target",
                t.triple,
                "-p",
                "pyhost-agent",
                "--no-default-features"
            ])
        );
        let example = parse(&s(&[
            "--target",
            t.triple,
            "--run",
            "--",
            "--example",
            "hello",
        ]))
        .unwrap();
        assert!(needs_python(&example.cargo_args));
        assert_eq!(commands(t, true, &example, None)[0].args[0], "run");
        let tests = parse(&s(&["--target", t.triple, "--run", "--", "-p", "pyhost"])).unwrap();
        assert_eq!(
            commands(t, true, &tests, None)[0].args,
            s(&["test", "--target", t.triple, "-p", "pyhost"])
        );
    }
}
