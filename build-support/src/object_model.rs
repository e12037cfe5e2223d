//! How `PyObject` keeps its reference count, read from the bindings of the headers being
//! built.
//!
//! pyhost-sys inlines `Py_INCREF`, `Py_DECREF`, `Py_REFCNT` and `_Py_IsImmortal` instead of
//! calling into libpython. Their C versions changed with the object header: a plain
//! `Py_ssize_t` count up to 3.11, immortal objects and a split 32-bit view in 3.12, a 32-bit
//! count next to flags in 3.14. Rather than spell a field path per version, pyhost-sys's build
//! script finds the fields in the declarations bindgen generated for the very headers being
//! compiled (or in the pre-generated file instantiated for that version) and writes the
//! accessors from them; the rules for the count (where immortality starts, which half is
//! decremented) come from [`Refcnt`], chosen from the version *and* the fields found, and
//! parity-tested against the C macros on every version.
//!
//! A header this module does not recognise (a future CPython, a free-threaded build) gets
//! [`Refcnt::Functions`]: the exported `Py_IncRef`/`Py_DecRef` and the compiled shims. That is
//! slower but right, so a new CPython builds and runs without a pyhost release.

use std::collections::BTreeMap;

use crate::version::MAX_TESTED_MINOR;

/// The rules the inlined reference counting follows; the value of pyhost-sys's
/// `pyhost_refcnt` cfg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refcnt {
    /// `ob_refcnt` is the whole `Py_ssize_t` count and no object is immortal (3.8-3.11).
    Plain,
    /// 3.12-3.13 on 64-bit targets: `ob_refcnt` is the whole count, `ob_refcnt_split` its two
    /// 32-bit halves; the low half saturates on increment and an object whose low half is
    /// negative as an `i32` is immortal.
    Split,
    /// 3.14+ on 64-bit targets: `ob_refcnt` is the low 32 bits (`ob_refcnt_full` the whole
    /// word, with flags above); increments stop at `3 << 30`, an object whose count is negative
    /// as an `i32` is immortal, and decrements change the low 32 bits only.
    Low32,
    /// 3.12-3.13 on 32-bit targets: immortal objects have exactly `_Py_IMMORTAL_REFCNT`.
    Immortal32Exact,
    /// 3.14+ on 32-bit targets: objects from `_Py_IMMORTAL_MINIMUM_REFCNT` up are immortal.
    Immortal32Min,
    /// Call the exported functions and the compiled shims.
    Functions,
}

impl Refcnt {
    /// Every value, for `rustc-check-cfg`.
    pub const ALL: [Refcnt; 6] = [
        Refcnt::Plain,
        Refcnt::Split,
        Refcnt::Low32,
        Refcnt::Immortal32Exact,
        Refcnt::Immortal32Min,
        Refcnt::Functions,
    ];

    /// The cfg value: `plain`, `split`, `low32`, `imm32_exact`, `imm32_min` or `functions`.
    pub fn cfg_value(self) -> &'static str {
        match self {
            Refcnt::Plain => "plain",
            Refcnt::Split => "split",
            Refcnt::Low32 => "low32",
            Refcnt::Immortal32Exact => "imm32_exact",
            Refcnt::Immortal32Min => "imm32_min",
            Refcnt::Functions => "functions",
        }
    }
}

/// A field of `PyObject` as the bindings declare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The Rust field path from a `PyObject`, through bindgen's anonymous members:
    /// `__bindgen_anon_1.__bindgen_anon_1.ob_refcnt`.
    pub path: String,
    /// Its Rust type, as written in the bindings: `u32`, `Py_ssize_t`, `[u32; 2usize]`.
    pub ty: String,
}

/// What the build script found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectModel {
    /// The counting rules.
    pub refcnt: Refcnt,
    /// The fields found, by their C name (`ob_refcnt`, `ob_refcnt_split`, `ob_refcnt_full`,
    /// `ob_type`).
    pub fields: BTreeMap<&'static str, Field>,
    /// Why [`Refcnt::Functions`] was chosen, for the build's notes.
    pub why_functions: Option<String>,
}

/// The C fields the accessors are written for.
pub const FIELDS: [&str; 4] = ["ob_refcnt", "ob_refcnt_split", "ob_refcnt_full", "ob_type"];

/// Reads the object header out of `bindings` (one version's declarations) and picks the rules.
///
/// ```
/// let bindings = "pub type PyObject = _object;\n#[repr(C)]\npub struct _object {\n    \
///                 pub ob_refcnt: Py_ssize_t,\n    pub ob_type: *mut PyTypeObject,\n}\n";
/// let m = pyhost_build::object_model::analyze(bindings, 11, 64, false);
/// assert_eq!(m.refcnt, pyhost_build::object_model::Refcnt::Plain);
/// assert_eq!(m.fields["ob_refcnt"].path, "ob_refcnt");
/// ```
pub fn analyze(bindings: &str, minor: u8, pointer_width: u32, gil_disabled: bool) -> ObjectModel {
    let structs = struct_fields(bindings);
    let object = type_alias(bindings, "PyObject").unwrap_or_else(|| "_object".to_owned());
    let mut fields = BTreeMap::new();
    for name in FIELDS {
        if let Some(f) = find_field(&structs, &object, name, 0) {
            fields.insert(name, f);
        }
    }
    let ty = |name: &str| fields.get(name).map(|f: &Field| f.ty.as_str());
    let known = minor <= MAX_TESTED_MINOR;
    let wide = pointer_width > 32;
    let rc = ty("ob_refcnt");
    let split = ty("ob_refcnt_split");
    let full = ty("ob_refcnt_full");
    let refcnt = if gil_disabled || !known || ty("ob_type").is_none() {
        None
    } else {
        match (minor, wide, rc, split, full) {
            (..=11, _, Some("Py_ssize_t"), None, None) => Some(Refcnt::Plain),
            (12..=13, true, Some("Py_ssize_t"), Some(s), None) if s.starts_with("[u32; 2") => {
                Some(Refcnt::Split)
            }
            (12..=13, false, Some("Py_ssize_t"), None, None) => Some(Refcnt::Immortal32Exact),
            (14.., true, Some("u32"), None, Some("i64")) => Some(Refcnt::Low32),
            (14.., false, Some("Py_ssize_t"), None, None) => Some(Refcnt::Immortal32Min),
            _ => None,
        }
    };
    let why_functions = refcnt.is_none().then(|| {
        if gil_disabled {
            "a free-threaded build (Py_GIL_DISABLED) splits the count between threads".to_owned()
        } else if !known {
            format!(
                "CPython 3.{minor} is newer than the newest this pyhost-sys knows (3.{MAX_TESTED_MINOR})"
            )
        } else {
            format!(
                "the object header of CPython 3.{minor} ({}) is not one pyhost-sys knows",
                describe(&fields)
            )
        }
    });
    ObjectModel {
        refcnt: refcnt.unwrap_or(Refcnt::Functions),
        fields,
        why_functions,
    }
}

fn describe(fields: &BTreeMap<&'static str, Field>) -> String {
    if fields.is_empty() {
        return "no known field".to_owned();
    }
    fields
        .iter()
        .map(|(name, f)| format!("{name}: {}", f.ty))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ObjectModel {
    /// Rust source of one accessor per field found: `unsafe fn ob_refcnt(op) -> *mut u32`
    /// and so on, for `include!` in a module that has the bindings in scope.
    pub fn accessors(&self) -> String {
        let mut s = String::from(
            "// Written by pyhost-sys's build script from the `PyObject` declaration of the \
             bindings\n// being compiled (pyhost_build::object_model).\n",
        );
        for (name, f) in &self.fields {
            s.push_str(&format!(
                "\n/// The address of `{name}` (`(*op).{path}`).\n///\n/// # Safety\n/// `op` points \
                 to a live object.\n#[inline(always)]\n#[allow(dead_code)]\npub(crate) unsafe fn \
                 {name}(op: *mut PyObject) -> *mut {ty} {{\n    // SAFETY: `op` is live \
                 (caller); taking a field's address reads nothing.\n    unsafe {{ &raw mut \
                 (*op).{path} }}\n}}\n",
                path = f.path,
                ty = f.ty
            ));
        }
        s
    }
}

/// `pub type NAME = TARGET;`
fn type_alias(bindings: &str, name: &str) -> Option<String> {
    let prefix = format!("pub type {name} = ");
    bindings.lines().find_map(|l| {
        l.strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(';'))
            .map(|t| t.trim().to_owned())
    })
}

/// Every `pub struct` and `pub union` at the top level, with its fields in order.
fn struct_fields(bindings: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, Vec<(String, String)>)> = None;
    for line in bindings.lines() {
        if let Some((name, fields)) = current.as_mut() {
            if line.starts_with('}') {
                out.insert(std::mem::take(name), std::mem::take(fields));
                current = None;
            } else if let Some((field, ty)) = line
                .trim()
                .strip_prefix("pub ")
                .and_then(|r| r.strip_suffix(','))
                .and_then(|r| r.split_once(": "))
            {
                fields.push((field.to_owned(), ty.to_owned()));
            }
            continue;
        }
        let header = line
            .strip_prefix("pub struct ")
            .or_else(|| line.strip_prefix("pub union "));
        if let Some(name) = header.and_then(|h| h.strip_suffix(" {")) {
            current = Some((name.to_owned(), Vec::new()));
        }
    }
    out
}

/// The path to `field` from struct `ty`, directly or through anonymous members.
fn find_field(
    structs: &BTreeMap<String, Vec<(String, String)>>,
    ty: &str,
    field: &str,
    depth: usize,
) -> Option<Field> {
    if depth > 4 {
        return None;
    }
    let fields = structs.get(ty)?;
    if let Some((name, fty)) = fields.iter().find(|(n, _)| n == field) {
        return Some(Field {
            path: name.clone(),
            ty: fty.clone(),
        });
    }
    fields
        .iter()
        .filter(|(n, _)| n.starts_with("__bindgen_anon_"))
        .find_map(|(n, fty)| {
            find_field(structs, fty, field, depth + 1).map(|f| Field {
                path: format!("{n}.{}", f.path),
                ty: f.ty,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const V311: &str = "pub type PyObject = _object;\n#[repr(C)]\n#[derive(Copy, Clone)]\n\
        pub struct _object {\n    pub ob_refcnt: Py_ssize_t,\n    pub ob_type: *mut PyTypeObject,\n}\n";
    const V312: &str = "pub type PyObject = _object;\n#[repr(C)]\npub struct _object {\n    \
        pub __bindgen_anon_1: _object__bindgen_ty_1,\n    pub ob_type: *mut PyTypeObject,\n}\n\
        #[repr(C)]\npub union _object__bindgen_ty_1 {\n    pub ob_refcnt: Py_ssize_t,\n    \
        pub ob_refcnt_split: [u32; 2usize],\n}\n";
    const V314: &str = "pub type PyObject = _object;\n#[repr(C)]\npub struct _object {\n    \
        pub __bindgen_anon_1: _object__bindgen_ty_1,\n    pub ob_type: *mut PyTypeObject,\n}\n\
        #[repr(C)]\npub struct _object__bindgen_ty_1__bindgen_ty_1 {\n    pub ob_refcnt: u32,\n    \
        pub ob_overflow: u16,\n    pub ob_flags: u16,\n}\n#[repr(C)]\npub union _object__bindgen_ty_1 {\n    \
        pub ob_refcnt_full: i64,\n    pub __bindgen_anon_1: _object__bindgen_ty_1__bindgen_ty_1,\n    \
        pub _aligner: ::std::os::raw::c_char,\n}\n";
    const FREE_THREADED: &str = "pub type PyObject = _object;\npub struct _object {\n    \
        pub ob_tid: usize,\n    pub ob_ref_local: u32,\n    pub ob_ref_shared: Py_ssize_t,\n    \
        pub ob_type: *mut PyTypeObject,\n}\n";

    #[test]
    fn each_known_header_gets_its_rules_and_paths() {
        let m = analyze(V311, 11, 64, false);
        assert_eq!(m.refcnt, Refcnt::Plain);
        assert_eq!(m.fields["ob_type"].path, "ob_type");

        let m = analyze(V312, 13, 64, false);
        assert_eq!(m.refcnt, Refcnt::Split);
        assert_eq!(m.fields["ob_refcnt"].path, "__bindgen_anon_1.ob_refcnt");
        assert_eq!(m.fields["ob_refcnt_split"].ty, "[u32; 2usize]");

        let m = analyze(V314, 15, 64, false);
        assert_eq!(m.refcnt, Refcnt::Low32);
        assert_eq!(
            m.fields["ob_refcnt"],
            Field {
                path: "__bindgen_anon_1.__bindgen_anon_1.ob_refcnt".into(),
                ty: "u32".into()
            }
        );
        assert_eq!(
            m.fields["ob_refcnt_full"].path,
            "__bindgen_anon_1.ob_refcnt_full"
        );
        let src = m.accessors();
        assert!(src.contains(
            "pub(crate) unsafe fn ob_refcnt(op: *mut PyObject) -> *mut u32 {\n    // SAFETY"
        ));
        assert!(src.contains("&raw mut (*op).__bindgen_anon_1.__bindgen_anon_1.ob_refcnt"));
    }

    #[test]
    fn the_version_must_agree_with_the_fields() {
        // 3.12's fields with 3.11's number, 3.14's fields claimed as 3.13: not recognised.
        assert_eq!(analyze(V312, 11, 64, false).refcnt, Refcnt::Functions);
        let m = analyze(V314, 13, 64, false);
        assert_eq!(m.refcnt, Refcnt::Functions);
        assert!(m.why_functions.unwrap().contains("ob_refcnt: u32"));
    }

    #[test]
    fn unknown_headers_call_the_functions() {
        let future = analyze(V314, MAX_TESTED_MINOR + 1, 64, false);
        assert_eq!(future.refcnt, Refcnt::Functions);
        assert!(
            future
                .why_functions
                .unwrap()
                .contains("newer than the newest")
        );
        let ft = analyze(FREE_THREADED, 13, 64, true);
        assert_eq!(ft.refcnt, Refcnt::Functions);
        assert!(!ft.fields.contains_key("ob_refcnt"));
        assert!(ft.fields.contains_key("ob_type"));
    }
}
