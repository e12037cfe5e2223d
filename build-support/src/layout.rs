//! The layout probe: checks that pre-generated bindings describe the structs of the headers
//! being compiled against.
//!
//! bindgen records the size, alignment and field offsets it computed from the headers in the
//! bindings it writes (`["Size of PyConfig"][size_of::<PyConfig>() - 472usize]`). Before
//! pre-generated bindings are used, those numbers are turned into C `_Static_assert`s for the
//! structs pyhost relies on and compiled, for the target, against the real headers. Nothing is
//! run, so this works when cross-compiling; a mismatch stops the build instead of becoming
//! undefined behaviour.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The structs whose layout pyhost relies on, by their C typedef names.
pub const CHECKED_TYPES: &[&str] = &[
    "PyObject",
    "PyVarObject",
    "PyTypeObject",
    "PyTupleObject",
    "PyListObject",
    "PyFloatObject",
    "PyBytesObject",
    "PyMethodDef",
    "PyModuleDef",
    "PyModuleDef_Base",
    "PyModuleDef_Slot",
    "PyGetSetDef",
    "PyMemberDef",
    "PyType_Spec",
    "PyType_Slot",
    "PyNumberMethods",
    "PySequenceMethods",
    "PyMappingMethods",
    "PyConfig",
    "PyPreConfig",
    "PyStatus",
    "PyWideStringList",
    "PyCompilerFlags",
    "Py_buffer",
];

/// One layout fact: a C expression and the value the bindings expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// `sizeof(PyObject)` or `offsetof(PyObject, ob_type)`.
    pub expr: String,
    /// The value the bindings were generated with.
    pub expected: u64,
}

/// Extracts the facts about [`CHECKED_TYPES`] from bindgen output.
pub fn facts_from_bindings(bindings: &str) -> Vec<Fact> {
    // `pub type PyObject = _object;` maps typedef names to the struct names bindgen uses.
    let mut aliases: BTreeMap<&str, &str> = BTreeMap::new();
    for line in bindings.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("pub type ") {
            if let Some((name, target)) = rest.trim_end_matches(';').split_once(" = ") {
                aliases.insert(name.trim(), target.trim());
            }
        }
    }
    let mut sizes: BTreeMap<&str, u64> = BTreeMap::new();
    let mut offsets: BTreeMap<&str, Vec<(&str, u64)>> = BTreeMap::new();
    for line in bindings.lines() {
        let line = line.trim();
        let Some(value) = assertion_value(line) else {
            continue;
        };
        if let Some(rest) = line.strip_prefix("[\"Size of ") {
            if let Some(name) = rest.split('"').next() {
                sizes.insert(name, value);
            }
        } else if let Some(rest) = line.strip_prefix("[\"Offset of field: ") {
            if let Some((ty, field)) = rest.split('"').next().and_then(|s| s.split_once("::")) {
                offsets.entry(ty).or_default().push((field, value));
            }
        }
    }
    let mut facts = Vec::new();
    for &c_name in CHECKED_TYPES {
        let rust_name = aliases.get(c_name).copied().unwrap_or(c_name);
        if let Some(&size) = sizes.get(rust_name) {
            facts.push(Fact {
                expr: format!("sizeof({c_name})"),
                expected: size,
            });
        }
        for &(field, offset) in offsets.get(rust_name).map(Vec::as_slice).unwrap_or(&[]) {
            if field.starts_with("__bindgen") || field.starts_with("_bitfield") {
                continue;
            }
            let c_field = match field {
                "type_" => "type",
                f => f,
            };
            facts.push(Fact {
                expr: format!("offsetof({c_name}, {c_field})"),
                expected: offset,
            });
        }
    }
    facts
}

/// The value at the end of a bindgen layout assertion: `...() - 16usize];` → 16.
fn assertion_value(line: &str) -> Option<u64> {
    let body = line.strip_suffix("usize];")?;
    let idx = body.rfind(" - ")?;
    body[idx + 3..].trim().parse().ok()
}

/// C source asserting every fact, after including `header`.
pub fn probe_source(facts: &[Fact], header: &str) -> String {
    let mut s = format!("#include \"{header}\"\n#include <stddef.h>\n\n");
    for f in facts {
        s.push_str(&format!(
            "_Static_assert({expr} == {val}, \"pyhost-layout: {expr} == {val}\");\n",
            expr = f.expr,
            val = f.expected
        ));
    }
    s
}

/// Compiles a probe (syntax only) with the target's C compiler, and returns the facts that
/// failed, as `sizeof(PyConfig) == 472` strings. `Err` when the compiler could not be run or
/// failed for another reason.
pub fn check(
    build: &cc::Build,
    source: &str,
    include_dirs: &[PathBuf],
    work_dir: &std::path::Path,
) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(work_dir).map_err(|e| e.to_string())?;
    let file = work_dir.join("pyhost_layout_probe.c");
    std::fs::write(&file, source).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let compiler = build
        .try_get_compiler()
        .map_err(|e| format!("no C compiler for the layout probe: {e}"))?;
    let mut cmd = compiler.to_command();
    cmd.arg("-fsyntax-only").arg("-std=c11");
    for d in include_dirs {
        cmd.arg(format!("-I{}", d.display()));
    }
    cmd.arg(&file);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run the C compiler {:?}: {e}", compiler.path()))?;
    if out.status.success() {
        return Ok(Vec::new());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let failed: Vec<String> = stderr
        .lines()
        .filter_map(|l| {
            let start = l.find("pyhost-layout: ")? + "pyhost-layout: ".len();
            let rest = &l[start..];
            Some(rest.split('"').next().unwrap_or(rest).to_owned())
        })
        .collect();
    if failed.is_empty() {
        return Err(format!(
            "the layout probe did not compile:\n{}",
            stderr.lines().take(20).collect::<Vec<_>>().join("\n")
        ));
    }
    let mut uniq = failed;
    uniq.dedup();
    Ok(uniq)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
pub type PyObject = _object;
#[allow(clippy::unnecessary_operation, clippy::identity_op)]
const _: () = {
    ["Size of _object"][::std::mem::size_of::<_object>() - 16usize];
    ["Alignment of _object"][::std::mem::align_of::<_object>() - 8usize];
    ["Offset of field: _object::__bindgen_anon_1"][::std::mem::offset_of!(_object, __bindgen_anon_1) - 0usize];
    ["Offset of field: _object::ob_type"][::std::mem::offset_of!(_object, ob_type) - 8usize];
};
const _: () = {
    ["Size of PyMemberDef"][::std::mem::size_of::<PyMemberDef>() - 40usize];
    ["Offset of field: PyMemberDef::type_"][::std::mem::offset_of!(PyMemberDef, type_) - 8usize];
};
"#;

    #[test]
    fn extracts_sizes_and_offsets_through_typedefs() {
        let facts = facts_from_bindings(SAMPLE);
        let exprs: Vec<String> = facts
            .iter()
            .map(|f| format!("{}={}", f.expr, f.expected))
            .collect();
        assert_eq!(
            exprs,
            [
                "sizeof(PyObject)=16",
                "offsetof(PyObject, ob_type)=8",
                "sizeof(PyMemberDef)=40",
                "offsetof(PyMemberDef, type)=8"
            ]
        );
        let src = probe_source(&facts, "Python.h");
        assert!(src.contains("_Static_assert(sizeof(PyObject) == 16,"));
    }
}
