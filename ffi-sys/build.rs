//! Build script of pyhost-sys: finds the Python (pyhost-build), produces the bindings (bindgen,
//! or the pre-generated ones after a layout check), and compiles the C shims and the wrappers
//! of the `static inline` functions.

use std::path::{Path, PathBuf};

use pyhost_build::object_model::{self, Refcnt};
use pyhost_build::{Env, PythonConfig, Resolved, bindings, fallback, layout, warning_lines};

/// How to get bindings generated from the user's headers.
const BINDGEN_FIX: &str = "install libclang (apt-get install libclang-dev) and turn on pyhost's \
                           `bindgen` feature (`pyhost = { version = \"0.1\", features = \
                           [\"bindgen\"] }`; `pyhost-sys/bindgen` when you use pyhost-sys alone)";

/// `PYHOST_BINDINGS`: where the bindings come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wanted {
    /// bindgen when the `bindgen` feature is on and libclang loads, else the pre-generated
    /// file (the default).
    Auto,
    /// bindgen or a build error: proves that nothing depends on the pre-generated file.
    Bindgen,
    /// The pre-generated file even when libclang is there.
    PreGenerated,
}

fn main() {
    let resolved = pyhost_build::configure();
    let env = Env::from_process();
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let shim_dir = root.join("shim");
    println!("cargo:rerun-if-changed={}", shim_dir.display());
    println!("cargo:rerun-if-changed={}", root.join("bindings").display());
    let target = &resolved.target;
    for var in [
        "PYHOST_BINDINGS".to_owned(),
        "LIBCLANG_PATH".to_owned(),
        "BINDGEN_EXTRA_CLANG_ARGS".to_owned(),
        format!("BINDGEN_EXTRA_CLANG_ARGS_{}", target.triple),
        format!("BINDGEN_EXTRA_CLANG_ARGS_{}", target.triple_underscored()),
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let wanted = match env.var("PYHOST_BINDINGS").as_deref() {
        None | Some("") | Some("auto") => Wanted::Auto,
        Some("bindgen") => Wanted::Bindgen,
        Some("pre-generated") => Wanted::PreGenerated,
        Some(other) => pyhost_build::fail(
            &format!(
                "PYHOST_BINDINGS={other:?} is not one of `auto` (bindgen when libclang loads, \
                 else the pre-generated bindings), `bindgen` or `pre-generated`.\n\
                 Fix: set PYHOST_BINDINGS to one of those, or unset it."
            ),
            &env,
        ),
    };

    let (generated, origin) = bindings_for(&resolved, &env, wanted, &root, &shim_dir, &out);
    write(&out.join("bindings.rs"), &generated.rust);
    emit_object_model(&resolved, &generated.rust, &out);
    let static_fns = out.join("pyhost_static_fns.c");
    write(&static_fns, &generated.static_fns_c);
    write(
        &out.join("build_info.rs"),
        &format!(
            "/// The Python version these bindings were built for.\n\
             pub const PYTHON_VERSION: &str = {:?};\n\
             /// Where the bindings came from: `bindgen` or `pre-generated`.\n\
             pub const BINDINGS_ORIGIN: &str = {:?};\n\
             /// The resolved configuration, in `PYHOST_CONFIG_FILE` format.\n\
             pub const BUILD_CONFIG: &str = {:?};\n\
             /// The installation prefix the headers belong to (`<prefix>/include/python3.X`), as\n\
             /// seen on the target: where the standard library is expected by default.\n\
             pub const PREFIX: &str = {:?};\n",
            resolved.config.version.to_string(),
            origin,
            resolved.config.to_file_format(),
            target_prefix(&resolved),
        ),
    );

    let mut cc = c_build(&resolved.config, &shim_dir);
    if !generated.static_fns_c.is_empty() {
        cc.file(&static_fns);
    }
    cc.file(shim_dir.join("pyhost_shim.c"));
    if let Err(e) = cc.try_compile("pyhost_sys_shims") {
        pyhost_build::fail(
            &format!(
                "compiling pyhost-sys's C shims against {} failed: {e}\n\
                 Fix: check that the C compiler for {} works and that the headers are complete.",
                include_list(&resolved.config),
                resolved.target.triple
            ),
            &env,
        );
    }
}

/// `<prefix>` of `<prefix>/include/python3.X`, without a sysroot.
fn target_prefix(resolved: &Resolved) -> String {
    let Some(prefix) = resolved
        .headers
        .python_h_dir
        .parent()
        .and_then(Path::parent)
    else {
        return String::new();
    };
    let prefix = match &resolved.sysroot {
        Some(root) => prefix
            .strip_prefix(root)
            .map(|p| Path::new("/").join(p))
            .unwrap_or_else(|_| prefix.to_path_buf()),
        None => prefix.to_path_buf(),
    };
    prefix.display().to_string()
}

/// A C build with exactly the include dirs and defines bindgen used.
fn c_build(config: &PythonConfig, shim_dir: &Path) -> cc::Build {
    let mut cc = cc::Build::new();
    cc.include(shim_dir);
    for dir in &config.include_dirs {
        cc.include(dir);
    }
    for (name, value) in bindings::defines(config) {
        cc.define(&name, value.as_deref());
    }
    cc.warnings(false)
        .flag_if_supported("-Wno-deprecated-declarations");
    cc
}

/// Writes the `PyObject` field accessors the inline layer uses and the `pyhost_refcnt` cfg
/// that selects its counting rules, both read from `rust` (the bindings being compiled).
fn emit_object_model(resolved: &Resolved, rust: &str, out: &Path) {
    let config = &resolved.config;
    let model = object_model::analyze(
        rust,
        config.version.minor,
        config.pointer_width,
        config.gil_disabled,
    );
    write(&out.join("object_fields.rs"), &model.accessors());
    let values: Vec<String> = Refcnt::ALL
        .iter()
        .map(|r| format!("\"{}\"", r.cfg_value()))
        .collect();
    println!(
        "cargo::rustc-check-cfg=cfg(pyhost_refcnt, values({}))",
        values.join(", ")
    );
    println!(
        "cargo:rustc-cfg=pyhost_refcnt=\"{}\"",
        model.refcnt.cfg_value()
    );
    if let Some(why) = model.why_functions {
        if !config.gil_disabled {
            for line in warning_lines(&format!(
                "pyhost-sys: {why}; reference counting calls libpython's Py_IncRef/Py_DecRef \
                 instead of inlining them (correct, a little slower). A newer pyhost inlines \
                 them again."
            )) {
                println!("{line}");
            }
        }
    }
}

fn bindings_for(
    resolved: &Resolved,
    env: &Env,
    wanted: Wanted,
    root: &Path,
    shim_dir: &Path,
    out: &Path,
) -> (bindings::Generated, &'static str) {
    let reason = if wanted == Wanted::PreGenerated {
        "PYHOST_BINDINGS=pre-generated".to_owned()
    } else {
        match generate_or_reason(resolved, env, shim_dir, out) {
            Ok(generated) => return (generated, "bindgen"),
            Err(reason) if wanted == Wanted::Bindgen => pyhost_build::fail(
                &format!(
                    "{reason}, and PYHOST_BINDINGS=bindgen forbids the pre-generated bindings.\n\
                     Fix: {BINDGEN_FIX}, or unset PYHOST_BINDINGS."
                ),
                env,
            ),
            Err(reason) => reason,
        }
    };
    let config = &resolved.config;
    let target = &resolved.target;
    let rs = root.join("bindings").join(fallback::RUST_FILE);
    let c = root.join("bindings").join(fallback::C_FILE);
    let covered = fallback::MINORS.contains(&config.version.minor)
        && fallback::TARGETS.contains(&target.triple.as_str());
    let merged = match std::fs::read_to_string(&rs) {
        Ok(text) if covered => text,
        Ok(_) => pyhost_build::fail(
            &format!(
                "{reason}, and the pre-generated bindings cover CPython 3.{}-3.{} on {}, not \
                 CPython {} on {}.\n\
                 Fix: {BINDGEN_FIX}, so that bindgen generates them from your headers.",
                fallback::MINORS.start(),
                fallback::MINORS.end(),
                fallback::TARGETS.join(" and "),
                config.version.short(),
                target.triple,
            ),
            env,
        ),
        Err(e) => pyhost_build::fail(
            &format!(
                "{reason}, and the pre-generated bindings cannot be read ({}: {e}).\n\
                 Fix: restore ffi-sys/bindings/ (`cargo xtask bindings` writes it), or install \
                 libclang (apt-get install libclang-dev).",
                rs.display()
            ),
            env,
        ),
    };
    let one_version = fallback::instantiate(&merged, config.version.minor).unwrap_or_else(|e| {
        pyhost_build::fail(
            &format!(
                "the pre-generated bindings in {} are damaged ({e}).\n\
                 Fix: regenerate them with `cargo xtask bindings`, or install libclang.",
                rs.display()
            ),
            env,
        )
    });
    // Generated from other headers of the same minor version: report these headers' version.
    let rust = resolved.headers.patch_version_constants(&one_version);
    let static_fns_c = std::fs::read_to_string(&c).unwrap_or_default();
    // A supported configuration that needs nothing from the user, so not a cargo warning (cargo
    // replays those on every build of a path dependency): one line in the build script's
    // output (`cargo build -vv`), and `cargo pyhost doctor` says it too.
    println!(
        "pyhost-sys: {reason}; using the pre-generated bindings for CPython {} on {}, checked \
         against your headers",
        config.version.short(),
        target.triple
    );
    check_layout(resolved, env, shim_dir, out, &rust);
    (bindings::Generated { rust, static_fns_c }, "pre-generated")
}

#[cfg(feature = "bindgen")]
fn generate_or_reason(
    resolved: &Resolved,
    env: &Env,
    shim_dir: &Path,
    out: &Path,
) -> Result<bindings::Generated, String> {
    if let Err(e) = bindings::libclang() {
        // clang-sys explains at length; the first clause is enough for one line.
        let first = e.lines().next().unwrap_or("");
        let short = first.split(", set the").next().unwrap_or(first);
        return Err(format!("libclang could not be loaded ({short})"));
    }
    match bindings::generate(&resolved.config, &resolved.target, shim_dir, out) {
        Ok(g) => Ok(g),
        Err(e) => pyhost_build::fail(&e.to_string(), env),
    }
}

#[cfg(not(feature = "bindgen"))]
fn generate_or_reason(
    _resolved: &Resolved,
    _env: &Env,
    _shim_dir: &Path,
    _out: &Path,
) -> Result<bindings::Generated, String> {
    Err("the `bindgen` feature (of pyhost, or pyhost-sys) is off".to_owned())
}

/// Compiles the layout probe for the pre-generated bindings against the real headers.
fn check_layout(resolved: &Resolved, env: &Env, shim_dir: &Path, out: &Path, rust: &str) {
    let facts = layout::facts_from_bindings(rust);
    if facts.is_empty() {
        pyhost_build::fail(
            "the pre-generated bindings hold no layout facts to check: they are damaged; regenerate them with `cargo xtask bindings`",
            env,
        );
    }
    let source = layout::probe_source(&facts, bindings::SHIM_HEADER);
    let cc = c_build(&resolved.config, shim_dir);
    let mut includes = vec![shim_dir.to_path_buf()];
    includes.extend(resolved.config.include_dirs.iter().cloned());
    match layout::check(&cc, &source, &includes, &out.join("layout")) {
        Ok(failed) if failed.is_empty() => {}
        Ok(failed) => pyhost_build::fail(
            &format!(
                "the pre-generated bindings for CPython {} on {} do not match the headers in {}:\n  {}\n{}\
                 Using them would be undefined behaviour, so the build stops here.\n\
                 Fix: {BINDGEN_FIX}, so that bindgen generates bindings from these headers, \
                 or regenerate the pre-generated ones with `cargo xtask bindings`.",
                resolved.config.version.short(),
                resolved.target.triple,
                include_list(&resolved.config),
                failed
                    .iter()
                    .map(|f| format!("expected {f}"))
                    .collect::<Vec<_>>()
                    .join("\n  "),
                if resolved.config.debug {
                    "This is a debug build (Py_DEBUG): some of its structs have fields the \
                     release builds the pre-generated bindings describe do not.\n"
                } else {
                    ""
                },
            ),
            env,
        ),
        Err(e) => pyhost_build::fail(
            &format!("the layout check of the pre-generated bindings could not run: {e}"),
            env,
        ),
    }
}

fn include_list(config: &PythonConfig) -> String {
    config
        .include_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn write(path: &Path, text: &str) {
    if let Err(e) = std::fs::write(path, text) {
        panic!("cannot write {}: {e}", path.display());
    }
}
