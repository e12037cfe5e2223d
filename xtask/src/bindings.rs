//! `cargo xtask bindings [--check]`: regenerate pyhost-sys's pre-generated bindings, one file
//! for every supported CPython minor version, with the same generator the build script uses.
//!
//! For each version the headers are parsed for x86_64 and for aarch64; the two outputs must be
//! identical (what differs between targets lives in pyhost-sys's hand-written `target`
//! module), and the versions are then merged (`crate::merge`).

use std::path::{Path, PathBuf};

use pyhost_build::bindings::{self, Generated};
use pyhost_build::fallback::{self, MINORS, TARGETS};
use pyhost_build::{PythonConfig, Target};

use crate::{merge, sid, util};

/// The size the merged file must stay within.
pub const LINE_BUDGET: usize = 20_000;

/// Where the headers for one version come from.
pub struct HeaderSource {
    /// The headers, as a configuration.
    pub config: PythonConfig,
    /// For the banner: which install the headers came from.
    pub origin: String,
    /// A copy of the headers made for this run, removed afterwards.
    scratch: Option<PathBuf>,
}

impl Drop for HeaderSource {
    fn drop(&mut self) {
        if let Some(s) = &self.scratch {
            let _ = std::fs::remove_dir_all(s);
        }
    }
}

/// Finds the headers of CPython 3.`minor`: a pyenv install, else Debian's in the unstable
/// root (3.14, 3.15), copied with the real `pyconfig.h` in place of Debian's dispatcher so
/// that they parse for either target.
pub fn header_source(minor: u8) -> Result<HeaderSource, String> {
    if let Some((name, dir)) = util::pyenv_versions(minor).into_iter().next() {
        let include = dir.join(format!("include/python3.{minor}"));
        return source(&include, format!("pyenv {name}"), None);
    }
    if let Some((include, pyconfig_dir)) = sid::headers(minor) {
        let scratch = std::env::temp_dir().join(format!(
            "pyhost-xtask-headers-{}-3.{minor}",
            std::process::id()
        ));
        let copy = scratch.join(format!("python3.{minor}"));
        copy_tree(&include, &copy)?;
        std::fs::copy(pyconfig_dir.join("pyconfig.h"), copy.join("pyconfig.h"))
            .map_err(|e| format!("copying pyconfig.h: {e}"))?;
        return source(&copy, "Debian unstable".to_owned(), Some(scratch));
    }
    Err(format!(
        "no CPython 3.{minor} headers: install them with `pyenv install 3.{minor}`{}",
        if minor >= 14 {
            format!(
                ", or make the Debian unstable root: {}",
                sid::make_command()
            )
        } else {
            String::new()
        }
    ))
}

fn source(include: &Path, what: String, scratch: Option<PathBuf>) -> Result<HeaderSource, String> {
    let text = format!("version=3.0\ninclude_dirs={}\n", include.display());
    let mut config = PythonConfig::parse(&text, &what).map_err(|e| e.to_string())?;
    let host = util::host_triple();
    let t = Target::from_triple(&host, &host);
    config.version = pyhost_build::headers::inspect(&[include.to_path_buf()], &t, None)
        .map(|f| f.version)
        .map_err(|e| format!("{}: {e}", include.display()))?;
    Ok(HeaderSource {
        origin: format!("{} ({what})", config.version),
        config,
        scratch,
    })
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        }
    }
    Ok(())
}

/// bindgen's output for one version on one target.
fn generate(src: &HeaderSource, triple: &str) -> Result<Generated, String> {
    let host = util::host_triple();
    let target = Target::from_triple(triple, &host);
    let shim = util::workspace_root().join("ffi-sys/shim");
    let work = std::env::temp_dir().join(format!(
        "pyhost-xtask-bindings-{}-{triple}-{}",
        std::process::id(),
        src.config.version.minor
    ));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let generated =
        bindings::generate(&src.config, &target, &shim, &work).map_err(|e| e.to_string());
    let _ = std::fs::remove_dir_all(&work);
    generated
}

/// The pre-generated files, as they should read.
pub fn regenerate() -> Result<(String, String), String> {
    let mut rust = Vec::new();
    let mut c = Vec::new();
    let mut origins = Vec::new();
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for minor in MINORS {
        let src = match header_source(minor) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!("3.{minor}: {e}"));
                continue;
            }
        };
        let mut per_target = Vec::new();
        for &triple in TARGETS {
            match generate(&src, triple) {
                Ok(g) => per_target.push(g),
                Err(e) => problems.push(format!("3.{minor} on {triple}: {e}")),
            }
        }
        if let [first, rest @ ..] = per_target.as_slice() {
            for (other, triple) in rest.iter().zip(&TARGETS[1..]) {
                if other.rust != first.rust || other.static_fns_c != first.static_fns_c {
                    problems.push(format!(
                        "3.{minor}: the bindings for {triple} differ from those for {}: {}. Declare \
                         such items by hand in ffi-sys/src/target.rs and block them in \
                         pyhost_build::bindings",
                        TARGETS[0],
                        first_difference(&first.rust, &other.rust)
                    ));
                }
            }
            rust.push((minor, first.rust.clone()));
            c.push((minor, first.static_fns_c.clone()));
            origins.push(src.origin.clone());
        }
        println!(
            "3.{minor}: {} parsed for {}",
            src.origin,
            TARGETS.join(" and ")
        );
        sources.push(src);
    }
    if !problems.is_empty() {
        return Err(format!("could not generate:\n  {}", problems.join("\n  ")));
    }
    let banner = format!(
        "// Pre-generated by `cargo xtask bindings` with bindgen, from the headers of CPython\n// {}.\n\
         // Parsed for {} with identical results. Items that differ between versions carry\n\
         // #[cfg(py_3_N)] conditions; a build without libclang keeps those of its version\n\
         // (pyhost_build::fallback::instantiate) and checks the layouts against its real headers.\n\
         // Do not edit.\n",
        origins.join(", "),
        TARGETS.join(" and "),
    );
    let merged_rust = format!("{banner}{}", merge::merge_rust(&rust)?);
    for (minor, original) in &rust {
        merge::check_roundtrip(&merged_rust, *minor, original)?;
    }
    let merged_c = format!(
        "/* {} */\n{}",
        banner
            .lines()
            .map(|l| l.trim_start_matches("// "))
            .collect::<Vec<_>>()
            .join(" "),
        merge::merge_c(&c)
    );
    for src in &sources {
        compile_wrappers(&merged_c, src)?;
    }
    Ok((merged_rust, merged_c))
}

/// Compiles the merged `static inline` wrappers against one version's headers, with
/// deprecation warnings as errors: no wrapper may use what that version deprecates.
fn compile_wrappers(c: &str, src: &HeaderSource) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!(
        "pyhost-xtask-wrappers-{}-{}",
        std::process::id(),
        src.config.version.minor
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join(fallback::C_FILE);
    std::fs::write(&file, c).map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new("cc");
    cmd.args([
        "-fsyntax-only",
        "-std=c11",
        "-Werror=deprecated-declarations",
    ])
    .arg(format!(
        "-I{}",
        util::workspace_root().join("ffi-sys/shim").display()
    ));
    for d in &src.config.include_dirs {
        cmd.arg(format!("-I{}", d.display()));
    }
    for (name, value) in bindings::defines(&src.config) {
        cmd.arg(match value {
            Some(v) => format!("-D{name}={v}"),
            None => format!("-D{name}"),
        });
    }
    let out = cmd
        .arg(&file)
        .output()
        .map_err(|e| format!("cannot run cc: {e}"));
    let _ = std::fs::remove_dir_all(&dir);
    let out = out?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "the static inline wrappers do not compile cleanly against CPython {} ({}):\n{}\n\
         Fix: add what is deprecated to BLOCKED_FUNCTIONS in pyhost_build::bindings",
        src.config.version,
        src.origin,
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains("error"))
            .take(10)
            .collect::<Vec<_>>()
            .join("\n")
    ))
}

fn first_difference(a: &str, b: &str) -> String {
    a.lines()
        .zip(b.lines())
        .find(|(x, y)| x != y)
        .map(|(x, y)| format!("`{}` vs `{}`", x.trim(), y.trim()))
        .unwrap_or_else(|| "one is longer".to_owned())
}

/// The command.
pub fn run(args: &[String]) -> Result<(), String> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        other => return Err(format!("bindings takes only --check, not {other:?}")),
    };
    bindings::libclang().map_err(|e| {
        format!("libclang is needed to generate bindings: {e}\nFix: apt-get install libclang-dev")
    })?;
    let dir = util::workspace_root().join("ffi-sys/bindings");
    let (rust, c) = regenerate()?;
    let lines = rust.lines().count();
    println!(
        "{}: {lines} lines for CPython 3.{}-3.{}",
        fallback::RUST_FILE,
        MINORS.start(),
        MINORS.end()
    );
    if lines > LINE_BUDGET {
        return Err(format!(
            "the merged bindings have {lines} lines, over the budget of {LINE_BUDGET}: merge \
             more finely (crate::merge) or allowlist less (pyhost_build::bindings)"
        ));
    }
    let mut stale = Vec::new();
    for (name, text) in [(fallback::RUST_FILE, &rust), (fallback::C_FILE, &c)] {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_ref() == Some(text) {
            continue;
        }
        if check {
            stale.push(path.display().to_string());
        } else {
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("wrote {}", path.display());
        }
    }
    // Nothing else belongs in the directory (the per-target files of earlier versions).
    for entry in std::fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == fallback::RUST_FILE || name == fallback::C_FILE {
            continue;
        }
        if check {
            stale.push(format!("{} (not generated)", entry.path().display()));
        } else {
            let p = entry.path();
            let removed = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            removed.map_err(|e| format!("{}: {e}", p.display()))?;
            println!("removed {}", p.display());
        }
    }
    if !stale.is_empty() {
        return Err(format!(
            "the pre-generated bindings are stale:\n  {}\nFix: cargo xtask bindings",
            stale.join("\n  ")
        ));
    }
    Ok(())
}
