//! The plan of `cargo xtask test`: one step per check, Python and target, each a list of
//! commands or the reason it cannot run here.

use cargo_pyhost::candidates::{Candidate, Selector, Survey};
use cargo_pyhost::cross::{CROSS_TARGETS, CrossTarget, Status};
use pyhost_build::{Env, Resolved};

use crate::run::Cmd;
use crate::workspace::Suite;

use super::{Action, Options, Step};

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

/// Whether `program args` runs and succeeds (a tool is installed).
fn runs(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A step that runs `xtask <args>` when the tool it needs is installed, and is skipped with
/// the command that installs it otherwise.
fn xtask_step(
    kind: &'static str,
    host: &str,
    python: String,
    xtask: &str,
    args: &[&str],
    tool: Result<(), (&str, &str)>,
) -> Step {
    Step {
        kind,
        target: host.to_owned(),
        python,
        action: match tool {
            Ok(()) => Action::Run(vec![(
                Cmd {
                    program: xtask.to_owned(),
                    args: args.iter().map(|a| (*a).to_owned()).collect(),
                    env: Vec::new(),
                },
                false,
            )]),
            Err((missing, install)) => Action::Skip {
                reason: format!("{missing} is not installed"),
                install: vec![install.to_owned()],
            },
        },
    }
}

/// The core test binaries under memcheck (`cargo xtask valgrind`), on the default Python.
pub fn plan_valgrind(host: &str, xtask: &str, valgrind_installed: bool) -> Step {
    xtask_step(
        "valgrind",
        host,
        "default; PYTHONMALLOC=malloc".into(),
        xtask,
        &["valgrind"],
        if valgrind_installed {
            Ok(())
        } else {
            Err(("valgrind", "apt-get install valgrind"))
        },
    )
}

/// Seconds each fuzz target runs in the suite (`cargo xtask fuzz --time` for longer runs).
pub const FUZZ_SECONDS: u64 = 20;

/// A short run of the fuzz targets (`cargo xtask fuzz`), on the default Python.
pub fn plan_fuzz(host: &str, xtask: &str, cargo_fuzz_installed: bool) -> Step {
    let seconds = FUZZ_SECONDS.to_string();
    xtask_step(
        "fuzz",
        host,
        format!("default; {FUZZ_SECONDS} s a target, AddressSanitizer"),
        xtask,
        &["fuzz", "--time", &seconds],
        if cargo_fuzz_installed {
            Ok(())
        } else {
            Err(("cargo-fuzz", "cargo install cargo-fuzz"))
        },
    )
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
pub(super) fn plan(opts: &Options, host: &str, survey: &Survey, suite: &Suite) -> Vec<Step> {
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
    steps.push(plan_valgrind(host, &exe, runs("valgrind", &["--version"])));
    steps.push(plan_fuzz(
        host,
        &exe,
        runs(&crate::util::cargo(), &["fuzz", "--version"]),
    ));
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
