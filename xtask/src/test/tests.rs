//! Tests of the plan and its parsing.

use super::*;
use cargo_pyhost::cross::{CrossTarget, Requirement, Status};

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
