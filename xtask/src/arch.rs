//! The architecture's rules (ARCHITECTURE.md), checked on the sources by `cargo test`: where
//! `unsafe` and calls into libpython may be, how long a file may get, and which modules of
//! pyhost may import which.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The files of `src/` that may hold `unsafe` code and call libpython: the handles and the
/// raw layer.
pub const UNSAFE_FILES: [&str; 11] = [
    "src/object.rs",
    "src/raw/alloc.rs",
    "src/raw/builtins.rs",
    "src/raw/deferred.rs",
    "src/raw/entry.rs",
    "src/raw/interp.rs",
    "src/raw/modules.rs",
    "src/raw/objects.rs",
    "src/raw/os.rs",
    "src/raw/runtime.rs",
    "src/raw/types.rs",
];

/// The most lines a hand-written file may have.
pub const MAX_LINES: usize = 800;

/// The core of pyhost: the raw layer, handles, errors, types and conversions. They depend on
/// one another (a handle's drop and an error's fetch call into raw, which returns handles and
/// errors), and on nothing else of the crate.
pub const CORE: [&str; 5] = ["conversion", "err", "object", "raw", "types"];

/// Every `.rs` file under `dir`, relative to `root`, sorted.
fn rust_files(root: &Path, dir: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "target") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p.strip_prefix(root).unwrap_or(&p).to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The text without comments (line comments, doc comments) and string literals' contents, so
/// that a word in prose or in a message does not count as code.
pub fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    in_str = false;
                    out.push('"');
                }
                '\n' => out.push('\n'),
                _ => {}
            }
            continue;
        }
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                in_str = true;
                out.push('"');
            }
            // A char literal holding a quote would start a string: skip it whole.
            '\'' if chars.peek() == Some(&'"') => {
                chars.next();
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Whether `code` (see [`code_only`]) holds `unsafe` as a keyword.
pub fn has_unsafe(code: &str) -> bool {
    code.match_indices("unsafe").any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + "unsafe".len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

/// Whether `code` calls a function of the bindings: `ffi::Name(`.
pub fn calls_ffi(code: &str) -> bool {
    code.match_indices("ffi::").any(|(i, _)| {
        let rest = &code[i + "ffi::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        !name.is_empty() && rest[name.len()..].starts_with('(')
    })
}

/// The top-level module of pyhost a file of `src/` belongs to (`src/raw/entry.rs` → `raw`).
fn top_module(rel: &Path) -> Option<String> {
    let mut parts = rel.strip_prefix("src").ok()?.components();
    let first = parts.next()?.as_os_str().to_string_lossy().into_owned();
    let name = first.trim_end_matches(".rs").to_owned();
    (name != "lib").then_some(name)
}

/// Which top-level module each name re-exported at the crate root comes from
/// (`pub use object::{Borrowed, Object};` → `Object` → `object`).
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let code = code_only(lib);
    for stmt in code.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let module: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if module == "crate" || module.is_empty() {
            continue;
        }
        let names = match (rest.find('{'), rest.rfind('}')) {
            (Some(a), Some(b)) => rest[a + 1..b].to_owned(),
            _ => rest.rsplit("::").next().unwrap_or("").to_owned(),
        };
        for n in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            out.entry(n.to_owned()).or_insert_with(|| module.clone());
        }
    }
    out
}

/// The import graph between pyhost's top-level modules: an edge for each `crate::x` path
/// (or a root re-export such as `crate::Object`) used in a module's files.
pub fn module_graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap_or_default();
    let reexports = root_reexports(&lib);
    let files = rust_files(root, "src");
    let modules: BTreeSet<String> = files.iter().filter_map(|f| top_module(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    let resolve = |name: &str| -> Option<String> {
        if modules.contains(name) {
            Some(name.to_owned())
        } else {
            reexports
                .get(name)
                .filter(|m| modules.contains(*m))
                .cloned()
        }
    };
    for f in &files {
        let Some(m) = top_module(f) else { continue };
        let code = code_only(&std::fs::read_to_string(root.join(f)).unwrap_or_default());
        let mut targets = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for part in group[..end].split(',') {
                    let first = part.trim().split("::").next().unwrap_or("").trim();
                    targets.extend(resolve(first));
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                targets.extend(resolve(&name));
            }
        }
        targets.remove(&m);
        graph.entry(m).or_default().extend(targets);
    }
    graph
}

/// The strongly connected groups of more than one module (import cycles).
pub fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(n) = stack.pop() {
            for next in graph.get(&n).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for m in graph.keys() {
        if groups.iter().any(|g| g.contains(m)) {
            continue;
        }
        let from_m = reach(m);
        let group: BTreeSet<String> = from_m
            .iter()
            .filter(|o| *o != m && reach(o).contains(m))
            .cloned()
            .chain(std::iter::once(m.clone()))
            .collect();
        if group.len() > 1 {
            groups.push(group);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        crate::util::workspace_root()
    }

    #[test]
    fn unsafe_code_and_ffi_calls_live_in_the_raw_layer_and_the_handles() {
        let mut offenders = Vec::new();
        let mut with_unsafe = BTreeSet::new();
        for f in rust_files(&root(), "src") {
            let code = code_only(&std::fs::read_to_string(root().join(&f)).unwrap());
            let name = f.to_string_lossy().into_owned();
            let allowed = UNSAFE_FILES.contains(&name.as_str());
            if has_unsafe(&code) {
                with_unsafe.insert(name.clone());
                if !allowed {
                    offenders.push(format!("{name}: unsafe"));
                }
            }
            if calls_ffi(&code) && !allowed {
                offenders.push(format!("{name}: calls ffi"));
            }
        }
        assert!(offenders.is_empty(), "outside the raw layer: {offenders:?}");
        // The list is not stale: every file on it still needs to be there.
        assert_eq!(
            with_unsafe.iter().map(String::as_str).collect::<Vec<_>>(),
            UNSAFE_FILES
        );
    }

    #[test]
    fn no_hand_written_file_is_over_800_lines() {
        let mut long = Vec::new();
        for dir in [
            "src",
            "macros",
            "build-support",
            "ffi-sys/src",
            "ffi-sys/build.rs",
            "cargo-pyhost",
            "xtask",
            "examples",
            "benches",
            "tests",
        ] {
            let files = if dir.ends_with(".rs") {
                vec![PathBuf::from(dir)]
            } else {
                rust_files(&root(), dir)
            };
            for f in files {
                let lines = std::fs::read_to_string(root().join(&f))
                    .map(|t| t.lines().count())
                    .unwrap_or(0);
                if lines > MAX_LINES {
                    long.push(format!("{} ({lines} lines)", f.display()));
                }
            }
        }
        assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
    }

    #[test]
    fn the_only_import_cycle_is_the_core_and_the_core_imports_nothing_above_it() {
        let graph = module_graph(&root());
        for m in [
            "arguments",
            "class",
            "function",
            "module_def",
            "raw",
            "executor",
        ] {
            assert!(graph.contains_key(m), "module {m} not found: {graph:?}");
        }
        let core: BTreeSet<String> = CORE.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(cycles(&graph), vec![core.clone()], "{graph:#?}");
        for m in &core {
            let above: Vec<&String> = graph[m].iter().filter(|t| !core.contains(*t)).collect();
            assert!(above.is_empty(), "{m} imports {above:?}");
        }
    }

    #[test]
    fn the_scanner_sees_code_not_prose() {
        // The keyword is spelled apart here so that this file holds no unsafe block itself.
        let kw = "unsafe";
        let code = code_only(&format!(
            "// {kw} here\nlet s = \"ffi::Py_X(\"; {kw} {{ ffi::Py_Y(1) }}\n"
        ));
        assert!(has_unsafe(&code) && calls_ffi(&code));
        let prose = code_only(&format!(
            "/// {kw} {{ ffi::Py_Z() }}\nlet unsafely = \"{kw}\";\n"
        ));
        assert!(!has_unsafe(&prose) && !calls_ffi(&prose));
        assert!(!calls_ffi(&code_only("let x = ffi::Py_EQ;")));
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        g.insert("a".into(), ["b".to_owned()].into());
        g.insert("b".into(), ["a".to_owned()].into());
        g.insert("c".into(), ["a".to_owned()].into());
        assert_eq!(cycles(&g), vec![["a".to_owned(), "b".to_owned()].into()]);
    }
}
