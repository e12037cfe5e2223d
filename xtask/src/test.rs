//! `cargo xtask test`: the full suite. fmt, clippy, the pre-generated bindings, the workspace
//! tests on the default Python, the Python-dependent tests again on every other CPython found,
//! and the cross targets under qemu; then one summary table. Exits non-zero when anything
//! failed; what cannot run here is reported as skipped, with the command that installs it.

use std::time::{Duration, Instant};

use cargo_pyhost::candidates::{self, Candidate, Selector, Survey};
use cargo_pyhost::cross::{CROSS_TARGETS, CrossTarget, Status};
use pyhost_build::{Env, Resolved, Target};

use crate::run::{self, Cmd, Ended};
use crate::util;
use crate::workspace::Suite;

const USAGE: &str = "\
usage: cargo xtask test [--dry-run] [--no-setup] [--fail-fast] [--skip <steps>] [--timeout <minutes>]

  --dry-run           print the plan (every command, with its variables) and stop
  --no-setup          do not install anything first (`cargo xtask setup` does it otherwise)
  --fail-fast         stop at the first failure (the rest is reported as not run)
  --skip <steps>      comma-separated: fmt, clippy, bindings, test, matrix, unstable, cross,
                      readme, downstream (reported as skipped in the summary)
  --timeout <min>     kill a step that runs longer than this (default 20)
";

/// The kinds of step, in the order they run.
pub const KINDS: [&str; 9] = [
    "fmt",
    "clippy",
    "bindings",
    "test",
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

/// A Python to run the test suite on, as the plan needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonRun {
    /// `3.9.18 (pyenv 3.9.18)`.
    pub label: String,
    pub selector: Selector,
    pub default: bool,
    /// Why it cannot be used (unsupported, broken install).
    pub unusable: Option<String>,
}

impl PythonRun {
    fn from_candidate(c: &Candidate) -> PythonRun {
        let version = c
            .version()
            .map(|v| v.to_string())
            .unwrap_or_else(|| "?".into());
        PythonRun {
            label: format!("{version} ({})", c.label),
            selector: c.selectors.first().cloned().unwrap_or_default(),
            default: c.default,
            unusable: match &c.resolved {
                Ok(_) => None,
                Err(e) if c.unsupported() => Some(format!(
                    "unsupported: {}",
                    e.to_string().lines().next().unwrap_or_default()
                )),
                Err(e) => Some(e.to_string().lines().next().unwrap_or_default().to_owned()),
            },
        }
    }
}

/// `3.11.2 (pkg-config python3-embed)`.
pub fn python_label(r: &Resolved) -> String {
    let source = match &r.config.source {
        pyhost_build::Source::PkgConfig { package, .. } => format!("pkg-config {package}"),
        other => other.to_string(),
    };
    format!("{} ({source})", r.config.version)
}

/// The steps for the default Python: `cargo test --workspace` (everything, doc tests and
/// compile-fail tests included).
pub fn plan_default(host: &str, default: &Result<Resolved, pyhost_build::Error>) -> Step {
    Step {
        kind: "test",
        target: host.to_owned(),
        python: match default {
            Ok(r) => format!("{}, default", python_label(r)),
            Err(_) => "none found".into(),
        },
        action: Action::Run(vec![(
            Cmd::cargo(&["test", "--workspace", "--no-fail-fast"]),
            false,
        )]),
    }
}

/// One step per other Python: the Python-dependent suite, with the variables that select it.
pub fn plan_matrix(host: &str, pythons: &[PythonRun], suite: &Suite) -> Vec<Step> {
    let mut args = vec!["test".to_owned(), "--no-fail-fast".to_owned()];
    args.extend(suite.args());
    pythons
        .iter()
        .filter(|p| !p.default)
        .map(|p| Step {
            kind: "matrix",
            target: host.to_owned(),
            python: format!("{}; pre-generated bindings", p.label),
            action: match &p.unusable {
                Some(why) => Action::Skip {
                    reason: why.clone(),
                    install: Vec::new(),
                },
                // The pre-generated file is tested on the versions it was generated from; the
                // default leg and the unstable root's use bindgen.
                None => Action::Run(vec![(
                    Cmd::cargo(&args).envs(p.selector.clone()).envs([(
                        "PYHOST_BINDINGS".to_owned(),
                        Some("pre-generated".to_owned()),
                    )]),
                    false,
                )]),
            },
        })
        .collect()
}

/// One leg in the Debian unstable root (`crate::sid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnstableLeg {
    /// `3.14`, or `3.14d` for the debug build.
    pub python: &'static str,
    /// The variables that select the Python and the bindings.
    pub vars: &'static [(&'static str, &'static str)],
    /// What the leg shows, for the summary.
    pub note: &'static str,
    /// Runs everything `cargo test --workspace` runs (doc and compile-fail tests, the
    /// datadog-checks-base venv), not only the Python-dependent suite.
    pub full: bool,
}

/// CPython 3.14 and 3.15 and their debug builds. Between them the legs use the pre-generated
/// bindings (3.14) and bindgen alone, with the pre-generated file forbidden (3.15): a new
/// CPython needs no entry in it.
pub const UNSTABLE_LEGS: &[UnstableLeg] = &[
    UnstableLeg {
        python: "3.14",
        vars: &[
            ("PYHOST_PYTHON_VERSION", "3.14"),
            ("PYHOST_BINDINGS", "pre-generated"),
        ],
        note: "pre-generated bindings, the whole workspace",
        full: true,
    },
    UnstableLeg {
        python: "3.15",
        vars: &[
            ("PYHOST_PYTHON_VERSION", "3.15"),
            ("PYHOST_BINDINGS", "bindgen"),
        ],
        note: "bindgen only, the pre-generated file forbidden",
        full: false,
    },
    UnstableLeg {
        python: "3.14d",
        vars: &[("PYHOST_PYTHON_VERSION", "3.14d")],
        note: "debug build, reference total measured",
        full: false,
    },
    UnstableLeg {
        python: "3.15d",
        vars: &[("PYHOST_PYTHON_VERSION", "3.15d")],
        note: "debug build, reference total measured",
        full: false,
    },
];

/// The steps in the Debian unstable root: skipped, with the command that makes it, when it
/// is not ready.
pub fn plan_unstable(host: &str, ready: &Result<(), String>, suite: &Suite) -> Vec<Step> {
    UNSTABLE_LEGS
        .iter()
        .map(|leg| {
            let minor: u8 = leg
                .python
                .trim_end_matches('d')
                .trim_start_matches("3.")
                .parse()
                .unwrap_or(0);
            let version = crate::sid::version(minor).unwrap_or_else(|| leg.python.to_owned());
            let debug = if leg.python.ends_with('d') { "d" } else { "" };
            let mut args = vec!["test".to_owned(), "--no-fail-fast".to_owned()];
            if leg.full {
                // The benchmarks build PyO3, which wants a `python3`: `cargo xtask bench` runs
                // them on the default Python.
                args.extend(["--workspace", "--exclude", "pyhost-benches"].map(String::from));
            } else {
                args.extend(suite.args());
            }
            Step {
                kind: "unstable",
                target: host.to_owned(),
                python: format!("{version}{debug} (Debian unstable; {})", leg.note),
                action: match ready {
                    Ok(()) => Action::Run(vec![(crate::sid::cmd(leg.vars, "cargo", &args), false)]),
                    Err(why) => Action::Skip {
                        reason: why.clone(),
                        install: vec![crate::sid::make_command()],
                    },
                },
            }
        })
        .collect()
}

/// The step of one cross target: skipped with the install commands when a piece is missing,
/// else the suite under qemu and the run that shows the machine.
pub fn plan_cross(
    t: &CrossTarget,
    multiarch_libc: bool,
    statuses: &[Status],
    python: &str,
    suite: &Suite,
) -> Step {
    let missing: Vec<&Status> = statuses.iter().filter(|s| s.found.is_err()).collect();
    let action = if missing.is_empty() {
        let mut args = vec!["--no-fail-fast".to_owned()];
        args.extend(suite.args());
        let mut cmds = vec![(
            Cmd::from(t.cargo_with(multiarch_libc, "test", &args)),
            false,
        )];
        if let Some(show) = crate::cross::show_command(t, multiarch_libc, Some(suite)) {
            cmds.push((show, true));
        }
        for (c, _) in &mut cmds {
            crate::cross::keep_user_vars(c);
        }
        Action::Run(cmds)
    } else {
        Action::Skip {
            reason: format!(
                "missing {}",
                missing
                    .iter()
                    .map(|s| s.requirement.what.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            install: missing
                .iter()
                .map(|s| s.requirement.install.clone())
                .collect(),
        }
    };
    Step {
        kind: "cross",
        target: t.triple.to_owned(),
        python: python.to_owned(),
        action,
    }
}

/// The commands README.md shows, run as a reader would: the agent's main job, the guide's
/// program, `cargo pyhost doctor`, and the guide's cross build under qemu when the aarch64
/// toolchain is there (`cargo pyhost` as `cargo run -p cargo-pyhost -- pyhost`, what an
/// installed one runs).
pub fn plan_readme(host: &str, aarch64_ready: bool) -> Step {
    let pyhost = |rest: &[&str]| {
        let mut a = vec!["run", "-q", "-p", "cargo-pyhost", "--", "pyhost"];
        a.extend_from_slice(rest);
        (Cmd::cargo(&a), false)
    };
    let mut cmds = vec![
        (
            Cmd::cargo(&["run", "-q", "-p", "pyhost-agent", "--", "--once"]),
            false,
        ),
        (Cmd::cargo(&["run", "-q", "-p", "hello-embed"]), false),
        pyhost(&["doctor"]),
    ];
    if aarch64_ready {
        cmds.push(pyhost(&[
            "cross",
            "--target",
            "aarch64-unknown-linux-gnu",
            "--run",
            "--",
            "-p",
            "hello-embed",
        ]));
    }
    Step {
        kind: "readme",
        target: host.to_owned(),
        python: "default".into(),
        action: Action::Run(cmds),
    }
}

/// A crate outside the workspace, as README tells a new user to make one: built and run on
/// the host, and for aarch64 under qemu through `cargo pyhost cross` when that toolchain is
/// there (`cargo xtask downstream`).
pub fn plan_downstream(host: &str, xtask: &str, aarch64_ready: bool) -> Step {
    let run = |args: &[&str]| {
        (
            Cmd {
                program: xtask.to_owned(),
                args: args.iter().map(|a| (*a).to_owned()).collect(),
                env: Vec::new(),
            },
            false,
        )
    };
    let mut cmds = vec![run(&["downstream"])];
    if aarch64_ready {
        cmds.push(run(&["downstream", "--cross", "aarch64-unknown-linux-gnu"]));
    }
    Step {
        kind: "downstream",
        target: host.to_owned(),
        python: "default".into(),
        action: Action::Run(cmds),
    }
}

fn tool_step(kind: &'static str, component: &str, check: &[&str], args: &[&str]) -> Step {
    let present = Cmd::cargo(check)
        .command()
        .output()
        .is_ok_and(|o| o.status.success());
    Step {
        kind,
        target: "-".into(),
        python: "-".into(),
        action: if present {
            Action::Run(vec![(Cmd::cargo(args), false)])
        } else {
            Action::Fail(format!(
                "{component} is not installed: rustup component add {component}"
            ))
        },
    }
}

/// Everything, in order.
fn plan(opts: &Options, host: &str, survey: &Survey, suite: &Suite) -> Vec<Step> {
    let env = Env::from_process();
    let mut steps = vec![
        tool_step(
            "fmt",
            "rustfmt",
            &["fmt", "--version"],
            &["fmt", "--all", "--check"],
        ),
        tool_step(
            "clippy",
            "clippy",
            &["clippy", "--version"],
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
    ];
    if let Some(s) = steps.get_mut(1) {
        s.target = host.to_owned();
        s.python = "default".into();
    }
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "xtask".into());
    steps.push(Step {
        kind: "bindings",
        target: pyhost_build::fallback::TARGETS
            .iter()
            .map(|t| t.split('-').next().unwrap_or(t))
            .collect::<Vec<_>>()
            .join(" + "),
        python: format!(
            "3.{}-3.{} headers",
            pyhost_build::MIN_MINOR,
            pyhost_build::MAX_TESTED_MINOR
        ),
        action: match crate::sid::ready() {
            Ok(()) => Action::Run(vec![(
                Cmd {
                    program: exe.clone(),
                    args: vec!["bindings".into(), "--check".into()],
                    env: Vec::new(),
                },
                false,
            )]),
            // 3.14's and 3.15's headers come from the root.
            Err(why) => Action::Skip {
                reason: why,
                install: vec![crate::sid::make_command()],
            },
        },
    });
    steps.push(plan_default(host, &survey.default));
    let pythons: Vec<PythonRun> = survey
        .candidates
        .iter()
        .map(PythonRun::from_candidate)
        .collect();
    steps.extend(plan_matrix(host, &pythons, suite));
    steps.extend(plan_unstable(host, &crate::sid::ready(), suite));
    for t in CROSS_TARGETS {
        let statuses = t.check_all(&env, host, cargo_pyhost::cross::Needs::ALL);
        let python = t
            .resolve_python(&env, host)
            .map(|r| python_label(&r))
            .unwrap_or_else(|_| "-".into());
        steps.push(plan_cross(
            t,
            t.multiarch_libc_installed(),
            &statuses,
            &python,
            suite,
        ));
    }
    let aarch64_ready = steps.iter().any(|s| {
        s.kind == "cross"
            && s.target == "aarch64-unknown-linux-gnu"
            && matches!(s.action, Action::Run(_))
    });
    steps.push(plan_readme(host, aarch64_ready));
    steps.push(plan_downstream(host, &exe, aarch64_ready));
    for s in &mut steps {
        if opts.skip.iter().any(|k| k == s.kind) {
            s.action = Action::Skip {
                reason: format!("--skip {}", s.kind),
                install: Vec::new(),
            };
        }
    }
    steps
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

#[cfg(test)]
mod tests {
    use super::*;
    use cargo_pyhost::cross::Requirement;

    const HOST: &str = "x86_64-unknown-linux-gnu";

    fn suite() -> Suite {
        Suite {
            packages: vec!["pyhost-sys".into(), "pyhost".into()],
            lib: true,
            tests: vec!["raw".into()],
            ..Suite::default()
        }
    }

    #[test]
    fn options() {
        let o = parse(&[
            "--skip".into(),
            "fmt,cross".into(),
            "--timeout".into(),
            "5".into(),
        ])
        .unwrap();
        assert_eq!(o.skip, ["fmt", "cross"]);
        assert_eq!(o.timeout, Duration::from_secs(300));
        assert!(parse(&["--skip".into(), "docs".into()]).is_err());
    }

    #[test]
    fn matrix_skips_the_default_and_reports_unusable_pythons() {
        let pythons = [
            PythonRun {
                label: "3.11.2 (pkg-config python3-embed)".into(),
                selector: vec![],
                default: true,
                unusable: None,
            },
            PythonRun {
                label: "3.9.18 (pyenv 3.9.18)".into(),
                selector: vec![
                    ("PYHOST_CONFIG_FILE".into(), None),
                    (
                        "PYHOST_PYTHON".into(),
                        Some("/py/3.9.18/bin/python3.9".into()),
                    ),
                ],
                default: false,
                unusable: None,
            },
            PythonRun {
                label: "3.7.17 (pyenv 3.7.17)".into(),
                selector: vec![],
                default: false,
                unusable: Some("unsupported: needs 3.8".into()),
            },
        ];
        let steps = plan_matrix(HOST, &pythons, &suite());
        assert_eq!(steps.len(), 2);
        let Action::Run(cmds) = &steps[0].action else {
            panic!("{:?}", steps[0]);
        };
        assert_eq!(
            cmds[0].0.args,
            [
                "test",
                "--no-fail-fast",
                "-p",
                "pyhost-sys",
                "-p",
                "pyhost",
                "--lib",
                "--test",
                "raw"
            ]
        );
        assert_eq!(
            cmds[0].0.env,
            [
                ("PYHOST_CONFIG_FILE".to_owned(), None),
                (
                    "PYHOST_PYTHON".to_owned(),
                    Some("/py/3.9.18/bin/python3.9".to_owned())
                ),
                (
                    "PYHOST_BINDINGS".to_owned(),
                    Some("pre-generated".to_owned())
                )
            ]
        );
        assert_eq!(
            steps[1].action,
            Action::Skip {
                reason: "unsupported: needs 3.8".into(),
                install: vec![]
            }
        );
    }

    fn status(t: &CrossTarget, ok: [bool; 5]) -> Vec<Status> {
        t.requirements(None)
            .into_iter()
            .zip(ok)
            .map(|(requirement, ok): (Requirement, bool)| Status {
                requirement,
                found: if ok {
                    Ok("here".into())
                } else {
                    Err("no".into())
                },
            })
            .collect()
    }

    #[test]
    fn unstable_legs_run_in_the_root_or_say_how_to_make_it() {
        let steps = plan_unstable(HOST, &Err("no root".into()), &suite());
        assert_eq!(steps.len(), UNSTABLE_LEGS.len());
        let Action::Skip { reason, install } = &steps[0].action else {
            panic!("{:?}", steps[0]);
        };
        assert_eq!(reason, "no root");
        assert!(
            install[0].contains("debootstrap --variant=minbase"),
            "{install:?}"
        );
        let steps = plan_unstable(HOST, &Ok(()), &suite());
        let lines: Vec<String> = steps
            .iter()
            .map(|s| match &s.action {
                Action::Run(cmds) => cmds[0].0.args.join(" "),
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(lines[0].contains("PYHOST_PYTHON_VERSION=3.14 PYHOST_BINDINGS=pre-generated cargo test --no-fail-fast --workspace --exclude pyhost-benches"), "{}", lines[0]);
        assert!(lines[1].contains("PYHOST_PYTHON_VERSION=3.15 PYHOST_BINDINGS=bindgen cargo test --no-fail-fast -p pyhost-sys -p pyhost --lib --test raw"), "{}", lines[1]);
        assert!(lines[2].contains("PYHOST_PYTHON_VERSION=3.14d cargo test"));
        assert!(lines[3].contains("PYHOST_PYTHON_VERSION=3.15d cargo test"));
        assert!(lines.iter().all(|l| l.contains(" /usr/bin/env -i -C ")));
    }

    #[test]
    fn cross_is_skipped_with_the_install_commands_of_what_is_missing() {
        let t = CrossTarget::find("armv7-unknown-linux-gnueabihf").unwrap();
        let step = plan_cross(
            t,
            false,
            &status(t, [true, false, false, true, true]),
            "-",
            &suite(),
        );
        assert_eq!(
            step.action,
            Action::Skip {
                reason: "missing the cross C compiler arm-linux-gnueabihf-gcc; the target's \
                         libpython and headers (libpython3-dev:armhf)"
                    .into(),
                install: vec![
                    "apt-get install gcc-arm-linux-gnueabihf".into(),
                    "dpkg --add-architecture armhf && apt-get update && apt-get install \
                     libpython3-dev:armhf"
                        .into()
                ]
            }
        );
    }

    #[test]
    fn cross_runs_the_suite_then_shows_the_machine() {
        let t = CrossTarget::find("aarch64-unknown-linux-gnu").unwrap();
        let step = plan_cross(t, true, &status(t, [true; 5]), "3.11.2", &suite());
        let Action::Run(cmds) = &step.action else {
            panic!("{step:?}");
        };
        assert_eq!(cmds.len(), 2);
        assert_eq!(
            cmds[0].0.to_string(),
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
             CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=qemu-aarch64 \
             CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
             AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
             PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig \
             PKG_CONFIG_ALLOW_CROSS_aarch64_unknown_linux_gnu=1 \
             BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu=--target=aarch64-unknown-linux-gnu \
             cargo test --target aarch64-unknown-linux-gnu --no-fail-fast -p pyhost-sys -p pyhost \
             --lib --test raw"
        );
        assert!(!cmds[0].1 && cmds[1].1, "the show run only reports");
    }

    #[test]
    fn readme_commands_include_the_cross_run_only_when_aarch64_is_ready() {
        let lines = |step: &Step| -> Vec<String> {
            let Action::Run(cmds) = &step.action else {
                panic!("{step:?}")
            };
            cmds.iter().map(|(c, _)| c.args.join(" ")).collect()
        };
        let without = plan_readme("x86_64-unknown-linux-gnu", false);
        assert_eq!(
            lines(&without),
            [
                "run -q -p pyhost-agent -- --once",
                "run -q -p hello-embed",
                "run -q -p cargo-pyhost -- pyhost doctor"
            ]
        );
        let with = plan_readme("x86_64-unknown-linux-gnu", true);
        assert_eq!(
            lines(&with)[3],
            "run -q -p cargo-pyhost -- pyhost cross --target aarch64-unknown-linux-gnu --run \
             -- -p hello-embed"
        );
        let down = plan_downstream("x86_64-unknown-linux-gnu", "/x/xtask", true);
        assert_eq!(
            lines(&down),
            ["downstream", "downstream --cross aarch64-unknown-linux-gnu"]
        );
        assert_eq!(
            lines(&plan_downstream("h", "/x/xtask", false)),
            ["downstream"]
        );
    }
}
