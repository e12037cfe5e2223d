//! The pre-generated bindings: one file for every CPython minor version pyhost knows, each item
//! written once, under a `#[cfg(py_3_N)]`-style condition where versions differ.
//!
//! `cargo xtask bindings` writes the file (it merges what bindgen produced for each version);
//! a build without libclang turns it back into what bindgen would have produced for one version
//! with [`instantiate`], so that everything downstream (the layout probe, the object model)
//! reads one version's declarations, whichever way they were made.
//!
//! The file is valid Rust as it stands (rustc could evaluate the conditions itself), in a
//! regular shape the functions here rely on: prettyplease's layout, no blank lines, and a
//! condition always alone on its line, right above the element it governs (an item, a field, a
//! foreign function or a layout assertion). An element is its first line at some indentation
//! plus every following line that is indented deeper or starts with a closing bracket at the
//! same indentation; attributes and doc comments belong to the element below them.
//!
//! ```
//! let text = "pub const A: u32 = 1;\n#[cfg(py_3_12)]\npub const B: u32 = 2;\n\
//!             pub struct S {\n    pub a: u32,\n    #[cfg(not(py_3_10))]\n    pub old: u8,\n}\n";
//! let for_311 = pyhost_build::fallback::instantiate(text, 11).unwrap();
//! assert_eq!(for_311, "pub const A: u32 = 1;\npub struct S {\n    pub a: u32,\n}\n");
//! ```

use std::ops::RangeInclusive;

use crate::version::{MAX_TESTED_MINOR, MIN_MINOR};

/// The minor versions the pre-generated file covers.
pub const MINORS: RangeInclusive<u8> = MIN_MINOR..=MAX_TESTED_MINOR;

/// The targets the pre-generated file was generated and tested for. Everything that differs
/// between them lives in pyhost-sys's hand-written `target` module, not in the file.
pub const TARGETS: &[&str] = &["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

/// The file's name inside pyhost-sys's `bindings/` directory.
pub const RUST_FILE: &str = "python3.rs";
/// The C wrappers of the `static inline` functions, with `#if PY_VERSION_HEX` guards.
pub const C_FILE: &str = "python3_static_fns.c";

/// Number of spaces before the first non-space character.
pub fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_closer(line: &str, indent: usize) -> bool {
    indent_of(line) == indent && line[indent..].starts_with(['}', ')', ']', '>'])
}

/// The end (exclusive) of the element that starts at `lines[start]`, at `lines[start]`'s
/// indentation: its continuation lines, and the item below when it is an attribute.
pub fn element_end(lines: &[&str], start: usize) -> usize {
    let indent = indent_of(lines[start]);
    let mut i = start;
    loop {
        let head = &lines[i][indent..];
        let is_attribute = head.starts_with("#[") || head.starts_with("///");
        i += 1;
        while i < lines.len()
            && !lines[i].trim().is_empty()
            && (indent_of(lines[i]) > indent || is_closer(lines[i], indent))
        {
            i += 1;
        }
        if !is_attribute || i >= lines.len() || indent_of(lines[i]) != indent {
            return i;
        }
    }
}

/// The elements directly inside `lines[from..to]` (all at the indentation of `lines[from]`),
/// as `(start, end)` line ranges.
pub fn elements(lines: &[&str], from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = from;
    while i < to {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let end = element_end(lines, i).min(to);
        out.push((i, end));
        i = end;
    }
    out
}

/// The condition of a `#[cfg(...)]` line, if it is one.
pub fn cfg_of(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix("#[cfg(")
        .and_then(|r| r.strip_suffix(")]"))
}

/// Evaluates a condition made of `py_3_N`, `all(..)`, `any(..)` and `not(..)` for one minor
/// version of CPython 3. Anything else is an error: the file holds nothing else.
pub fn evaluate(condition: &str, minor: u8) -> Result<bool, String> {
    let mut p = Parser {
        s: condition.as_bytes(),
        at: 0,
    };
    let v = p.expr(minor)?;
    p.skip_ws();
    if p.at != p.s.len() {
        return Err(format!("trailing text in `cfg({condition})`"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.at < self.s.len() && self.s[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn word(&mut self) -> &str {
        self.skip_ws();
        let start = self.at;
        while self.at < self.s.len()
            && (self.s[self.at].is_ascii_alphanumeric() || self.s[self.at] == b'_')
        {
            self.at += 1;
        }
        std::str::from_utf8(&self.s[start..self.at]).unwrap_or("")
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.skip_ws();
        if self.s.get(self.at) == Some(&c) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!(
                "expected `{}` at byte {} of `{}`",
                c as char,
                self.at,
                String::from_utf8_lossy(self.s)
            ))
        }
    }

    fn list(&mut self, minor: u8) -> Result<Vec<bool>, String> {
        self.eat(b'(')?;
        let mut out = Vec::new();
        loop {
            self.skip_ws();
            if self.s.get(self.at) == Some(&b')') {
                self.at += 1;
                return Ok(out);
            }
            out.push(self.expr(minor)?);
            self.skip_ws();
            if self.s.get(self.at) == Some(&b',') {
                self.at += 1;
            }
        }
    }

    fn expr(&mut self, minor: u8) -> Result<bool, String> {
        let word = self.word().to_owned();
        match word.as_str() {
            "all" => Ok(self.list(minor)?.into_iter().all(|b| b)),
            "any" => Ok(self.list(minor)?.into_iter().any(|b| b)),
            "not" => {
                let inner = self.list(minor)?;
                match inner.as_slice() {
                    [one] => Ok(!one),
                    _ => Err("`not` takes one condition".to_owned()),
                }
            }
            w => match w.strip_prefix("py_3_").and_then(|n| n.parse::<u8>().ok()) {
                Some(n) => Ok(minor >= n),
                None => Err(format!(
                    "`{w}` is not a condition of the pre-generated bindings (only py_3_N, all, \
                     any, not)"
                )),
            },
        }
    }
}

/// The declarations of the pre-generated file for CPython 3.`minor`: every element whose
/// condition holds, without the condition lines.
pub fn instantiate(text: &str, minor: u8) -> Result<String, String> {
    if !MINORS.contains(&minor) {
        return Err(format!(
            "the pre-generated bindings cover CPython 3.{}-3.{}, not 3.{minor}",
            MINORS.start(),
            MINORS.end()
        ));
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(cond) = cfg_of(line) {
            let keep = evaluate(cond, minor).map_err(|e| format!("line {}: {e}", i + 1))?;
            if keep || i + 1 >= lines.len() {
                i += 1;
            } else {
                i = element_end(&lines, i + 1);
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
        i += 1;
    }
    Ok(out)
}

/// A `cfg` condition that selects exactly the versions in `set` among those in `within`
/// (versions outside `within` may go either way: the element's parent already excludes
/// them). `None` when no condition is needed.
pub fn condition(set: &[u8], within: &[u8]) -> Option<String> {
    let all: Vec<u8> = MINORS.collect();
    // Runs of versions that are either in the set or don't-care, holding one of the set.
    let mut runs: Vec<(u8, u8)> = Vec::new();
    let mut current: Option<(u8, u8, bool)> = None;
    for &v in &all {
        let excluded = within.contains(&v) && !set.contains(&v);
        if excluded {
            if let Some((a, b, true)) = current.take() {
                runs.push((a, b));
            }
            current = None;
            continue;
        }
        let hit = set.contains(&v);
        current = match current {
            None => Some((v, v, hit)),
            Some((a, _, h)) => Some((a, v, h || hit)),
        };
    }
    if let Some((a, b, true)) = current {
        runs.push((a, b));
    }
    // A run that reaches the oldest or the newest version needs no bound on that side.
    let first = *all.first()?;
    let last = *all.last()?;
    let parts: Vec<String> = runs
        .iter()
        .map(|&(a, b)| {
            let lower = (a != first).then(|| format!("py_3_{a}"));
            let upper = (b != last).then(|| format!("not(py_3_{})", b + 1));
            match (lower, upper) {
                (None, None) => String::new(),
                (Some(l), None) => l,
                (None, Some(u)) => u,
                (Some(l), Some(u)) => format!("all({l}, {u})"),
            }
        })
        .collect();
    match parts.as_slice() {
        [] => Some("any()".to_owned()),
        [one] if one.is_empty() => None,
        [one] => Some(one.clone()),
        many => Some(format!("any({})", many.join(", "))),
    }
}

/// The C preprocessor condition for the versions in `set` among those in `within`, as
/// [`condition`] does it for Rust.
pub fn c_condition(set: &[u8], within: &[u8]) -> Option<String> {
    let rust = condition(set, within)?;
    Some(rust_to_c(&rust))
}

fn rust_to_c(cond: &str) -> String {
    // The conditions `condition` writes: py_3_N, not(py_3_N), all(a, b), any(x, y, ...).
    if let Some(inner) = cond.strip_prefix("all(").and_then(|r| r.strip_suffix(')')) {
        return split_top(inner)
            .iter()
            .map(|p| rust_to_c(p))
            .collect::<Vec<_>>()
            .join(" && ");
    }
    if let Some(inner) = cond.strip_prefix("any(").and_then(|r| r.strip_suffix(')')) {
        let parts = split_top(inner);
        if parts.is_empty() {
            return "0".to_owned();
        }
        return parts
            .iter()
            .map(|p| format!("({})", rust_to_c(p)))
            .collect::<Vec<_>>()
            .join(" || ");
    }
    if let Some(inner) = cond.strip_prefix("not(").and_then(|r| r.strip_suffix(')')) {
        return format!("!({})", rust_to_c(inner));
    }
    match cond
        .strip_prefix("py_3_")
        .and_then(|n| n.parse::<u8>().ok())
    {
        Some(n) => format!("PY_VERSION_HEX >= 0x03{n:02X}0000"),
        None => cond.to_owned(),
    }
}

fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_owned());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<u8> {
        MINORS.collect()
    }

    #[test]
    fn conditions_evaluate() {
        assert!(evaluate("py_3_12", 12).unwrap());
        assert!(!evaluate("py_3_12", 11).unwrap());
        assert!(evaluate("all(py_3_9, not(py_3_12))", 11).unwrap());
        assert!(!evaluate("all(py_3_9, not(py_3_12))", 12).unwrap());
        assert!(evaluate("any(not(py_3_9), py_3_13)", 8).unwrap());
        assert!(!evaluate("any()", 8).unwrap());
        assert!(evaluate("target_os = \"linux\"", 8).is_err());
        assert!(evaluate("py_3_12)", 12).is_err());
    }

    #[test]
    fn conditions_are_minimal_ranges() {
        let a = all();
        assert_eq!(condition(&a, &a), None);
        assert_eq!(condition(&[12, 13, 14, 15], &a).as_deref(), Some("py_3_12"));
        assert_eq!(condition(&[8, 9, 10], &a).as_deref(), Some("not(py_3_11)"));
        assert_eq!(
            condition(&[10, 11], &a).as_deref(),
            Some("all(py_3_10, not(py_3_12))")
        );
        assert_eq!(
            condition(&[8, 13], &a).as_deref(),
            Some("any(not(py_3_9), all(py_3_13, not(py_3_14)))")
        );
        // Inside a parent that exists on 3.12+ only, 3.14+ needs no upper bound.
        assert_eq!(
            condition(&[14, 15], &[12, 13, 14, 15]).as_deref(),
            Some("py_3_14")
        );
        assert_eq!(
            condition(&[12, 13], &[12, 13, 14, 15]).as_deref(),
            Some("not(py_3_14)")
        );
        assert_eq!(condition(&[12, 13], &[12, 13]), None);
        // Every condition selects exactly its set on every version the parent has.
        for mask in 1u32..(1 << a.len()) {
            let set: Vec<u8> = a
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, v)| *v)
                .collect();
            let c = condition(&set, &a);
            for &v in &a {
                let got = c.as_deref().is_none_or(|c| evaluate(c, v).unwrap());
                assert_eq!(got, set.contains(&v), "{c:?} on 3.{v}");
            }
        }
    }

    #[test]
    fn c_conditions_follow_the_rust_ones() {
        let a = all();
        assert_eq!(
            c_condition(&[10, 11], &a).as_deref(),
            Some("PY_VERSION_HEX >= 0x030A0000 && !(PY_VERSION_HEX >= 0x030C0000)")
        );
        assert_eq!(
            c_condition(&[14, 15], &a).as_deref(),
            Some("PY_VERSION_HEX >= 0x030E0000")
        );
    }

    #[test]
    fn elements_take_continuations_and_attributes() {
        let text = "#[repr(C)]\n#[derive(Copy)]\npub struct A {\n    pub x: u8,\n}\n\
                    pub type F = Option<\n    fn(),\n>;\nunsafe extern \"C\" {\n    \
                    #[link_name = \"x\"]\n    pub fn f(\n        a: u8,\n    ) -> u8;\n    \
                    pub fn g();\n}\n";
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(elements(&lines, 0, lines.len()), [(0, 5), (5, 8), (8, 15)]);
        assert_eq!(elements(&lines, 9, 14), [(9, 13), (13, 14)]);
    }

    #[test]
    fn instantiate_drops_what_does_not_apply() {
        let text = "#[cfg(py_3_12)]\n#[repr(C)]\npub struct New {\n    pub x: u8,\n}\n\
                    unsafe extern \"C\" {\n    #[cfg(not(py_3_10))]\n    pub fn old(\n        \
                    a: u8,\n    );\n    pub fn both();\n}\n";
        assert_eq!(
            instantiate(text, 9).unwrap(),
            "unsafe extern \"C\" {\n    pub fn old(\n        a: u8,\n    );\n    pub fn both();\n}\n"
        );
        assert_eq!(
            instantiate(text, 12).unwrap(),
            "#[repr(C)]\npub struct New {\n    pub x: u8,\n}\nunsafe extern \"C\" {\n    pub fn both();\n}\n"
        );
        assert!(instantiate(text, 7).is_err());
    }
}
