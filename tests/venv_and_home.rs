//! Virtual environments and the Python home, each in its own process.

mod common;

use std::process::Command;

use common::{TempDir, assert_child_ok, is_child, run_child};
use pyhost::Error;

#[test]
fn venv_with_a_pip_installed_package_is_importable() {
    if is_child("venv_with_a_pip_installed_package_is_importable") {
        let venv = std::env::var("TEST_VENV").unwrap();
        pyhost::Interpreter::builder().venv(&venv).start().unwrap();
        let (file, prefix, exe) = pyhost::with_gil(|py| {
            let six = py.import("six")?;
            let sys = py.import("sys")?;
            Ok((
                six.filename()?.unwrap(),
                sys.getattr("prefix")?.extract::<String>()?,
                sys.getattr("executable")?.extract::<String>()?,
            ))
        })
        .unwrap();
        println!("SIX={file}\nPREFIX={prefix}\nEXE={exe}");
        pyhost::with_gil(|py| py.exec(VENV_REPORT)).unwrap();
        return;
    }
    // The venv is made by the interpreter of the Python this test links.
    pyhost::initialize_once().unwrap();
    let python: String =
        pyhost::with_gil(|py| py.import("sys")?.getattr("executable")?.extract()).unwrap();
    let dir = TempDir::new("venv");
    let venv = dir.path().join("env");
    let status = Command::new(&python)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "{python} -m venv failed (Debian: apt-get install python3-venv)"
    );
    let pip = Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "six",
        ])
        .output()
        .unwrap();
    assert!(
        pip.status.success(),
        "pip install six: {}",
        String::from_utf8_lossy(&pip.stderr)
    );
    let out = assert_child_ok(&run_child(
        "venv_with_a_pip_installed_package_is_importable",
        &[("TEST_VENV", venv.to_str().unwrap())],
    ));
    let venv = venv.display().to_string();
    assert!(out.contains(&format!("SIX={venv}/lib/python")), "{out}");
    assert!(out.contains(&format!("PREFIX={venv}\n")), "{out}");
    assert!(out.contains(&format!("EXE={venv}/bin/python")), "{out}");
    // What the venv's own python reports: prefixes, the base interpreter a venv made from
    // inside would use, site-packages.
    let own = Command::new(format!("{venv}/bin/python"))
        .args(["-c", VENV_REPORT])
        .output()
        .unwrap();
    let own = String::from_utf8_lossy(&own.stdout);
    let line = |s: &str| {
        s.lines()
            .find_map(|l| l.find("VENV ").map(|i| l[i..].to_owned()))
            .unwrap_or_default()
    };
    assert!(!line(&own).is_empty(), "{own}");
    assert_eq!(line(&out), line(&own), "embedded vs the venv's python");
}

/// One line: prefixes, `_base_executable`, site-packages and executable, as the venv's own
/// python reports them.
const VENV_REPORT: &str = "import json, os, site, sys\n\
    print('VENV ' + json.dumps([sys.prefix, sys.exec_prefix, sys.base_prefix, \
    os.path.realpath(getattr(sys, '_base_executable', '')), site.getsitepackages(), \
    os.path.realpath(sys.executable)]), flush=True)";

#[test]
fn venv_of_another_python_is_refused_with_the_fix() {
    if is_child("venv_of_another_python_is_refused_with_the_fix") {
        let dir = TempDir::new("oldvenv");
        dir.write("pyvenv.cfg", "home = /opt/python3.2/bin\nversion = 3.2.1\n");
        let e = pyhost::Interpreter::builder()
            .venv(dir.path())
            .start()
            .unwrap_err();
        assert!(matches!(e, Error::Venv { .. }), "{e:?}");
        println!("ERR={e}");
        // Nothing was started: the default interpreter can still start.
        pyhost::initialize().unwrap();
        return;
    }
    let out = assert_child_ok(&run_child(
        "venv_of_another_python_is_refused_with_the_fix",
        &[],
    ));
    assert!(
        out.contains("it was created by Python 3.2.1, but this program embeds Python 3."),
        "{out}"
    );
    assert!(out.contains("-m venv"), "{out}");
}

#[test]
fn missing_standard_library_is_explained() {
    if is_child("missing_standard_library_is_explained") {
        let e = pyhost::Interpreter::builder()
            .home("/nonexistent/python")
            .start()
            .unwrap_err();
        let Error::PythonHome { searched, home, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(
            home.as_deref(),
            Some(std::path::Path::new("/nonexistent/python"))
        );
        assert!(
            searched
                .iter()
                .all(|p| p.starts_with("/nonexistent/python")),
            "{searched:?}"
        );
        println!("ERR={e}");
        // The process survived and can start with a working configuration.
        pyhost::initialize().unwrap();
        let n: i32 = pyhost::with_gil(|py| py.eval("40 + 2")?.extract()).unwrap();
        assert_eq!(n, 42);
        return;
    }
    let out = assert_child_ok(&run_child("missing_standard_library_is_explained", &[]));
    assert!(out.contains("standard library was not found"), "{out}");
    assert!(out.contains("/nonexistent/python/lib/python3."), "{out}");
    assert!(out.contains("Builder::home()"), "{out}");
}
