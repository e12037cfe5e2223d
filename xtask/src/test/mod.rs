//! `cargo xtask test`: the full suite. fmt, clippy, the pre-generated bindings, the workspace
//! tests on the default Python, the Python-dependent tests again on every other CPython found,
//! and the cross targets under qemu; then one summary table. Exits non-zero when anything
//! failed; what cannot run here is reported as skipped, with the command that installs it.

mod plan;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use cargo_pyhost::candidates::{self};
use pyhost_build::{Env, Target};

use crate::run::{self, Cmd, Ended};
use crate::util;
use crate::workspace::Suite;

use plan::plan;
pub use plan::*;

const USAGE: &str = "\
usage: cargo xtask test [--dry-run] [--no-setup] [--fail-fast] [--skip <steps>] [--timeout <minutes>]

  --dry-run           print the plan (every command, with its variables) and stop
  --no-setup          do not install anything first (`cargo xtask setup` does it otherwise)
  --fail-fast         stop at the first failure (the rest is reported as not run)
  --skip <steps>      comma-separated: fmt, clippy, bindings, test, valgrind, fuzz, matrix,
                      unstable, cross, readme, downstream (reported as skipped in the summary)
  --timeout <min>     kill a step that runs longer than this (default 20)
";

/// The kinds of step, in the order they run.
pub const KINDS: [&str; 11] = [
    "fmt",
    "clippy",
    "bindings",
    "test",
    "valgrind",
    "fuzz",
    "matrix",
    "unstable",
    "cross",
    "readme",
    "downstream",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub dry_run: bool,
    pub no_setup: bool,
    pub fail_fast: bool,
    pub skip: Vec<String>,
    pub timeout: Duration,
}

pub fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        dry_run: false,
        no_setup: false,
        fail_fast: false,
        skip: Vec::new(),
        timeout: Duration::from_secs(20 * 60),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dry-run" => o.dry_run = true,
            "--no-setup" => o.no_setup = true,
            "--fail-fast" => o.fail_fast = true,
            "--skip" => {
                let list = it.next().ok_or("--skip needs a list of steps")?;
                for k in list.split(',').filter(|k| !k.is_empty()) {
                    if !KINDS.contains(&k) {
                        return Err(format!(
                            "--skip: unknown step `{k}`; steps: {}",
                            KINDS.join(", ")
                        ));
                    }
                    o.skip.push(k.to_owned());
                }
            }
            "--timeout" => {
                let m: u64 = it
                    .next()
                    .and_then(|m| m.parse().ok())
                    .ok_or("--timeout needs a number of minutes")?;
                o.timeout = Duration::from_secs(m * 60);
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("test: unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok(o)
}

/// One row of the plan and of the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub kind: &'static str,
    pub target: String,
    pub python: String,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run these in order; the `bool` marks a command whose failure is only reported.
    Run(Vec<(Cmd, bool)>),
    /// Cannot run here: why, and the commands that would make it possible.
    Skip {
        reason: String,
        install: Vec<String>,
    },
    /// Fails without running: why (a required tool is missing).
    Fail(String),
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok,
    Failed(String),
    Skipped(usize),
    NotRun,
}

/// The command.
pub fn run(args: &[String]) -> Result<(), String> {
    let opts = parse(args)?;
    let mut notes: Vec<String> = Vec::new();
    if !opts.dry_run && !opts.no_setup {
        println!("cargo xtask test: installing what the suite needs (cargo xtask setup)...");
        for n in crate::setup::ensure().notes {
            notes.push(format!("setup: {n}"));
        }
    }
    let host = util::host_triple();
    let env = Env::from_process();
    println!("cargo xtask test: surveying the Pythons on this machine...");
    let survey = candidates::survey(&env, &Target::from_triple(&host, &host));
    let suite = Suite::of_workspace()?;
    let mut steps = plan(&opts, &host, &survey, &suite);

    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| util::workspace_root().join("target").display().to_string());
    println!(
        "\nOn the default Python: `cargo test --workspace` (everything: unit, integration, doc \
         and compile-fail tests).\nOn every other Python: the members that link Python ({}), \
         as `cargo test {}`.\n  Left out there: {}.\n  Why: compile-fail tests check type errors \
         and doc tests the API's spelling; neither depends on the Python version, and each \
         costs a rustc run per case per Python. The unit and integration tests are what calls \
         into the interpreter.\nOne target directory for all ({target_dir}): only the members \
         that link Python are rebuilt when it changes.\n",
        suite.packages.join(", "),
        suite.args().join(" "),
        suite.excluded.join("; "),
    );

    if opts.dry_run {
        for (i, s) in steps.iter().enumerate() {
            println!(
                "[{}/{}] {} {} {}",
                i + 1,
                steps.len(),
                s.kind,
                s.target,
                s.python
            );
            match &s.action {
                Action::Run(cmds) => {
                    for (c, optional) in cmds {
                        let note = if *optional {
                            "   (failure only reported)"
                        } else {
                            ""
                        };
                        println!("    $ {c}{note}");
                    }
                }
                Action::Skip { reason, install } => {
                    println!("    skipped: {reason}");
                    for i in install {
                        println!("    install: {i}");
                    }
                }
                Action::Fail(why) => println!("    fails: {why}"),
            }
        }
        return Ok(());
    }

    // The legs in the Debian unstable root need its mounts.
    if steps
        .iter()
        .any(|s| s.kind == "unstable" && matches!(s.action, Action::Run(_)))
    {
        if let Err(e) = crate::sid::mount() {
            for s in steps.iter_mut().filter(|s| s.kind == "unstable") {
                s.action = Action::Fail(format!("cannot mount into the Debian unstable root: {e}"));
            }
        }
    }

    let mut results: Vec<(Outcome, Duration)> = Vec::new();
    let mut stop = false;
    let total = Instant::now();
    for (i, s) in steps.iter().enumerate() {
        let start = Instant::now();
        let outcome = if stop {
            Outcome::NotRun
        } else {
            match &s.action {
                Action::Skip { reason, install } => {
                    let mut note = reason.clone();
                    if !install.is_empty() {
                        note.push_str(&format!(
                            "\n    install: {}",
                            install.join("\n    install: ")
                        ));
                    }
                    notes.push(format!("{} {}: {note}", s.kind, s.target));
                    Outcome::Skipped(notes.len())
                }
                Action::Fail(why) => Outcome::Failed(why.clone()),
                Action::Run(cmds) => {
                    println!(
                        "\n==> [{}/{}] {} | {} | {}",
                        i + 1,
                        steps.len(),
                        s.kind,
                        s.target,
                        s.python
                    );
                    let mut outcome = Outcome::Ok;
                    for (cmd, optional) in cmds {
                        let left = opts.timeout.saturating_sub(start.elapsed());
                        match run::run(cmd, Some(left)) {
                            Ended::Ok => {}
                            Ended::Failed(why) if *optional => {
                                println!("(this part only reports: {why})")
                            }
                            Ended::Failed(why) => {
                                outcome = Outcome::Failed(why);
                                break;
                            }
                            Ended::TimedOut(_) => {
                                outcome = Outcome::Failed(format!(
                                    "timed out after {}",
                                    util::fmt_duration(opts.timeout)
                                ));
                                break;
                            }
                        }
                    }
                    outcome
                }
            }
        };
        let took = start.elapsed();
        if let Action::Run(_) = &s.action {
            if outcome != Outcome::NotRun {
                println!(
                    "<== {} {} {}: {} in {}",
                    s.kind,
                    s.target,
                    s.python,
                    describe(&outcome),
                    util::fmt_duration(took)
                );
            }
        }
        if matches!(outcome, Outcome::Failed(_)) && opts.fail_fast {
            stop = true;
        }
        results.push((outcome, took));
    }

    let mut rows = vec![vec![
        "step".to_owned(),
        "target".to_owned(),
        "Python".to_owned(),
        "result".to_owned(),
        "time".to_owned(),
    ]];
    for (s, (o, t)) in steps.iter().zip(&results) {
        let time = match o {
            Outcome::Ok | Outcome::Failed(_) => util::fmt_duration(*t),
            _ => "-".into(),
        };
        rows.push(vec![
            s.kind.to_owned(),
            s.target.clone(),
            s.python.clone(),
            describe(o),
            time,
        ]);
    }
    let failed = results
        .iter()
        .filter(|(o, _)| matches!(o, Outcome::Failed(_)))
        .count();
    let passed = results.iter().filter(|(o, _)| *o == Outcome::Ok).count();
    let skipped = results
        .iter()
        .filter(|(o, _)| matches!(o, Outcome::Skipped(_)))
        .count();
    println!("\n==================== cargo xtask test: summary ====================");
    print!("{}", util::table(&rows));
    for (i, n) in notes.iter().enumerate() {
        println!("[{}] {n}", i + 1);
    }
    println!(
        "{passed} passed, {failed} failed, {skipped} skipped, in {}",
        util::fmt_duration(total.elapsed())
    );
    if failed > 0 {
        Err(format!("{failed} step(s) failed"))
    } else {
        Ok(())
    }
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Ok => "ok".into(),
        Outcome::Failed(why) => format!("FAILED ({why})"),
        Outcome::Skipped(n) => format!("skipped [{n}]"),
        Outcome::NotRun => "not run (--fail-fast)".into(),
    }
}
