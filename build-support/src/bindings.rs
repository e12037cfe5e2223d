//! Generating the C-API bindings with bindgen. `pyhost-sys`'s build script and
//! `cargo xtask bindings` both call [`generate`], so the pre-generated fallback files are
//! exactly what a build would produce.

use std::path::Path;
#[cfg(feature = "bindgen")]
use std::path::PathBuf;

#[cfg(feature = "bindgen")]
use crate::Error;
use crate::{PythonConfig, Target};

/// Suffix of the C wrappers bindgen writes for `static inline` functions: unique to pyhost-sys
/// so that the symbols never clash with another crate's wrappers.
pub const STATIC_FNS_SUFFIX: &str = "__pyhost_sys";

/// The header bindgen reads; it lives in pyhost-sys's `shim/` directory and includes `Python.h`.
pub const SHIM_HEADER: &str = "pyhost_shim.h";

/// The Rust version the generated code may rely on: the workspace MSRV.
pub const RUST_TARGET: (u64, u64) = (85, 0);

/// Private functions that public macros expand to, or that have no public equivalent in the
/// oldest supported version (3.8's `_PyObject_Vectorcall`).
#[cfg(feature = "bindgen")]
const PRIVATE_FUNCTIONS: &str = "_Py_(Dealloc|IsFinalizing|IncRef|DecRef|NewRef|XNewRef)|\
    _PyObject_(Vectorcall|VectorcallDict|CallNoArg|CallNoArgs|MakeTpCall|GetDictPtr)|\
    _PyLong_(AsByteArray|FromByteArray|NumBits|Sign)|_PyErr_ChainExceptions|_PyType_Lookup|\
    _PyBytes_Resize";

/// Functions left out of the bindings: those taking a `va_list` (its type differs between
/// targets and pyhost never passes one); the reference-count macros, whose `static inline`
/// versions have another signature in debug builds (`Py_DECREF(file, line, op)`) and which
/// pyhost-sys implements in Rust (`inline.rs`) and as shims (`pyhost_sys_shim_Py_DECREF`);
/// and `static inline` functions deprecated in a supported version, whose C wrappers would
/// warn (`cargo xtask bindings --check` compiles the wrappers with such warnings as errors).
#[cfg(feature = "bindgen")]
const BLOCKED_FUNCTIONS: &str = "PyOS_vsnprintf|Py(Err|Unicode|Bytes)_FromFormatV|PyErr_FormatV|\
    PyArg_Va[A-Za-z]*|Py_VaBuildValue|Py_X?(INCREF|DECREF)|\
    PyCode_New|PyCode_NewWithPosOnlyArgs|PyCode_GetFirstFree|Py_UNICODE_(COPY|FILL)|\
    PyUnicode_(AS_DATA|AS_UNICODE|GET_DATA_SIZE|GET_SIZE|WSTR_LENGTH)|PyWeakref_GET_OBJECT";

/// Types left out of the bindings because they differ between targets: pyhost-sys declares
/// them by hand, per target, in its `target` module (`wchar_t`), or never needs them.
#[cfg(feature = "bindgen")]
const BLOCKED_TYPES: &str = "wchar_t|va_list|__builtin_va_list|__gnuc_va_list|__va_list_tag";

/// Preprocessor definitions used both by bindgen and by the C compiler for the shims, so the
/// two always see the same API.
pub fn defines(config: &PythonConfig) -> Vec<(String, Option<String>)> {
    let mut d = vec![("PY_SSIZE_T_CLEAN".to_owned(), None)];
    if config.limited_api {
        d.push((
            "Py_LIMITED_API".to_owned(),
            Some(format!(
                "0x{:02X}{:02X}0000",
                config.version.major, config.version.minor
            )),
        ));
    }
    d
}

/// Bindgen output: the Rust declarations and the C wrappers of the `static inline` functions.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The Rust bindings.
    pub rust: String,
    /// C source defining `<name>__pyhost_sys` wrappers for the `static inline` functions;
    /// compile it with `-I<shim dir>` and the Python include dirs.
    pub static_fns_c: String,
}

/// Whether libclang can be loaded (bindgen needs it at run time).
#[cfg(feature = "bindgen")]
pub fn libclang() -> Result<(), String> {
    if clang_sys::is_loaded() {
        return Ok(());
    }
    clang_sys::load()
}

/// Loads libclang (as [`libclang`]) and says which file was loaded.
#[cfg(feature = "bindgen")]
pub fn libclang_path() -> Result<PathBuf, String> {
    libclang()?;
    clang_sys::get_library()
        .map(|lib| lib.path().to_path_buf())
        .ok_or_else(|| "libclang was loaded on another thread".to_owned())
}

/// The clang target triple for a Rust target.
pub fn clang_target(target: &Target) -> String {
    let t = &target.triple;
    if let Some(rest) = t.strip_prefix("riscv64gc-") {
        return format!("riscv64-{rest}");
    }
    if let Some(rest) = t.strip_prefix("armv7-") {
        return format!("armv7-{rest}");
    }
    t.clone()
}

/// Runs bindgen on the shim header for `config` and `target`. `work_dir` receives bindgen's
/// temporary C file.
#[cfg(feature = "bindgen")]
pub fn generate(
    config: &PythonConfig,
    target: &Target,
    shim_dir: &Path,
    work_dir: &Path,
) -> Result<Generated, Error> {
    let header = shim_dir.join(SHIM_HEADER);
    let static_fns_base = work_dir.join("pyhost_static_fns");
    let mut builder = bindgen::Builder::default()
        .header(header.display().to_string())
        .rust_target(
            bindgen::RustTarget::stable(RUST_TARGET.0, RUST_TARGET.1).map_err(|e| {
                Error::Bindings {
                    message: format!("bindgen does not know Rust 1.{}: {e}", RUST_TARGET.0),
                    fix: "update pyhost-build".into(),
                }
            })?,
        )
        .clang_arg(format!("--target={}", clang_target(target)))
        .clang_arg(format!("-I{}", shim_dir.display()))
        // The public C API, plus the few private names its macros expand to.
        .allowlist_function("(Py|pyhost_sys_shim_)[A-Za-z0-9_]*")
        .allowlist_function(PRIVATE_FUNCTIONS)
        .allowlist_type("Py[A-Za-z0-9_]*")
        .allowlist_var("(Py|PY_|METH_)[A-Za-z0-9_]*")
        .allowlist_var(
            "_Py_(NoneStruct|TrueStruct|FalseStruct|NotImplementedStruct|EllipsisObject)",
        )
        .blocklist_function(BLOCKED_FUNCTIONS)
        .blocklist_type(BLOCKED_TYPES)
        .wrap_static_fns(true)
        .wrap_static_fns_suffix(STATIC_FNS_SUFFIX)
        .wrap_static_fns_path(&static_fns_base)
        .prepend_enum_name(false)
        .derive_debug(false)
        .derive_default(false)
        .generate_comments(false)
        .layout_tests(true)
        .merge_extern_blocks(true)
        .sort_semantically(true)
        .formatter(bindgen::Formatter::Prettyplease);
    for dir in &config.include_dirs {
        builder = builder.clang_arg(format!("-I{}", dir.display()));
    }
    for (name, value) in defines(config) {
        builder = builder.clang_arg(match value {
            Some(v) => format!("-D{name}={v}"),
            None => format!("-D{name}"),
        });
    }
    let bindings = builder.generate().map_err(|e| Error::Bindings {
        message: format!(
            "bindgen failed on {} with the headers in {}: {e}",
            header.display(),
            config
                .include_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        fix: "check that the headers are complete (python3-dev), or turn off the `bindgen` \
              feature of pyhost (or pyhost-sys) to use the pre-generated bindings"
            .into(),
    })?;
    let rust = document_unsafe(&bindings.to_string());
    let c_path = static_fns_base.with_extension("c");
    let static_fns_c = match std::fs::read_to_string(&c_path) {
        Ok(text) => normalize_static_fns(&text, &header),
        // No static inline function in the allowlist: nothing to wrap.
        Err(_) => String::new(),
    };
    Ok(Generated { rust, static_fns_c })
}

/// Puts a `// SAFETY:` line above each `unsafe` block bindgen wrote that has none. bindgen
/// writes them only in its bitfield support (`__BindgenBitfieldUnit` and the accessors of
/// bitfield members), where each reads or writes bits inside the struct's own storage, at
/// offsets bindgen computed from the layout the headers give.
///
/// ```
/// let src = concat!("fn f() {\n    let b = ", "unsafe", " { g() };\n}\n");
/// let out = pyhost_build::bindings::document_unsafe(src);
/// assert_eq!(
///     out,
///     "fn f() {\n    // SAFETY: bindgen's bitfield access, inside the struct's own storage.\n    \
///      let b = unsafe { g() };\n}\n"
/// );
/// ```
pub fn document_unsafe(rust: &str) -> String {
    let mut out = String::with_capacity(rust.len());
    let mut prev = "";
    for line in rust.split_inclusive('\n') {
        if line.contains("unsafe {") && !prev.contains("SAFETY") && !line.contains("SAFETY") {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push_str(indent);
            out.push_str(
                "// SAFETY: bindgen's bitfield access, inside the struct's own storage.\n",
            );
        }
        out.push_str(line);
        prev = line;
    }
    out
}

/// Makes the wrapper source independent of where the header was read from.
pub fn normalize_static_fns(text: &str, header: &Path) -> String {
    text.replace(
        &format!("#include \"{}\"", header.display()),
        &format!("#include \"{SHIM_HEADER}\""),
    )
}
