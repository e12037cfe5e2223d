//! The cold build time of a "hello embed" binary, three ways.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::util;

use super::{locked_version, status, target_dir};

// ---------------------------------------------------------------------------------------------
// Cold build times

/// The label of pyhost with its default features (macros; pre-generated bindings).
pub const DEFAULT_PYHOST: &str = "pyhost, default features (macros, pre-generated bindings)";
/// The label of PyO3 with its default features.
pub const DEFAULT_PYO3: &str = "PyO3, default features (macros)";

/// Builds a "hello embed" binary several ways, each in a fresh target directory, and returns
/// the wall time of `cargo build --release`.
pub(super) fn build_times(python: &Path) -> Result<Vec<(String, f64)>, String> {
    let root = util::workspace_root();
    let base = target_dir().join("bench-hello");
    let _ = std::fs::remove_dir_all(&base);
    let pyhost_main = "fn main() {\n    pyhost::initialize().expect(\"starting Python\");\n    \
                       pyhost::with_gil(|py| py.exec(\"print('hello from Python', flush=True)\"))\n        \
                       .expect(\"running Python\");\n}\n";
    let pyo3_main = "fn main() {\n    pyo3::Python::initialize();\n    \
                     pyo3::Python::attach(|py| py.run(c\"print('hello from Python', flush=True)\", None, None))\n        \
                     .expect(\"running Python\");\n}\n";
    let pyhost_dep = |features: &str| {
        format!(
            "pyhost = {{ path = {:?}, default-features = false{features} }}",
            root.display().to_string()
        )
    };
    let pyo3_version = locked_version(
        &std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default(),
        "pyo3",
    )
    .unwrap_or_else(|| "0.30".into());
    let pyo3_dep = |features: &str| format!("pyo3 = {{ version = \"={pyo3_version}\"{features} }}");
    let variants = [
        (
            DEFAULT_PYHOST,
            "pyhost-default",
            format!("pyhost = {{ path = {:?} }}", root.display().to_string()),
            pyhost_main,
        ),
        (DEFAULT_PYO3, "pyo3-default", pyo3_dep(""), pyo3_main),
        (
            "pyhost, no default features (pre-generated bindings, no macros)",
            "pyhost-pregenerated",
            pyhost_dep(""),
            pyhost_main,
        ),
        (
            "pyhost, bindgen feature, no macros",
            "pyhost-bindgen",
            pyhost_dep(", features = [\"bindgen\"]"),
            pyhost_main,
        ),
        (
            "PyO3, no default features",
            "pyo3",
            pyo3_dep(", default-features = false"),
            pyo3_main,
        ),
    ];
    let mut out = Vec::new();
    for (label, name, dep, main) in variants {
        let dir = base.join(name);
        std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
        let manifest = format!(
            "[package]\nname = \"hello-embed-{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
             publish = false\n\n[dependencies]\n{dep}\n\n[workspace]\n"
        );
        std::fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("src/main.rs"), main).map_err(|e| e.to_string())?;
        // The workspace's lock file, so the same dependency versions are built.
        let _ = std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"));
        eprintln!("bench: cold build of {label}");
        let t = Instant::now();
        let mut cmd = Command::new(util::cargo());
        cmd.args(["build", "--release", "--quiet"])
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .env("PYO3_PYTHON", python)
            .env_remove("RUSTC_WRAPPER");
        status(&mut cmd, &format!("cold build of {label}"))?;
        let secs = t.elapsed().as_secs_f64();
        let exe = dir
            .join("target/release")
            .join(format!("hello-embed-{name}"));
        let ran = Command::new(&exe)
            .output()
            .map_err(|e| format!("running {}: {e}", exe.display()))?;
        if !String::from_utf8_lossy(&ran.stdout).contains("hello from Python") {
            return Err(format!("{} did not print its greeting", exe.display()));
        }
        out.push((label.to_owned(), secs));
    }
    Ok(out)
}
