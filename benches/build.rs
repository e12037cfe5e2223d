//! Re-emits the Python configuration pyhost-sys resolved (rpath to a non-system libpython,
//! `py_3_N` cfgs) and records which Python that was, so the binary can report it and check
//! that PyO3 linked the same one.
fn main() {
    pyhost_build::dependent::emit();
    let env = pyhost_build::Env::from_process();
    if let Some(Ok(dep)) = pyhost_build::dependent::read(&env) {
        let exe = dep
            .config
            .executable
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        println!("cargo:rustc-env=PYHOST_BENCH_PYTHON_EXECUTABLE={exe}");
    } else {
        println!("cargo:rustc-env=PYHOST_BENCH_PYTHON_EXECUTABLE=");
    }
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
}
