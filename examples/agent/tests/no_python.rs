//! `cargo build -p pyhost-agent --no-default-features`: an agent with no Python in it, built
//! where pkg-config finds no Python, that runs its native checks and reports the Python ones as
//! unavailable.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::example_dir;

#[test]
fn the_agent_without_python_builds_without_python_and_runs_native_checks() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-python-target");
    let empty = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-python-pkgconfig");
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "pyhost-agent",
            "--no-default-features",
        ])
        .current_dir(example_dir())
        .env("CARGO_TARGET_DIR", &target_dir)
        // pkg-config finds no Python at all, and no pyhost variable points at one.
        .env("PKG_CONFIG_LIBDIR", &empty)
        .env("PKG_CONFIG_PATH", "")
        .env_remove("PYHOST_PYTHON")
        .env_remove("PYHOST_CONFIG_FILE")
        .output()
        .expect("running cargo");
    assert!(
        out.status.success(),
        "the build without Python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exe = target_dir.join("debug").join("pyhost-agent");

    // No libpython among the binary's dependencies, and no C-API symbol in it.
    let elf = std::fs::read(&exe).expect("the built agent");
    let has = |needle: &[u8]| elf.windows(needle.len()).any(|w| w == needle);
    assert!(
        !has(b"libpython3"),
        "the agent without Python links libpython"
    );
    assert!(
        !has(b"Py_InitializeFromConfig"),
        "the agent without Python contains the C API"
    );

    let run = Command::new(&exe)
        .args(["--once", "--json"])
        .current_dir(example_dir())
        .output()
        .expect("running the agent");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).expect("JSON");
    let checks = json["checks"].as_array().unwrap();
    for c in checks {
        match c["runtime"].as_str().unwrap() {
            "native" => {
                assert!(c["error"].is_null(), "{c}");
                assert!(!c["metrics"].as_array().unwrap().is_empty(), "{c}");
            }
            _ => {
                assert_eq!(c["error"]["kind"], "unavailable", "{c}");
                assert!(
                    c["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("built without Python"),
                    "{c}"
                );
            }
        }
    }
    assert!(
        checks
            .iter()
            .any(|c| c["check"] == "uptime" && c["runtime"] == "native")
    );
    assert!(
        checks
            .iter()
            .any(|c| c["check"] == "compute" && c["runtime"] == "python")
    );

    let info = Command::new(&exe).arg("--python-info").output().unwrap();
    assert!(String::from_utf8_lossy(&info.stdout).contains("built without the `python` feature"));
}
