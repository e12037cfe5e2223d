//! `cargo xtask bindings [--check]`: regenerate pyhost-sys's pre-generated fallback bindings for
//! every (CPython minor, target) pair, with the same generator the build script uses.

use std::path::{Path, PathBuf};

use pyhost_build::bindings::{self, Generated};
use pyhost_build::{MAX_TESTED_MINOR, MIN_MINOR, PythonConfig, Target};

use crate::util;

/// The targets that get fallback bindings.
pub const TARGETS: &[&str] = &["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

/// Where the headers for one (minor, target) pair come from.
pub struct HeaderSource {
    /// The headers, as a configuration.
    pub config: PythonConfig,
    /// For the banner: which install the headers came from.
    pub origin: String,
}

/// Finds headers for `minor` on `target`: the target's own (Debian multiarch) headers when
/// installed, else a pyenv install's headers (parsed for the target by clang; the layout
/// probe checks them against the real headers at build time).
pub fn header_source(minor: u8, target: &Target) -> Result<HeaderSource, String> {
    if let Some(m) = target.multiarch() {
        if target.is_cross() {
            let pyconfig = PathBuf::from(format!("/usr/include/{m}/python3.{minor}/pyconfig.h"));
            let include = PathBuf::from(format!("/usr/include/python3.{minor}"));
            if pyconfig.is_file() && include.join("Python.h").is_file() {
                let text = format!(
                    "version=3.{minor}\ninclude_dirs={}:{}\n",
                    include.display(),
                    pyconfig.parent().unwrap().display()
                );
                let mut config = PythonConfig::parse(&text, "debian").map_err(|e| e.to_string())?;
                config.version = read_version(&include)?;
                return Ok(HeaderSource {
                    config,
                    origin: format!(
                        "Debian's libpython3.{minor}-dev:{} headers",
                        debian_arch(&m)
                    ),
                });
            }
        }
    }
    let (name, dir) = util::pyenv_versions(minor)
        .into_iter()
        .next()
        .ok_or_else(|| {
            format!("no CPython 3.{minor} headers: install one with `pyenv install 3.{minor}`")
        })?;
    let include = dir.join(format!("include/python3.{minor}"));
    let text = format!("version=3.{minor}\ninclude_dirs={}\n", include.display());
    let mut config = PythonConfig::parse(&text, "pyenv").map_err(|e| e.to_string())?;
    config.version = read_version(&include)?;
    let origin = if target.is_cross() {
        format!("pyenv {name} headers, parsed for {}", target.triple)
    } else {
        format!("pyenv {name} headers")
    };
    Ok(HeaderSource { config, origin })
}

fn debian_arch(multiarch: &str) -> &str {
    match multiarch {
        "aarch64-linux-gnu" => "arm64",
        "x86_64-linux-gnu" => "amd64",
        other => other,
    }
}

fn read_version(include: &Path) -> Result<pyhost_build::PythonVersion, String> {
    let host = util::host_triple();
    let t = Target::from_triple(&host, &host);
    pyhost_build::headers::inspect(&[include.to_path_buf()], &t, None)
        .map(|f| f.version)
        .map_err(|e| format!("{}: {e}", include.display()))
}

/// Generates the fallback files for one pair.
pub fn generate(minor: u8, triple: &str) -> Result<(String, String), String> {
    let host = util::host_triple();
    let target = Target::from_triple(triple, &host);
    let src = header_source(minor, &target)?;
    let root = util::workspace_root().join("ffi-sys");
    let work = std::env::temp_dir().join(format!(
        "pyhost-xtask-bindings-{}-{triple}-{minor}",
        std::process::id()
    ));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let Generated { rust, static_fns_c } =
        bindings::generate(&src.config, &target, &root.join("shim"), &work)
            .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&work);
    let banner = bindings::fallback_banner(&src.config, &target, &src.origin);
    Ok((
        format!("{banner}{rust}"),
        format!(
            "/* {} */\n{static_fns_c}",
            banner.trim_end().replace("// ", "").replace('\n', " ")
        ),
    ))
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
    let root = util::workspace_root().join("ffi-sys");
    let mut stale = Vec::new();
    let mut problems = Vec::new();
    for &triple in TARGETS {
        for minor in MIN_MINOR..=MAX_TESTED_MINOR {
            let (rs_path, c_path) = bindings::fallback_paths(&root, triple, minor);
            match generate(minor, triple) {
                Err(e) => problems.push(format!("3.{minor} on {triple}: {e}")),
                Ok((rs, c)) => {
                    for (path, text) in [(&rs_path, rs), (&c_path, c)] {
                        let current = std::fs::read_to_string(path).unwrap_or_default();
                        if current == text {
                            continue;
                        }
                        if check {
                            stale.push(path.display().to_string());
                        } else {
                            std::fs::create_dir_all(path.parent().unwrap())
                                .map_err(|e| e.to_string())?;
                            std::fs::write(path, text)
                                .map_err(|e| format!("{}: {e}", path.display()))?;
                            println!("wrote {}", path.display());
                        }
                    }
                    println!("3.{minor} on {triple}: ok");
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(format!("could not generate:\n  {}", problems.join("\n  ")));
    }
    if !stale.is_empty() {
        return Err(format!(
            "the pre-generated bindings are stale:\n  {}\nFix: cargo xtask bindings",
            stale.join("\n  ")
        ));
    }
    Ok(())
}
