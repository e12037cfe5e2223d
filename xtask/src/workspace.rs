//! The workspace as `cargo metadata` describes it, and the test suite that depends on the
//! Python being linked.
//!
//! Which members and targets that is follows from the manifests, not from a list kept here:
//! a member depends on the Python when it depends (normally or for its tests) on the
//! `links = "python3"` crate, directly or through another member.

use std::path::{Path, PathBuf};

use crate::json::{self, Value};
use crate::util;

/// One workspace member.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    pub name: String,
    /// The `links` key of its manifest.
    pub links: Option<String>,
    /// `(name, kind)` of its dependencies; kind is `None` for normal ones, `dev`, `build`.
    pub deps: Vec<(String, Option<String>)>,
    pub targets: Vec<Target>,
    /// `[package.metadata.pyhost] matrix-skip`: integration tests (or `"*"` for the whole
    /// package) left out of the runs on the other Pythons, each with its reason.
    pub matrix_skip: Vec<(String, String)>,
}

/// One target of a member.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// `lib`, `proc-macro`, `bin`, `test`, `example`, `bench`, `custom-build`.
    pub kind: String,
    pub name: String,
    pub src_path: PathBuf,
    /// Whether `cargo test` runs it by default.
    pub test: bool,
    pub required_features: Vec<String>,
}

/// Reads the workspace members with `cargo metadata --no-deps`.
pub fn members() -> Result<Vec<Package>, String> {
    let out = std::process::Command::new(util::cargo())
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(util::workspace_root())
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    parse_members(&String::from_utf8_lossy(&out.stdout))
}

/// The members in `cargo metadata` output.
pub fn parse_members(text: &str) -> Result<Vec<Package>, String> {
    let doc = json::parse(text)?;
    let ids = doc.get("workspace_members").strings();
    Ok(doc
        .get("packages")
        .items()
        .iter()
        .filter(|p| {
            p.get("id")
                .as_str()
                .is_some_and(|id| ids.iter().any(|m| m == id))
        })
        .map(|p| Package {
            name: p.get("name").as_str().unwrap_or_default().to_owned(),
            links: p.get("links").as_str().map(str::to_owned),
            deps: p
                .get("dependencies")
                .items()
                .iter()
                .map(|d| {
                    (
                        d.get("rename")
                            .as_str()
                            .or(d.get("name").as_str())
                            .unwrap_or_default()
                            .to_owned(),
                        d.get("kind").as_str().map(str::to_owned),
                    )
                })
                .collect(),
            targets: p.get("targets").items().iter().map(target).collect(),
            matrix_skip: p
                .get("metadata")
                .get("pyhost")
                .get("matrix-skip")
                .items()
                .iter()
                .map(|e| {
                    (
                        e.get("test").as_str().unwrap_or_default().to_owned(),
                        e.get("why").as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        })
        .collect())
}

fn target(t: &Value) -> Target {
    Target {
        kind: t
            .get("kind")
            .strings()
            .into_iter()
            .next()
            .unwrap_or_default(),
        name: t.get("name").as_str().unwrap_or_default().to_owned(),
        src_path: PathBuf::from(t.get("src_path").as_str().unwrap_or_default()),
        test: t.get("test").as_bool().unwrap_or(false),
        required_features: t.get("required-features").strings(),
    }
}

/// The members whose build depends on the Python: the `links = "python3"` crate and every
/// member that depends on one of them (normal or dev dependency; a build dependency runs on
/// the host and links nothing into the member).
pub fn python_dependent(members: &[Package]) -> Vec<&Package> {
    let mut names: Vec<&str> = members
        .iter()
        .filter(|p| p.links.as_deref() == Some("python3"))
        .map(|p| p.name.as_str())
        .collect();
    loop {
        let before = names.len();
        for p in members {
            if names.contains(&p.name.as_str()) {
                continue;
            }
            let depends = p.deps.iter().any(|(dep, kind)| {
                kind.as_deref() != Some("build") && names.contains(&dep.as_str())
            });
            if depends {
                names.push(&p.name);
            }
        }
        if names.len() == before {
            break;
        }
    }
    members
        .iter()
        .filter(|p| names.contains(&p.name.as_str()))
        .collect()
}

/// The part of `cargo test` that depends on the Python version, for the given members.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Suite {
    pub packages: Vec<String>,
    pub lib: bool,
    pub bins: bool,
    pub tests: Vec<String>,
    pub examples: bool,
    /// What was left out, and why.
    pub excluded: Vec<String>,
}

impl Suite {
    /// What `cargo test` would build and run for `packages`, less doc tests and compile-fail
    /// tests: unit tests of libraries and binaries, integration tests, and examples (built,
    /// so that they link).
    ///
    /// Why these and not the rest: compile-fail tests (trybuild) check type errors, which do
    /// not depend on the Python version, and each recompiles its cases (tens of seconds per
    /// Python); doc tests are one rustc invocation each and exercise the API's spelling,
    /// which the default Python covers. The unit and integration tests are what calls into
    /// the interpreter and differs between versions.
    pub fn for_packages(packages: &[&Package], is_compile_fail: impl Fn(&Path) -> bool) -> Suite {
        let mut s = Suite::default();
        for p in packages {
            if let Some((_, why)) = p.matrix_skip.iter().find(|(t, _)| t == "*") {
                s.excluded.push(format!("{}: everything ({why})", p.name));
                continue;
            }
            s.packages.push(p.name.clone());
            for t in &p.targets {
                if t.kind == "test" {
                    if let Some((_, why)) = p.matrix_skip.iter().find(|(n, _)| *n == t.name) {
                        s.excluded
                            .push(format!("{}: test `{}` ({why})", p.name, t.name));
                        continue;
                    }
                }
                if !t.required_features.is_empty() {
                    s.excluded.push(format!(
                        "{}: {} `{}` (needs features {})",
                        p.name,
                        t.kind,
                        t.name,
                        t.required_features.join(",")
                    ));
                    continue;
                }
                match t.kind.as_str() {
                    "lib" | "rlib" | "dylib" | "proc-macro" if t.test => s.lib = true,
                    "bin" if t.test => s.bins = true,
                    "example" => s.examples = true,
                    "test" if is_compile_fail(&t.src_path) => s.excluded.push(format!(
                        "{}: test `{}` (compile-fail tests, independent of the Python version)",
                        p.name, t.name
                    )),
                    "test" if !s.tests.contains(&t.name) => s.tests.push(t.name.clone()),
                    _ => {}
                }
            }
        }
        if !s.packages.is_empty() {
            s.excluded
                .push("doc tests (API spelling, run on the default Python only)".into());
        }
        s
    }

    /// The suite of the Python-dependent members of the workspace.
    pub fn of_workspace() -> Result<Suite, String> {
        let members = members()?;
        let deps = python_dependent(&members);
        if deps.is_empty() {
            return Err("no workspace member depends on a `links = \"python3\"` crate".into());
        }
        Ok(Suite::for_packages(&deps, uses_trybuild))
    }

    /// `-p A -p B --lib --bins --test x … --examples` for `cargo test`.
    pub fn args(&self) -> Vec<String> {
        let mut a = Vec::new();
        for p in &self.packages {
            a.push("-p".to_owned());
            a.push(p.clone());
        }
        if self.lib {
            a.push("--lib".to_owned());
        }
        if self.bins {
            a.push("--bins".to_owned());
        }
        for t in &self.tests {
            a.push("--test".to_owned());
            a.push(t.clone());
        }
        if self.examples {
            a.push("--examples".to_owned());
        }
        a
    }

    /// Whether it holds this integration test of this package.
    pub fn has_test(&self, package: &str, test: &str) -> bool {
        self.packages.iter().any(|p| p == package) && self.tests.iter().any(|t| t == test)
    }
}

/// Whether a test target is a trybuild compile-fail suite.
pub fn uses_trybuild(src: &Path) -> bool {
    std::fs::read_to_string(src).is_ok_and(|s| s.contains("trybuild::"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = r#"{
      "packages": [
        {"name": "pyhost", "id": "path+file:///w#pyhost@0.1.0", "links": "pyhost",
         "dependencies": [{"name": "pyhost-sys", "kind": null}, {"name": "pyhost-build", "kind": "build"},
                          {"name": "trybuild", "kind": "dev"}],
         "targets": [
           {"kind": ["lib"], "name": "pyhost", "src_path": "/w/src/lib.rs", "test": true},
           {"kind": ["test"], "name": "gil", "src_path": "/w/tests/gil.rs", "test": true},
           {"kind": ["test"], "name": "compile_fail", "src_path": "/w/tests/compile_fail.rs", "test": true},
           {"kind": ["custom-build"], "name": "build-script-build", "src_path": "/w/build.rs", "test": false}
         ]},
        {"name": "pyhost-sys", "id": "path+file:///w/ffi-sys#pyhost-sys@0.1.0", "links": "python3",
         "dependencies": [{"name": "pyhost-build", "kind": "build"}],
         "targets": [
           {"kind": ["lib"], "name": "pyhost_sys", "src_path": "/w/ffi-sys/src/lib.rs", "test": true},
           {"kind": ["test"], "name": "raw", "src_path": "/w/ffi-sys/tests/raw.rs", "test": true}
         ]},
        {"name": "pyhost-build", "id": "path+file:///w/build-support#pyhost-build@0.1.0", "links": null,
         "dependencies": [], "targets": [
           {"kind": ["lib"], "name": "pyhost_build", "src_path": "/w/build-support/src/lib.rs", "test": true}]},
        {"name": "pyhost-macros", "id": "path+file:///w/macros#pyhost-macros@0.1.0", "links": null,
         "dependencies": [{"name": "syn", "kind": null}, {"name": "pyhost", "kind": "dev"}],
         "targets": [
           {"kind": ["proc-macro"], "name": "pyhost_macros", "src_path": "/w/macros/src/lib.rs", "test": true},
           {"kind": ["test"], "name": "expand", "src_path": "/w/macros/tests/expand.rs", "test": true}]},
        {"name": "agent", "id": "path+file:///w/examples/agent#agent@0.1.0", "links": null,
         "dependencies": [{"name": "pyhost", "kind": null, "optional": true}],
         "targets": [
           {"kind": ["bin"], "name": "agent", "src_path": "/w/examples/agent/src/main.rs", "test": true},
           {"kind": ["example"], "name": "demo", "src_path": "/w/examples/agent/examples/demo.rs", "test": false},
           {"kind": ["bench"], "name": "speed", "src_path": "/w/examples/agent/benches/speed.rs", "test": false,
            "required-features": ["bench"]}]},
        {"name": "xtask", "id": "path+file:///w/xtask#0.1.0", "links": null,
         "dependencies": [{"name": "pyhost-build", "kind": null}],
         "targets": [{"kind": ["bin"], "name": "xtask", "src_path": "/w/xtask/src/main.rs", "test": true}]},
        {"name": "serde", "id": "registry+https://github.com/rust-lang/crates.io-index#serde@1.0.0",
         "dependencies": [], "targets": []}
      ],
      "workspace_members": ["path+file:///w#pyhost@0.1.0", "path+file:///w/ffi-sys#pyhost-sys@0.1.0",
        "path+file:///w/build-support#pyhost-build@0.1.0", "path+file:///w/macros#pyhost-macros@0.1.0",
        "path+file:///w/examples/agent#agent@0.1.0", "path+file:///w/xtask#0.1.0"]
    }"#;

    #[test]
    fn python_dependent_members_follow_normal_and_dev_dependencies() {
        let members = parse_members(METADATA).unwrap();
        assert_eq!(members.len(), 6, "non-members are left out");
        let names: Vec<&str> = python_dependent(&members)
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        // pyhost-build and xtask only have pyhost-build (a build-time crate) in common.
        assert_eq!(names, ["pyhost", "pyhost-sys", "pyhost-macros", "agent"]);
    }

    #[test]
    fn suite_leaves_out_compile_fail_tests_and_doc_tests() {
        let members = parse_members(METADATA).unwrap();
        let suite = Suite::for_packages(&python_dependent(&members), |p| {
            p.ends_with("compile_fail.rs")
        });
        assert_eq!(
            suite.args(),
            [
                "-p",
                "pyhost",
                "-p",
                "pyhost-sys",
                "-p",
                "pyhost-macros",
                "-p",
                "agent",
                "--lib",
                "--bins",
                "--test",
                "gil",
                "--test",
                "raw",
                "--test",
                "expand",
                "--examples"
            ]
        );
        assert_eq!(
            suite.excluded,
            [
                "pyhost: test `compile_fail` (compile-fail tests, independent of the Python version)",
                "agent: bench `speed` (needs features bench)",
                "doc tests (API spelling, run on the default Python only)",
            ]
        );
        assert!(suite.has_test("pyhost-sys", "raw"));
        assert!(!suite.has_test("pyhost-sys", "compile_fail"));
    }

    #[test]
    fn this_workspace_has_a_python_suite() {
        // The real manifests: pyhost-sys and pyhost are in it, their trybuild suite is not.
        let suite = Suite::of_workspace().unwrap();
        assert!(suite.packages.iter().any(|p| p == "pyhost-sys"));
        assert!(suite.packages.iter().any(|p| p == "pyhost"));
        assert!(
            !suite
                .packages
                .iter()
                .any(|p| p == "xtask" || p == "pyhost-build")
        );
        assert!(suite.has_test("pyhost-sys", "raw"));
        for t in &suite.tests {
            assert!(!t.contains("compile_fail"), "{t}");
        }
    }

    #[test]
    fn matrix_skip_metadata_leaves_out_tests_and_packages() {
        let text = r#"{"workspace_members": ["a", "b"], "packages": [
            {"name": "agent", "id": "a", "links": null, "dependencies": [{"name": "pyhost-sys", "kind": null}],
             "targets": [{"kind": ["test"], "name": "slow", "src_path": "/w/tests/slow.rs", "test": true},
                         {"kind": ["test"], "name": "fast", "src_path": "/w/tests/fast.rs", "test": true}],
             "metadata": {"pyhost": {"matrix-skip": [{"test": "slow", "why": "pip install"}]}}},
            {"name": "benches", "id": "b", "links": null, "dependencies": [],
             "targets": [{"kind": ["bin"], "name": "bench", "src_path": "/w/b.rs", "test": true}],
             "metadata": {"pyhost": {"matrix-skip": [{"test": "*", "why": "benchmarks"}]}}}
        ]}"#;
        let members = parse_members(text).unwrap();
        let refs: Vec<&Package> = members.iter().collect();
        let suite = Suite::for_packages(&refs, |_| false);
        assert_eq!(suite.packages, ["agent"]);
        assert_eq!(suite.tests, ["fast"]);
        assert!(!suite.bins);
        assert!(
            suite
                .excluded
                .contains(&"agent: test `slow` (pip install)".to_owned()),
            "{:?}",
            suite.excluded
        );
        assert!(
            suite
                .excluded
                .contains(&"benches: everything (benchmarks)".to_owned()),
            "{:?}",
            suite.excluded
        );
    }
}
