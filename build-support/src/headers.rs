//! Facts read from the Python headers themselves: `patchlevel.h` gives the version, `pyconfig.h`
//! the pointer width and build flags. Reading them needs no compiler, so it works for any target.

use std::path::{Path, PathBuf};

use crate::{PythonVersion, Target};

/// What the headers say about the Python they belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderFacts {
    /// `PY_MAJOR_VERSION.PY_MINOR_VERSION.PY_MICRO_VERSION`.
    pub version: PythonVersion,
    /// `PY_RELEASE_LEVEL` (0xA alpha, 0xB beta, 0xC candidate, 0xF final).
    pub release_level: u8,
    /// `PY_RELEASE_SERIAL`.
    pub release_serial: u8,
    /// `PY_VERSION`, e.g. `3.13.0rc1`.
    pub version_string: String,
    /// The directory holding `Python.h`.
    pub python_h_dir: PathBuf,
    /// The `pyconfig.h` that holds the target's definitions (after following a Debian
    /// multiarch dispatcher), if found.
    pub pyconfig: Option<PathBuf>,
    /// `SIZEOF_VOID_P * 8`, if `pyconfig.h` was found.
    pub pointer_width: Option<u32>,
    /// `Py_GIL_DISABLED` is defined.
    pub gil_disabled: bool,
    /// `Py_DEBUG` is defined.
    pub debug: bool,
}

/// Reads the header facts from the first include dir holding `Python.h`.
///
/// `sysroot` is prefixed to `/usr/include` when following a Debian multiarch `pyconfig.h`
/// dispatcher for a cross target.
pub fn inspect(
    include_dirs: &[PathBuf],
    target: &Target,
    sysroot: Option<&Path>,
) -> Result<HeaderFacts, String> {
    let dir = include_dirs
        .iter()
        .find(|d| d.join("Python.h").is_file())
        .ok_or_else(|| "no Python.h".to_owned())?;
    let patchlevel = dir.join("patchlevel.h");
    let text = std::fs::read_to_string(&patchlevel)
        .map_err(|e| format!("cannot read {}: {e}", patchlevel.display()))?;
    let num = |name: &str| -> Result<u8, String> {
        define_value(&text, name)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{} does not define {name}", patchlevel.display()))
    };
    let version = PythonVersion {
        major: num("PY_MAJOR_VERSION")?,
        minor: num("PY_MINOR_VERSION")?,
        patch: Some(num("PY_MICRO_VERSION")?),
    };
    let release_level = match define_value(&text, "PY_RELEASE_LEVEL").as_deref() {
        Some("PY_RELEASE_LEVEL_ALPHA") => 0xA,
        Some("PY_RELEASE_LEVEL_BETA") => 0xB,
        Some("PY_RELEASE_LEVEL_GAMMA") => 0xC,
        _ => 0xF,
    };
    let release_serial = define_value(&text, "PY_RELEASE_SERIAL")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let version_string = define_value(&text, "PY_VERSION").unwrap_or_else(|| version.to_string());

    let mut pyconfig = None;
    let mut search: Vec<PathBuf> = vec![dir.clone()];
    search.extend(include_dirs.iter().filter(|d| *d != dir).cloned());
    for d in &search {
        let candidate = d.join("pyconfig.h");
        let Ok(text) = std::fs::read_to_string(&candidate) else {
            continue;
        };
        if define_value(&text, "SIZEOF_VOID_P").is_some() {
            pyconfig = Some((candidate, text));
            break;
        }
        if let Some(real) = follow_dispatcher(&text, include_dirs, target, sysroot) {
            if let Ok(t) = std::fs::read_to_string(&real) {
                pyconfig = Some((real, t));
                break;
            }
        }
    }
    let (pyconfig, pointer_width, gil_disabled, debug) = match pyconfig {
        Some((path, text)) => (
            Some(path),
            define_value(&text, "SIZEOF_VOID_P")
                .and_then(|v| v.parse::<u32>().ok())
                .map(|b| b * 8),
            define_value(&text, "Py_GIL_DISABLED").is_some(),
            define_value(&text, "Py_DEBUG").is_some(),
        ),
        None => (None, None, false, false),
    };
    Ok(HeaderFacts {
        version,
        release_level,
        release_serial,
        version_string,
        python_h_dir: dir.clone(),
        pyconfig,
        pointer_width,
        gil_disabled,
        debug,
    })
}

impl HeaderFacts {
    /// `PY_VERSION_HEX` as the headers compute it.
    pub fn version_hex(&self) -> u32 {
        (u32::from(self.version.major) << 24)
            | (u32::from(self.version.minor) << 16)
            | (u32::from(self.version.patch.unwrap_or(0)) << 8)
            | (u32::from(self.release_level) << 4)
            | u32::from(self.release_serial)
    }

    /// Rewrites the version constants of bindings generated from other headers of the same
    /// minor version (`PY_MICRO_VERSION`, `PY_VERSION`, `PY_VERSION_HEX`, ...) to these
    /// headers' values, so that pre-generated bindings report the Python actually built
    /// against.
    pub fn patch_version_constants(&self, bindings: &str) -> String {
        let replacements = [
            (
                "PY_MICRO_VERSION",
                format!("u32 = {};", self.version.patch.unwrap_or(0)),
            ),
            ("PY_RELEASE_LEVEL", format!("u32 = {};", self.release_level)),
            (
                "PY_RELEASE_SERIAL",
                format!("u32 = {};", self.release_serial),
            ),
            ("PY_VERSION_HEX", format!("u32 = {};", self.version_hex())),
            (
                "PY_VERSION",
                format!(
                    "&[u8; {}] = b\"{}\\0\";",
                    self.version_string.len() + 1,
                    self.version_string
                ),
            ),
        ];
        bindings
            .lines()
            .map(|line| {
                for (name, value) in &replacements {
                    if line.starts_with(&format!("pub const {name}: ")) {
                        return format!("pub const {name}: {value}");
                    }
                }
                line.to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    }
}

/// Debian installs `/usr/include/python3.X/pyconfig.h` as a dispatcher that includes
/// `<MULTIARCH/python3.X/pyconfig.h>` for the architecture being compiled. Resolves the line
/// for `target`.
fn follow_dispatcher(
    text: &str,
    include_dirs: &[PathBuf],
    target: &Target,
    sysroot: Option<&Path>,
) -> Option<PathBuf> {
    let multiarch = target.multiarch()?;
    let needle = format!("<{multiarch}/");
    let line = text
        .lines()
        .find(|l| l.contains("include") && l.contains(&needle))?;
    let start = line.find('<')? + 1;
    let end = line[start..].find('>')? + start;
    let rel = &line[start..end];
    let mut roots: Vec<PathBuf> = include_dirs.to_vec();
    // `/usr/include/python3.11` → `/usr/include`, where the multiarch directories live.
    roots.extend(
        include_dirs
            .iter()
            .filter_map(|d| d.parent().map(Path::to_path_buf)),
    );
    if let Some(root) = sysroot {
        roots.push(root.join("usr/include"));
    }
    roots.push(PathBuf::from("/usr/include"));
    roots.into_iter().map(|r| r.join(rel)).find(|p| p.is_file())
}

/// The value of `#define NAME VALUE` (an empty string for `#define NAME`), if defined.
fn define_value(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix('#')?.trim_start();
        let rest = rest.strip_prefix("define")?;
        if !rest.starts_with([' ', '\t']) {
            return None;
        }
        let rest = rest.trim_start();
        let after = rest.strip_prefix(name)?;
        if !(after.is_empty() || after.starts_with([' ', '\t'])) {
            return None;
        }
        let value = after.split("/*").next().unwrap_or("").trim();
        Some(value.trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Target {
        Target::from_triple("x86_64-unknown-linux-gnu", "x86_64-unknown-linux-gnu")
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn fake_tree(root: &Path, minor: u8, pyconfig: &str) -> PathBuf {
        let inc = root.join(format!("include/python3.{minor}"));
        write(&inc.join("Python.h"), "/* fake */\n");
        write(
            &inc.join("patchlevel.h"),
            &format!(
                "#define PY_MAJOR_VERSION        3\n#define PY_MINOR_VERSION        {minor}\n\
                 #define PY_MICRO_VERSION        4\n#define PY_VERSION \"3.{minor}.4\"\n"
            ),
        );
        write(&inc.join("pyconfig.h"), pyconfig);
        inc
    }

    #[test]
    fn reads_version_and_flags() {
        let tmp = crate::test_support::TempDir::new("headers-flags");
        let inc = fake_tree(
            tmp.path(),
            13,
            "#define SIZEOF_VOID_P 8\n#define Py_GIL_DISABLED 1\n/* #define Py_DEBUG */\n",
        );
        let facts = inspect(std::slice::from_ref(&inc), &host(), None).unwrap();
        assert_eq!(facts.version.to_string(), "3.13.4");
        assert_eq!(facts.version_hex(), 0x030D04F0);
        let patched = facts.patch_version_constants(
            "pub const PY_MICRO_VERSION: u32 = 7;\npub const PY_VERSION: &[u8; 7] = b\"3.13.7\\0\";\n\
             pub const PY_VERSION_HEX: u32 = 1;\npub const PY_VERSION_HEXX: u32 = 1;\n",
        );
        assert_eq!(
            patched,
            "pub const PY_MICRO_VERSION: u32 = 4;\npub const PY_VERSION: &[u8; 7] = b\"3.13.4\\0\";\n\
             pub const PY_VERSION_HEX: u32 = 51184880;\npub const PY_VERSION_HEXX: u32 = 1;\n"
        );
        assert_eq!(facts.pointer_width, Some(64));
        assert!(facts.gil_disabled);
        assert!(!facts.debug);
    }

    #[test]
    fn follows_debian_multiarch_dispatcher() {
        let tmp = crate::test_support::TempDir::new("headers-dispatch");
        let inc = fake_tree(
            tmp.path(),
            11,
            "#if defined(__x86_64__)\n#  include <x86_64-linux-gnu/python3.11/pyconfig.h>\n\
             #elif defined(__aarch64__)\n#  include <aarch64-linux-gnu/python3.11/pyconfig.h>\n#endif\n",
        );
        let arm = tmp
            .path()
            .join("include/aarch64-linux-gnu/python3.11/pyconfig.h");
        write(&arm, "#define SIZEOF_VOID_P 8\n#define Py_DEBUG 1\n");
        let cross = Target::from_triple("aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu");
        let facts = inspect(std::slice::from_ref(&inc), &cross, None).unwrap();
        assert_eq!(facts.pyconfig.as_deref(), Some(arm.as_path()));
        assert!(facts.debug);

        // With a sysroot, the sysroot's /usr/include is searched too.
        let sysroot = tmp.path().join("sysroot");
        let armhf = sysroot.join("usr/include/arm-linux-gnueabihf/python3.11/pyconfig.h");
        write(&armhf, "#define SIZEOF_VOID_P 4\n");
        std::fs::write(
            inc.join("pyconfig.h"),
            "#  include <arm-linux-gnueabihf/python3.11/pyconfig.h>\n",
        )
        .unwrap();
        let armv7 =
            Target::from_triple("armv7-unknown-linux-gnueabihf", "x86_64-unknown-linux-gnu");
        let facts = inspect(&[inc], &armv7, Some(&sysroot)).unwrap();
        assert_eq!(facts.pointer_width, Some(32));
    }

    #[test]
    fn missing_python_h_and_bad_patchlevel_are_errors() {
        let tmp = crate::test_support::TempDir::new("headers-missing");
        assert_eq!(
            inspect(&[tmp.path().to_path_buf()], &host(), None).unwrap_err(),
            "no Python.h"
        );
        write(&tmp.path().join("Python.h"), "");
        write(
            &tmp.path().join("patchlevel.h"),
            "#define PY_MAJOR_VERSION 3\n",
        );
        let e = inspect(&[tmp.path().to_path_buf()], &host(), None).unwrap_err();
        assert!(e.contains("PY_MINOR_VERSION"), "{e}");
    }

    #[test]
    fn define_value_matches_whole_names_only() {
        let text = "#define Py_DEBUG_X 1\n# define  Py_DEBUG\n";
        assert_eq!(define_value(text, "Py_DEBUG").as_deref(), Some(""));
        assert_eq!(define_value("#define Py_DEBUG_X 1\n", "Py_DEBUG"), None);
    }
}
