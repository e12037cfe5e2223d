//! Merging bindgen's output for several CPython versions into the one pre-generated file.
//!
//! Each version's declarations are cut into elements (pyhost_build::fallback's rules): items at
//! the top level, foreign functions and statics inside `extern` blocks. Elements are matched
//! across versions by what they declare (`struct PyConfig`, `fn PyList_New`, the layout
//! assertions of `PyConfig`); an element that reads the same everywhere is written once, one
//! that differs is written per variant under a `#[cfg(..)]` naming its versions, except that a
//! struct, union or assertion block whose header is the same in every version is merged line
//! by line, each field under its own condition. `pyhost_build::fallback::instantiate` undoes
//! this exactly; the tests below check that on every version.

use std::collections::BTreeMap;

use pyhost_build::fallback::{self, condition, elements};

/// The variants of one element: its lines and the versions that have them.
type Variants = Vec<(Vec<String>, Vec<u8>)>;

/// One element of a version's declarations.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Element {
    key: String,
    lines: Vec<String>,
    foreign: bool,
}

/// Cuts one version's bindgen output into keyed elements.
fn parse(text: &str) -> Result<Vec<Element>, String> {
    let lines: Vec<&str> = text.lines().filter(|l| !is_noise(l)).collect();
    let mut out = Vec::new();
    for (start, end) in elements(&lines, 0, lines.len()) {
        let element = &lines[start..end];
        if fallback::indent_of(element[0]) != 0 {
            return Err(format!("unexpected indentation at `{}`", element[0]));
        }
        let first = element
            .iter()
            .find(|l| !l.starts_with("#["))
            .copied()
            .unwrap_or(element[0]);
        if first.starts_with("unsafe extern \"C\" {") || first.starts_with("extern \"C\" {") {
            let body_start = start + element.iter().position(|l| *l == first).unwrap_or(0) + 1;
            for (s, e) in elements(&lines, body_start, end - 1) {
                let inner: Vec<String> = lines[s..e].iter().map(|l| dedent(l, 4)).collect();
                out.push(Element {
                    key: key_of(&inner),
                    lines: inner,
                    foreign: true,
                });
            }
            continue;
        }
        let owned: Vec<String> = element.iter().map(|l| (*l).to_owned()).collect();
        out.push(Element {
            key: key_of(&owned),
            lines: owned,
            foreign: false,
        });
    }
    // Keys must be unique within a version for the matching: number repeats.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for e in &mut out {
        let n = seen.entry(e.key.clone()).or_default();
        *n += 1;
        if *n > 1 {
            e.key = format!("{}#{n}", e.key);
        }
    }
    Ok(out)
}

/// Blank lines and comments (not doc comments, which belong to items).
fn is_noise(line: &str) -> bool {
    let plain_comment = line.starts_with("//") && !line.starts_with("///");
    line.trim().is_empty() || line.starts_with("/* automatically generated") || plain_comment
}

fn dedent(line: &str, by: usize) -> String {
    let n = fallback::indent_of(line).min(by);
    line[n..].to_owned()
}

/// What an element declares, to match it across versions.
fn key_of(lines: &[String]) -> String {
    let first = lines
        .iter()
        .find(|l| !l.starts_with("#["))
        .map(String::as_str)
        .unwrap_or("");
    if first.starts_with("const _: () = {") {
        for l in lines {
            for marker in ["\"Size of ", "\"Alignment of ", "\"Offset of field: "] {
                if let Some(rest) = l.split(marker).nth(1) {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    return format!("assert {name}");
                }
            }
        }
        return format!("assert ? {}", lines.join(" "));
    }
    let words: Vec<&str> = first
        .split(|c: char| c.is_whitespace() || c == ':' || c == '(' || c == '<' || c == '=')
        .filter(|w| !w.is_empty())
        .collect();
    let skip = |w: &&str| matches!(*w, "pub" | "unsafe" | "mut" | "extern" | "\"C\"");
    let mut it = words.iter().filter(|w| !skip(w));
    match it.next() {
        Some(&kind @ ("struct" | "union" | "enum" | "type" | "const" | "static" | "fn")) => {
            format!("{kind} {}", it.next().copied().unwrap_or(""))
        }
        _ => format!("other {first}"),
    }
}

/// Merges `seq` (one version's) into `acc`, keeping the order of both: matched items get `v`,
/// the others are inserted where they stand in `seq`.
fn lcs_merge<T: PartialEq + Clone>(acc: &mut Vec<(T, Vec<u8>)>, seq: &[T], v: u8) {
    let (n, m) = (acc.len(), seq.len());
    // table[i][j]: LCS length of acc[i..] and seq[j..].
    let mut table = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[at(i, j)] = if acc[i].0 == seq[j] {
                table[at(i + 1, j + 1)] + 1
            } else {
                table[at(i + 1, j)].max(table[at(i, j + 1)])
            };
        }
    }
    let mut merged = Vec::with_capacity(n + m);
    let (mut i, mut j) = (0, 0);
    let old = std::mem::take(acc);
    let mut old = old.into_iter().map(Some).collect::<Vec<_>>();
    while i < n || j < m {
        if i < n && j < m && old[i].as_ref().is_some_and(|(t, _)| *t == seq[j]) {
            let (t, mut vs) = old[i].take().unwrap_or_else(|| unreachable!());
            vs.push(v);
            merged.push((t, vs));
            i += 1;
            j += 1;
        } else if j < m && (i == n || table[at(i, j + 1)] >= table[at(i + 1, j)]) {
            merged.push((seq[j].clone(), vec![v]));
            j += 1;
        } else {
            merged.push(old[i].take().unwrap_or_else(|| unreachable!()));
            i += 1;
        }
    }
    *acc = merged;
}

/// `#[cfg(..)]` for `set` within `within`, at `indent`, if one is needed.
fn cfg_line(set: &[u8], within: &[u8], indent: usize) -> Option<String> {
    let mut set = set.to_vec();
    set.sort_unstable();
    condition(&set, within).map(|c| format!("{}#[cfg({c})]", " ".repeat(indent)))
}

/// The header (through the line that opens the body) and tail of a block element, if it is
/// one.
fn split_block(lines: &[String]) -> Option<(usize, usize)> {
    let open = lines
        .iter()
        .position(|l| fallback::indent_of(l) == 0 && l.ends_with('{'))?;
    let last = lines.len() - 1;
    (last > open && matches!(lines[last].as_str(), "}" | "};")).then_some((open + 1, last))
}

/// Writes one matched element: once, per variant, or merged line by line.
fn emit(out: &mut Vec<String>, variants: &[(Vec<String>, Vec<u8>)], within: &[u8], indent: usize) {
    let pad = |l: &String| format!("{}{l}", " ".repeat(indent));
    let mut present: Vec<u8> = variants.iter().flat_map(|(_, v)| v.clone()).collect();
    present.sort_unstable();
    if let [(lines, versions)] = variants {
        out.extend(cfg_line(versions, within, indent));
        out.extend(lines.iter().map(pad));
        return;
    }
    let shapes: Vec<Option<(usize, usize)>> =
        variants.iter().map(|(l, _)| split_block(l)).collect();
    let same_shell = shapes.iter().all(Option::is_some)
        && variants.windows(2).zip(shapes.windows(2)).all(|(w, s)| {
            let (a, b) = (s[0].unwrap_or_default(), s[1].unwrap_or_default());
            w[0].0[..a.0] == w[1].0[..b.0] && w[0].0[a.1] == w[1].0[b.1]
        });
    if !same_shell {
        for (lines, versions) in variants {
            out.extend(cfg_line(versions, within, indent));
            out.extend(lines.iter().map(pad));
        }
        return;
    }
    let (open, close) = shapes[0].unwrap_or_default();
    out.extend(cfg_line(&present, within, indent));
    out.extend(variants[0].0[..open].iter().map(pad));
    // Newest first, so that the newest version's order of fields is the written one.
    let mut by_version: Vec<(u8, usize)> = variants
        .iter()
        .enumerate()
        .flat_map(|(i, (_, vs))| vs.iter().map(move |v| (*v, i)))
        .collect();
    by_version.sort_unstable_by_key(|&(v, _)| std::cmp::Reverse(v));
    let mut acc: Variants = Vec::new();
    for (v, i) in by_version {
        let (lines, _) = &variants[i];
        let (o, c) = shapes[i].unwrap_or_default();
        let body: Vec<&str> = lines[o..c].iter().map(String::as_str).collect();
        let inner: Vec<Vec<String>> = elements(&body, 0, body.len())
            .into_iter()
            .map(|(s, e)| body[s..e].iter().map(|l| (*l).to_owned()).collect())
            .collect();
        lcs_merge(&mut acc, &inner, v);
    }
    for (lines, versions) in &acc {
        let mut vs = versions.clone();
        vs.sort_unstable();
        let inner_indent = indent + fallback::indent_of(&lines[0]);
        out.extend(cfg_line(&vs, &present, inner_indent));
        out.extend(lines.iter().map(pad));
    }
    out.push(pad(&variants[0].0[close]));
}

/// Merges the bindings of every version (`(minor, text)`, any order) into the text of the
/// pre-generated file, without a banner.
pub fn merge_rust(inputs: &[(u8, String)]) -> Result<String, String> {
    let mut sorted: Vec<&(u8, String)> = inputs.iter().collect();
    sorted.sort_by_key(|&&(v, _)| std::cmp::Reverse(v));
    let within: Vec<u8> = inputs.iter().map(|(v, _)| *v).collect();
    let mut order: [Vec<(String, Vec<u8>)>; 2] = [Vec::new(), Vec::new()];
    let mut variants: BTreeMap<String, Variants> = BTreeMap::new();
    for (v, text) in sorted {
        let parsed = parse(text).map_err(|e| format!("3.{v}: {e}"))?;
        for foreign in [false, true] {
            let keys: Vec<String> = parsed
                .iter()
                .filter(|e| e.foreign == foreign)
                .map(|e| e.key.clone())
                .collect();
            lcs_merge(&mut order[usize::from(foreign)], &keys, *v);
        }
        for e in parsed {
            let key = format!("{}{}", if e.foreign { "extern " } else { "" }, e.key);
            let list = variants.entry(key).or_default();
            match list.iter_mut().find(|(lines, _)| *lines == e.lines) {
                Some((_, vs)) => vs.push(*v),
                None => list.push((e.lines, vec![*v])),
            }
        }
    }
    // A key that moved between versions appears twice in the merged order (the orders cross);
    // every variant of a key is written where the key first appears, and the order of items
    // means nothing to Rust.
    let mut written = std::collections::BTreeSet::new();
    let mut out: Vec<String> = Vec::new();
    for (key, _) in &order[0] {
        if written.insert(key.clone()) {
            emit(&mut out, &variants[key], &within, 0);
        }
    }
    out.push("unsafe extern \"C\" {".to_owned());
    for (key, _) in &order[1] {
        let key = format!("extern {key}");
        if written.insert(key.clone()) {
            emit(&mut out, &variants[&key], &within, 4);
        }
    }
    out.push("}".to_owned());
    Ok(out.join("\n") + "\n")
}

/// Checks that instantiating `merged` for `minor` declares exactly what `original` (bindgen's
/// output for that version) declares, in any order.
pub fn check_roundtrip(merged: &str, minor: u8, original: &str) -> Result<(), String> {
    let back = fallback::instantiate(merged, minor)?;
    let sorted = |text: &str| -> Result<Vec<(bool, Vec<String>)>, String> {
        let mut v: Vec<(bool, Vec<String>)> = parse(text)?
            .into_iter()
            .map(|e| (e.foreign, e.lines))
            .collect();
        v.sort();
        Ok(v)
    };
    let (want, got) = (sorted(original)?, sorted(&back)?);
    if want == got {
        return Ok(());
    }
    let missing = want.iter().find(|e| !got.contains(e));
    let extra = got.iter().find(|e| !want.contains(e));
    Err(format!(
        "the merged bindings do not give back 3.{minor}'s: {}",
        match (missing, extra) {
            (Some(m), _) => format!("missing `{}`", m.1.join(" ")),
            (None, Some(x)) => format!("extra `{}`", x.1.join(" ")),
            (None, None) => "an element repeats".to_owned(),
        }
    ))
}

/// Merges the `static inline` wrappers (one C file per version) into one file whose
/// definitions are guarded by `#if PY_VERSION_HEX` conditions.
pub fn merge_c(inputs: &[(u8, String)]) -> String {
    let within: Vec<u8> = inputs.iter().map(|(v, _)| *v).collect();
    let mut sorted: Vec<&(u8, String)> = inputs.iter().collect();
    sorted.sort_by_key(|&&(v, _)| std::cmp::Reverse(v));
    let mut acc: Vec<(String, Vec<u8>)> = Vec::new();
    for (v, text) in sorted {
        let defs: Vec<String> = text
            .lines()
            .filter(|l| l.contains(pyhost_build::bindings::STATIC_FNS_SUFFIX))
            .map(str::to_owned)
            .collect();
        lcs_merge(&mut acc, &defs, *v);
    }
    let mut out = format!(
        "#include \"{}\"\n\n// Static wrappers\n\n",
        pyhost_build::bindings::SHIM_HEADER
    );
    for (line, versions) in acc {
        let mut vs = versions;
        vs.sort_unstable();
        match fallback::c_condition(&vs, &within) {
            Some(c) => out.push_str(&format!("#if {c}\n{line}\n#endif\n")),
            None => out.push_str(&format!("{line}\n")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(minor: u8, body: &str) -> (u8, String) {
        (minor, body.to_owned())
    }

    /// Three versions of a small header: a struct that gains and changes fields, an alias
    /// that changes, a function that appears, one that goes, and a layout block.
    fn inputs() -> Vec<(u8, String)> {
        let common = "pub type Py_ssize_t = isize;\n";
        let mk = |fields: &str, alias: &str, fns: &str, size: u32| {
            format!(
                "/* automatically generated by rust-bindgen 0.73.0 */\n\n{common}#[repr(C)]\n\
                 #[derive(Copy, Clone)]\npub struct PyConfig {{\n{fields}}}\n{alias}\n\
                 #[allow(clippy::unnecessary_operation, clippy::identity_op)]\nconst _: () = {{\n    \
                 [\"Size of PyConfig\"][::std::mem::size_of::<PyConfig>() - {size}usize];\n}};\n\
                 unsafe extern \"C\" {{\n{fns}}}\n"
            )
        };
        let all_versions: Vec<u8> = fallback::MINORS.collect();
        all_versions
            .iter()
            .map(|&m| {
                let mut fields = String::from("    pub isolated: ::std::os::raw::c_int,\n");
                if m >= 10 {
                    fields.push_str("    pub warn_default_encoding: ::std::os::raw::c_int,\n");
                }
                fields.push_str(if m >= 14 {
                    "    pub flags: u32,\n"
                } else {
                    "    pub flags: u16,\n"
                });
                let alias = if m >= 12 {
                    "pub type Alias = u64;"
                } else {
                    "pub type Alias = u32;"
                };
                let mut fns = String::from("    pub fn Py_Initialize();\n");
                if m >= 13 {
                    fns.push_str("    pub fn Py_IsFinalizing() -> ::std::os::raw::c_int;\n");
                }
                if m < 12 {
                    fns.push_str("    pub fn _Py_IsFinalizing(\n        a: u8,\n    ) -> u8;\n");
                }
                let size = if m >= 10 { 12 } else { 8 };
                v(m, &mk(&fields, alias, &fns, size))
            })
            .collect()
    }

    fn normalized(text: &str) -> String {
        text.lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("/* automatically"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    }

    #[test]
    fn instantiating_the_merge_gives_back_every_version() {
        let inputs = inputs();
        let merged = merge_rust(&inputs).unwrap();
        for (m, text) in &inputs {
            let back = fallback::instantiate(&merged, *m).unwrap();
            // Items keep their order; the foreign items end up in one block at the end, as
            // bindgen writes them with merge_extern_blocks.
            assert_eq!(back, normalized(text), "3.{m}\n--- merged:\n{merged}");
        }
    }

    #[test]
    fn fields_are_merged_one_by_one_and_items_written_once() {
        let merged = merge_rust(&inputs()).unwrap();
        assert_eq!(
            merged.matches("pub struct PyConfig {").count(),
            1,
            "{merged}"
        );
        assert_eq!(merged.matches("pub isolated:").count(), 1);
        assert!(merged.contains(
            "    #[cfg(py_3_10)]\n    pub warn_default_encoding: ::std::os::raw::c_int,\n"
        ));
        assert!(merged.contains("    #[cfg(not(py_3_14))]\n    pub flags: u16,\n"));
        assert!(merged.contains("#[cfg(py_3_12)]\npub type Alias = u64;\n"));
        assert!(merged.contains("    #[cfg(not(py_3_12))]\n    pub fn _Py_IsFinalizing(\n"));
        assert_eq!(merged.matches("pub type Py_ssize_t").count(), 1);
        assert_eq!(merged.matches("unsafe extern \"C\" {").count(), 1);
    }

    #[test]
    fn c_wrappers_get_version_guards() {
        let a = "#include \"x\"\nint A__pyhost_sys(void) { return A(); }\n";
        let b = "#include \"x\"\nint A__pyhost_sys(void) { return A(); }\nint B__pyhost_sys(void) { return B(); }\n";
        let inputs: Vec<(u8, String)> = fallback::MINORS
            .map(|m| (m, if m >= 12 { b } else { a }.to_owned()))
            .collect();
        let c = merge_c(&inputs);
        assert!(c.contains("\nint A__pyhost_sys(void) { return A(); }\n"));
        assert!(c.contains(
            "#if PY_VERSION_HEX >= 0x030C0000\nint B__pyhost_sys(void) { return B(); }\n#endif\n"
        ));
    }

    #[test]
    fn keys_name_what_is_declared() {
        let k = |s: &str| key_of(&s.lines().map(str::to_owned).collect::<Vec<_>>());
        assert_eq!(k("#[repr(C)]\npub struct _object {\n}"), "struct _object");
        assert_eq!(k("pub type PyObject = _object;"), "type PyObject");
        assert_eq!(
            k("pub const PY_VERSION: &[u8; 7] = b\"x\";"),
            "const PY_VERSION"
        );
        assert_eq!(
            k("#[link_name = \"x\"]\npub fn Py_INCREF(op: *mut PyObject);"),
            "fn Py_INCREF"
        );
        assert_eq!(
            k("pub static mut PyLong_Type: PyTypeObject;"),
            "static PyLong_Type"
        );
        assert_eq!(
            k(
                "const _: () = {\n    [\n        \"Offset of field: PyConfig::isolated\",\n    ][0];\n};"
            ),
            "assert PyConfig"
        );
    }
}
