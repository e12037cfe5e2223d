//! Discovery against fake Python installs: fake `.pc` files read by the real pkg-config, fake
//! header trees, fake interpreters (shell scripts answering the sysconfig probe). Each test
//! runs in a fixed environment, so the developer's own variables never leak in.

// As in the library: build-time errors are rare and carry whole sentences.
#![allow(clippy::result_large_err)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pyhost_build::{Discovery, Env, Error, LinkKind, Resolved, Source};

const HOST: &str = "x86_64-unknown-linux-gnu";

struct Fixture {
    root: PathBuf,
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        let root =
            std::env::temp_dir().join(format!("pyhost-discovery-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(root.join("pkgconfig")).unwrap();
        Fixture { root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// A Python install under `prefix`: headers of version 3.`minor`.`patch`, a shared library,
    /// and optionally a static one in `lib/python3.X/config-3.X-x86_64-linux-gnu`.
    fn install(&self, prefix: &str, minor: u8, patch: u8, pointer_bytes: u8) -> PathBuf {
        let p = self.path(prefix);
        self.write(
            &format!("{prefix}/include/python3.{minor}/Python.h"),
            "/* fake */\n",
        );
        self.write(
            &format!("{prefix}/include/python3.{minor}/patchlevel.h"),
            &format!(
                "#define PY_MAJOR_VERSION 3\n#define PY_MINOR_VERSION {minor}\n\
                 #define PY_MICRO_VERSION {patch}\n"
            ),
        );
        self.write(
            &format!("{prefix}/include/python3.{minor}/pyconfig.h"),
            &format!("#define SIZEOF_VOID_P {pointer_bytes}\n"),
        );
        self.write(&format!("{prefix}/lib/libpython3.{minor}.so"), "");
        p
    }

    fn static_lib(&self, prefix: &str, minor: u8) {
        // Another architecture's archive sits beside it, as with Debian multiarch.
        let other = format!("{prefix}/lib/python3.{minor}/config-3.{minor}-aarch64-linux-gnu");
        self.write(&format!("{other}/libpython3.{minor}-pic.a"), "");
        let dir = format!("{prefix}/lib/python3.{minor}/config-3.{minor}-x86_64-linux-gnu");
        self.write(&format!("{dir}/libpython3.{minor}-pic.a"), "");
        self.write(
            &format!("{dir}/Makefile"),
            "LIBS=-ldl\nSYSLIBS=-lm\nMODULE_ZLIB_LDFLAGS=-lz\nMODULE_PYEXPAT_LDFLAGS=-lexpat\n\
             MODULE__TKINTER_LDFLAGS=-ltk8.6\n",
        );
        // zlib and pyexpat are compiled in; _tkinter is a shared module.
        self.write(&format!("{dir}/config.c"), "PyInit_zlib PyInit_pyexpat\n");
    }

    fn pc(&self, name: &str, prefix: &Path, version: &str, minor: u8) {
        self.write(
            &format!("pkgconfig/{name}.pc"),
            &format!(
                "prefix={}\nlibdir=${{prefix}}/lib\nincludedir=${{prefix}}/include\n\
                 Name: Python\nDescription: fake\nVersion: {version}\nLibs.private: -ldl\n\
                 Libs: -L${{libdir}} -lpython3.{minor}\nCflags: -I${{includedir}}/python3.{minor}\n",
                prefix.display()
            ),
        );
    }

    /// A fake interpreter answering the sysconfig probe for the install at `prefix`.
    fn interpreter(&self, rel: &str, prefix: &Path, minor: u8, patch: u8) -> PathBuf {
        let p = self.write(
            rel,
            &format!(
                "#!/bin/sh\n{}",
                [
                    format!("version=3.{minor}.{patch}"),
                    "abiflags=".into(),
                    format!("include={}/include/python3.{minor}", prefix.display()),
                    format!("platinclude={}/include/python3.{minor}", prefix.display()),
                    format!("libdir={}/lib", prefix.display()),
                    format!(
                        "libpl={}/lib/python3.{minor}/config-3.{minor}-x86_64-linux-gnu",
                        prefix.display()
                    ),
                    format!("ldlibrary=libpython3.{minor}.so"),
                    format!("library=libpython3.{minor}.a"),
                    "shared=1".into(),
                    "libs=-ldl -lm".into(),
                    "pointer_width=64".into(),
                    "gil_disabled=None".into(),
                    "debug=0".into(),
                    format!("executable={}", self.path(rel).display()),
                    format!("base_prefix={}", prefix.display()),
                ]
                .iter()
                .map(|l| format!("echo '{l}'\n"))
                .collect::<String>()
            ),
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// A fixed environment: pkg-config sees only the fixture's `.pc` files, PATH only the
    /// fixture's `bin`.
    fn env(&self, extra: &[(&str, String)]) -> Env {
        let mut vars: Vec<(String, String)> = vec![
            ("HOST".into(), HOST.into()),
            ("TARGET".into(), HOST.into()),
            ("PKG_CONFIG".into(), "/usr/bin/pkg-config".into()),
            (
                "PKG_CONFIG_LIBDIR".into(),
                self.path("pkgconfig").display().to_string(),
            ),
            ("PATH".into(), self.path("bin").display().to_string()),
        ];
        for (k, v) in extra {
            vars.retain(|(name, _)| name != k);
            vars.push(((*k).to_owned(), v.clone()));
        }
        Env::fixed(vars)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn resolve(env: &Env) -> Result<Resolved, Error> {
    Discovery::new(env).resolve()
}

#[test]
fn pkg_config_finds_an_install_and_emits_link_directives() {
    let fx = Fixture::new("pc-ok");
    let prefix = fx.install("py", 12, 1, 8);
    fx.pc("python3-embed", &prefix, "3.12", 12);
    let env = fx.env(&[]);
    let r = resolve(&env).unwrap();
    assert_eq!(r.config.version.to_string(), "3.12.1");
    assert_eq!(r.config.lib_name, "python3.12");
    assert_eq!(
        r.config.lib_dir.as_deref(),
        Some(prefix.join("lib").as_path())
    );
    assert!(
        matches!(&r.config.source, Source::PkgConfig { package, .. } if package == "python3-embed")
    );
    let d = r.directives();
    let has = |s: &str| d.iter().any(|l| l == s);
    assert!(has(&format!(
        "cargo:rustc-link-search=native={}",
        prefix.join("lib").display()
    )));
    assert!(has("cargo:rustc-link-lib=dylib=python3.12"));
    assert!(has(&format!(
        "cargo:rustc-link-arg=-Wl,-rpath,{}",
        prefix.join("lib").display()
    )));
    assert!(has("cargo:rustc-cfg=py_3_12"));
    assert!(!has("cargo:rustc-cfg=py_3_13"));
    assert!(has("cargo:rerun-if-env-changed=PYHOST_PYTHON"));
    assert!(has("cargo:rerun-if-env-changed=PKG_CONFIG_LIBDIR"));
    assert!(
        d.iter()
            .any(|l| l.starts_with("cargo:config=version=3.12.1;"))
    );
    // No python3 on the fixture PATH: nothing to warn about.
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn versioned_names_are_found_newest_first_and_can_be_chosen() {
    let fx = Fixture::new("pc-versioned");
    let p10 = fx.install("py10", 10, 13, 8);
    let p12 = fx.install("py12", 12, 1, 8);
    fx.pc("python-3.10-embed", &p10, "3.10", 10);
    fx.pc("python-3.12-embed", &p12, "3.12", 12);
    let r = resolve(&fx.env(&[])).unwrap();
    assert_eq!(r.config.version.short(), "3.12");
    let r = resolve(&fx.env(&[("PYHOST_PYTHON_VERSION", "3.10".into())])).unwrap();
    assert_eq!(r.config.version.short(), "3.10");
    let e = resolve(&fx.env(&[("PYHOST_PYTHON_VERSION", "3.9".into())])).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("pkg-config python-3.9-embed"), "{msg}");
    assert!(
        msg.contains("found Python 3.12, but PYHOST_PYTHON_VERSION=3.9"),
        "{msg}"
    );
    assert!(msg.contains("apt-get install python3.9-dev"), "{msg}");
}

#[test]
fn a_trailing_d_asks_for_the_debug_build_by_its_debian_names() {
    let fx = Fixture::new("pc-debug");
    let release = fx.install("rel", 14, 10, 8);
    fx.pc("python-3.14-embed", &release, "3.14", 14);
    // Debian's debug build: headers in include/python3.14d with Py_DEBUG, libpython3.14d.
    let dbg = fx.path("dbg");
    for (file, text) in [
        ("include/python3.14d/Python.h", "/* fake */\n".to_owned()),
        (
            "include/python3.14d/patchlevel.h",
            "#define PY_MAJOR_VERSION 3\n#define PY_MINOR_VERSION 14\n#define PY_MICRO_VERSION 10\n"
                .to_owned(),
        ),
        (
            "include/python3.14d/pyconfig.h",
            "#define SIZEOF_VOID_P 8\n#define Py_DEBUG 1\n".to_owned(),
        ),
        ("lib/libpython3.14d.so", String::new()),
    ] {
        fx.write(&format!("dbg/{file}"), &text);
    }
    fx.write(
        "pkgconfig/python-3.14-dbg-embed.pc",
        &format!(
            "prefix={}\nlibdir=${{prefix}}/lib\nincludedir=${{prefix}}/include\nName: Python\n\
             Description: fake\nVersion: 3.14\nLibs: -L${{libdir}} -lpython3.14d\n\
             Cflags: -I${{includedir}}/python3.14d\n",
            dbg.display()
        ),
    );
    let r = resolve(&fx.env(&[("PYHOST_PYTHON_VERSION", "3.14".into())])).unwrap();
    assert!(!r.config.debug);
    let r = resolve(&fx.env(&[("PYHOST_PYTHON_VERSION", "3.14d".into())])).unwrap();
    assert!(r.config.debug, "{:?}", r.config);
    assert_eq!(r.config.lib_name, "python3.14d");
    assert_eq!(r.config.abiflags, "d");
    assert!(r.config.cfgs().contains(&"py_debug".to_owned()));

    // Asking for a debug build where only the release one is: a mismatch that names the fix.
    std::fs::remove_file(fx.path("pkgconfig/python-3.14-dbg-embed.pc")).unwrap();
    fx.write(
        "pkgconfig/python-3.14d-embed.pc",
        &format!(
            "prefix={}\nlibdir=${{prefix}}/lib\nincludedir=${{prefix}}/include\nName: Python\n\
             Description: fake\nVersion: 3.14\nLibs: -L${{libdir}} -lpython3.14\n\
             Cflags: -I${{includedir}}/python3.14\n",
            release.display()
        ),
    );
    let msg = resolve(&fx.env(&[("PYHOST_PYTHON_VERSION", "3.14d".into())]))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("apt-get install python3.14-dbg"), "{msg}");
}

#[test]
fn broken_pc_file_is_reported_with_pkg_config_message() {
    let fx = Fixture::new("pc-broken");
    fx.write(
        "pkgconfig/python3-embed.pc",
        "Name: Python\nDescription: broken\nLibs: -lpython3.11\n",
    );
    let e = resolve(&fx.env(&[])).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::NotFound { .. }), "{msg}");
    assert!(msg.contains("pkg-config python3-embed"), "{msg}");
    assert!(
        msg.to_lowercase().contains("version"),
        "pkg-config's complaint is shown: {msg}"
    );
    assert!(msg.contains("python3 on PATH"), "{msg}");
    assert!(msg.contains("PYHOST_PYTHON=/path/to/python3"), "{msg}");
}

#[test]
fn headers_disagreeing_with_pkg_config_is_a_mismatch() {
    let fx = Fixture::new("pc-mismatch");
    let prefix = fx.install("py", 11, 2, 8);
    fx.pc("python3-embed", &prefix, "3.12", 11);
    let e = resolve(&fx.env(&[])).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Mismatch { .. }), "{msg}");
    assert!(
        msg.contains("says 3.12") && msg.contains("says 3.11.2"),
        "{msg}"
    );
    assert!(msg.contains("patchlevel.h"), "{msg}");
}

#[test]
fn missing_library_and_headers_name_the_package_to_install() {
    let fx = Fixture::new("missing");
    let prefix = fx.install("py", 11, 2, 8);
    std::fs::remove_file(prefix.join("lib/libpython3.11.so")).unwrap();
    fx.pc("python3-embed", &prefix, "3.11", 11);
    let msg = resolve(&fx.env(&[])).unwrap_err().to_string();
    assert!(msg.contains("libpython3.11.so not found"), "{msg}");
    assert!(msg.contains("apt-get install libpython3.11-dev"), "{msg}");

    std::fs::remove_file(prefix.join("include/python3.11/Python.h")).unwrap();
    let msg = resolve(&fx.env(&[])).unwrap_err().to_string();
    assert!(msg.contains("Python.h not found"), "{msg}");
    assert!(msg.contains("install the Python headers"), "{msg}");
}

#[test]
fn old_python_is_unsupported() {
    let fx = Fixture::new("old");
    let prefix = fx.install("py", 7, 16, 8);
    fx.pc("python3-embed", &prefix, "3.7", 7);
    let msg = resolve(&fx.env(&[])).unwrap_err().to_string();
    assert!(
        msg.contains("Python 3.7.16, but pyhost needs CPython 3.8 or newer"),
        "{msg}"
    );
}

#[test]
fn explicit_interpreter_is_the_source_of_truth() {
    let fx = Fixture::new("interp");
    let p12 = fx.install("py12", 12, 4, 8);
    let p11 = fx.install("py11", 11, 7, 8);
    fx.pc("python3-embed", &p11, "3.11", 11);
    let python = fx.interpreter("other/python3.12", &p12, 12, 4);
    let r = resolve(&fx.env(&[("PYHOST_PYTHON", python.display().to_string())])).unwrap();
    assert_eq!(r.config.version.to_string(), "3.12.4");
    assert_eq!(r.config.executable.as_deref(), Some(python.as_path()));
    assert!(
        matches!(&r.config.source, Source::Interpreter { variable: Some(v), .. } if v == "PYHOST_PYTHON")
    );

    let msg = resolve(&fx.env(&[(
        "PYHOST_PYTHON",
        fx.path("nope/python").display().to_string(),
    )]))
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("PYHOST_PYTHON") && msg.contains("was not found"),
        "{msg}"
    );
}

#[test]
fn python3_on_path_differing_from_the_linked_one_is_a_warning() {
    let fx = Fixture::new("path-warning");
    let debian = fx.install("usr", 11, 2, 8);
    let pyenv = fx.install("pyenv/3.11.7", 11, 7, 8);
    fx.pc("python3-embed", &debian, "3.11", 11);
    let python = fx.interpreter("bin/python3", &pyenv, 11, 7);
    let r = resolve(&fx.env(&[])).unwrap();
    assert_eq!(
        r.config.lib_dir.as_deref(),
        Some(debian.join("lib").as_path())
    );
    let w = r.warnings.join("\n");
    assert!(
        w.contains("building against Python 3.11.2 from pkg-config python3-embed"),
        "{w}"
    );
    assert!(w.contains("`python3` on PATH is Python 3.11.7"), "{w}");
    assert!(
        w.contains(&format!("set PYHOST_PYTHON={}", python.display())),
        "{w}"
    );
    assert!(
        r.directives()
            .iter()
            .any(|l| l.starts_with("cargo:warning=pyhost: building against"))
    );
}

#[test]
fn interpreter_probe_is_the_last_resort_on_native_builds() {
    let fx = Fixture::new("probe");
    let p = fx.install("py", 10, 13, 8);
    fx.interpreter("bin/python3", &p, 10, 13);
    let r = resolve(&fx.env(&[])).unwrap();
    assert_eq!(r.config.version.to_string(), "3.10.13");
    assert!(matches!(
        &r.config.source,
        Source::Interpreter { variable: None, .. }
    ));
    assert!(r.env_vars.contains(&"PATH".to_string()));
}

#[test]
fn cross_builds_never_use_host_pkg_config_dirs_or_interpreters() {
    let fx = Fixture::new("cross");
    let p = fx.install("py", 11, 2, 8);
    fx.pc("python3-embed", &p, "3.11", 11);
    fx.interpreter("bin/python3", &p, 11, 2);
    // The host's plain PKG_CONFIG_PATH would find the host Python: it must be ignored.
    let env = fx.env(&[
        ("TARGET", "aarch64-unknown-linux-gnu".into()),
        ("PKG_CONFIG_LIBDIR", String::new()),
        (
            "PKG_CONFIG_PATH",
            fx.path("pkgconfig").display().to_string(),
        ),
        (
            "PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu",
            fx.path("arm-pkgconfig").display().to_string(),
        ),
    ]);
    let e = resolve(&env).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("for aarch64-unknown-linux-gnu"), "{msg}");
    assert!(msg.contains("skipped: cross-compiling"), "{msg}");
    assert!(msg.contains("dpkg --add-architecture arm64"), "{msg}");
    assert!(
        msg.contains("PKG_CONFIG_PATH_aarch64_unknown_linux_gnu="),
        "{msg}"
    );

    // With the target's own directory, the target's Python is found.
    let arm = fx.install("arm", 11, 2, 8);
    std::fs::create_dir_all(fx.path("arm-pkgconfig")).unwrap();
    fx.write(
        "arm-pkgconfig/python-3.11-embed.pc",
        &format!(
            "libdir={a}/lib\nName: Python\nDescription: x\nVersion: 3.11\n\
             Libs: -L{a}/lib -lpython3.11\nCflags: -I{a}/include/python3.11\n",
            a = arm.display()
        ),
    );
    let r = resolve(&env).unwrap();
    assert_eq!(r.config.include_dirs, [arm.join("include/python3.11")]);
    assert!(
        r.warnings.is_empty(),
        "no PATH check when cross-compiling: {:?}",
        r.warnings
    );
}

#[test]
fn config_file_is_read_and_checked() {
    let fx = Fixture::new("config-file");
    let p = fx.install("py", 13, 0, 8);
    let good = fx.write(
        "py.cfg",
        &format!(
            "version=3.13\ninclude_dirs={i}\nlib_dir={l}\n",
            i = p.join("include/python3.13").display(),
            l = p.join("lib").display()
        ),
    );
    let r = resolve(&fx.env(&[("PYHOST_CONFIG_FILE", good.display().to_string())])).unwrap();
    assert_eq!(r.config.version.to_string(), "3.13.0");
    assert!(r.watched_files.contains(&good));
    assert!(r.config.cfgs().contains(&"py_3_13".to_string()));

    let bad = fx.write("bad.cfg", "version=3.13\ninclude_dir=/x\n");
    let msg = resolve(&fx.env(&[("PYHOST_CONFIG_FILE", bad.display().to_string())]))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("bad.cfg:2: unknown key `include_dir`"),
        "{msg}"
    );

    let msg = resolve(&fx.env(&[(
        "PYHOST_CONFIG_FILE",
        fx.path("none.cfg").display().to_string(),
    )]))
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("cannot read the file PYHOST_CONFIG_FILE names"),
        "{msg}"
    );
}

#[test]
fn pointer_width_must_match_the_target() {
    let fx = Fixture::new("width");
    let p = fx.install("py", 11, 2, 8);
    let cfg = fx.write(
        "py.cfg",
        &format!(
            "version=3.11\ninclude_dirs={}\nlib_dir={}\n",
            p.join("include/python3.11").display(),
            p.join("lib").display()
        ),
    );
    let env = fx.env(&[
        ("PYHOST_CONFIG_FILE", cfg.display().to_string()),
        ("TARGET", "i686-unknown-linux-gnu".into()),
    ]);
    let msg = resolve(&env).unwrap_err().to_string();
    assert!(msg.contains("Pointer width mismatch"), "{msg}");
    assert!(msg.contains("64-bit") && msg.contains("32-bit"), "{msg}");
}

#[test]
fn static_link_uses_the_pic_archive_and_its_libraries() {
    let fx = Fixture::new("static");
    let p = fx.install("py", 11, 2, 8);
    fx.static_lib("py", 11);
    fx.pc("python3-embed", &p, "3.11", 11);
    let r = resolve(&fx.env(&[("PYHOST_LINK", "static".into())])).unwrap();
    assert_eq!(r.config.link, LinkKind::Static);
    assert_eq!(r.config.lib_name, "python3.11-pic");
    assert!(
        r.config
            .lib_dir
            .as_ref()
            .unwrap()
            .ends_with("config-3.11-x86_64-linux-gnu")
    );
    assert_eq!(
        r.config.extra_libs,
        ["dl", "m", "z", "expat", "pthread", "util"]
    );
    assert_eq!(r.rpath_dir(), None);
    let d = r.directives();
    assert!(d.contains(
        &"cargo:rustc-link-lib=static:+whole-archive,-bundle=python3.11-pic".to_string()
    ));
    assert!(d.contains(&"cargo:rustc-link-arg=-Wl,--export-dynamic".to_string()));

    let msg = resolve(&fx.env(&[("PYHOST_LINK", "dynamic".into())]))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("neither `shared` nor `static`"), "{msg}");
}

#[test]
fn no_rpath_opt_out() {
    let fx = Fixture::new("norpath");
    let p = fx.install("py", 12, 1, 8);
    fx.pc("python3-embed", &p, "3.12", 12);
    let r = resolve(&fx.env(&[("PYHOST_NO_RPATH", "1".into())])).unwrap();
    assert!(!r.directives().iter().any(|l| l.contains("-rpath")));
}
