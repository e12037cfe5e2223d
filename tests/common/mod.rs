//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The variable that tells a re-executed test binary which test it runs as a child.
const CHILD: &str = "PYHOST_TEST_CHILD";

/// Whether this process is the child run of test `name`.
pub fn is_child(name: &str) -> bool {
    std::env::var(CHILD).as_deref() == Ok(name)
}

/// Runs test `name` of this test binary in a fresh process (for tests that need their own
/// interpreter), with extra environment variables, and returns its output.
pub fn run_child(name: &str, envs: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("running the test binary again")
}

/// [`run_child`], killed when it has not ended within `limit`: returns its output (as far as
/// it got) and whether it ended by itself.
pub fn run_child_within(
    name: &str,
    envs: &[(&str, &str)],
    limit: std::time::Duration,
) -> (Output, bool) {
    let dir = TempDir::new(&format!("child-{name}"));
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut cmd = Command::new(std::env::current_exe().expect("test binary path"));
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("running the test binary again");
    let start = std::time::Instant::now();
    let (status, ended) = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break (status, true);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            break (child.wait().unwrap(), false);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let out = Output {
        status,
        stdout: std::fs::read(&out_path).unwrap_or_default(),
        stderr: std::fs::read(&err_path).unwrap_or_default(),
    };
    (out, ended)
}

/// Asserts that a child run succeeded, showing its output otherwise.
pub fn assert_child_ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stdout
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "pyhost-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Resident set size of this process in bytes (Linux).
pub fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// The executable of the Python this binary links, when it is where its prefix says.
pub fn linked_python() -> Option<PathBuf> {
    let info = pyhost::ffi::build_info::BUILD_CONFIG;
    let version = pyhost::ffi::build_info::PYTHON_VERSION;
    let minor: Vec<&str> = version.split('.').take(2).collect();
    let debug = if info.contains("debug=true") { "d" } else { "" };
    let exe = Path::new(pyhost::ffi::build_info::PREFIX)
        .join("bin")
        .join(format!("python{}{debug}", minor.join(".")));
    exe.is_file().then_some(exe)
}

/// A venv of the linked Python with `packages` from PyPI (binary wheels only), kept under the
/// target directory (`tag` names it) and made again only when an import fails; the reason
/// when it cannot be had (no wheel for this Python, no network).
pub fn venv_with(tag: &str, packages: &[&str]) -> Result<PathBuf, String> {
    // The tests of one binary run on threads: one makes the venv, the others wait for it.
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let python = linked_python().ok_or("the linked Python's executable is not installed")?;
    // Cross-compiled (the aarch64 leg under qemu), the executable at the linked Python's
    // prefix is the build machine's: its wheels would not load here.
    let machine = Command::new(&python)
        .args(["-c", "import platform; print(platform.machine())"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    if machine != std::env::consts::ARCH {
        return Err(format!(
            "{} runs on {machine}, this test on {}: no wheels for this machine to be had",
            python.display(),
            std::env::consts::ARCH
        ));
    }
    let exe = python.file_name().unwrap_or_default().to_string_lossy();
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{tag}-venv-{exe}-{}",
        pyhost::ffi::build_info::PYTHON_VERSION
    ));
    let vpython = venv.join("bin").join("python");
    let imports = format!("import {}", packages.join(", "));
    let ready = || {
        Command::new(&vpython)
            .args(["-c", &imports])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ready() {
        return Ok(venv);
    }
    let _ = std::fs::remove_dir_all(&venv);
    let run = |cmd: &mut Command, what: &str| -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("{what}: {}", String::from_utf8_lossy(&out.stderr)))
        }
    };
    run(
        Command::new(&python).args(["-m", "venv"]).arg(&venv),
        "python -m venv",
    )?;
    run(
        Command::new(&vpython)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--only-binary=:all:",
            ])
            .args(packages),
        &format!("pip install {} (binary wheels only)", packages.join(" ")),
    )?;
    if ready() {
        Ok(venv)
    } else {
        Err(format!("{imports} fails in {}", venv.display()))
    }
}
