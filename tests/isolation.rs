//! Isolation: with PYTHONPATH, PYTHONHOME, PYTHONSTARTUP and the user site pointing at hostile
//! code, a default interpreter imports none of it; with the opt-in, PYTHONPATH is honoured.
//! Each case runs in its own process (one interpreter per process).

mod common;

use common::{TempDir, assert_child_ok, is_child, run_child};

/// A directory of modules that announce themselves when imported.
fn hostile_dir() -> TempDir {
    let d = TempDir::new("hostile");
    let mark =
        "import builtins\nbuiltins.HOSTILE = getattr(builtins, 'HOSTILE', []) + [__name__]\n";
    d.write("sitecustomize.py", mark);
    d.write("usercustomize.py", mark);
    d.write(
        "json.py",
        &format!("{mark}\ndumps = lambda *a, **k: 'hijacked'\n"),
    );
    d.write("startup.py", mark);
    d.write("home/lib/python3.99/os.py", mark);
    d
}

fn hostile_env(d: &TempDir) -> Vec<(String, String)> {
    vec![
        ("PYTHONPATH".into(), d.path().display().to_string()),
        (
            "PYTHONSTARTUP".into(),
            d.path().join("startup.py").display().to_string(),
        ),
        ("PYTHONUSERBASE".into(), d.path().display().to_string()),
        (
            "PYTHONHOME".into(),
            d.path().join("home").display().to_string(),
        ),
        ("PYTHONINSPECT".into(), "1".into()),
        ("PYTHONWARNINGS".into(), "error".into()),
    ]
}

/// What the child reports: the hostile modules that ran, and where `json` came from.
fn report() -> String {
    pyhost::with_gil(|py| {
        let ran: Vec<String> = py
            .eval("getattr(__import__('builtins'), 'HOSTILE', [])")?
            .extract()?;
        let json: String = py.eval("__import__('json').dumps([1])")?.extract()?;
        Ok(format!("RAN={ran:?} JSON={json}"))
    })
    .unwrap()
}

#[test]
fn default_interpreter_ignores_the_environment() {
    if is_child("default_interpreter_ignores_the_environment") {
        pyhost::initialize().unwrap();
        println!("{}", report());
        return;
    }
    let d = hostile_dir();
    let env = hostile_env(&d);
    let env: Vec<(&str, &str)> = env.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let out = assert_child_ok(&run_child(
        "default_interpreter_ignores_the_environment",
        &env,
    ));
    assert!(out.contains("RAN=[] JSON=[1]"), "{out}");
}

#[test]
fn opt_in_honours_pythonpath() {
    if is_child("opt_in_honours_pythonpath") {
        pyhost::Interpreter::builder()
            .use_environment(true)
            .start()
            .unwrap();
        println!("{}", report());
        return;
    }
    let d = hostile_dir();
    // PYTHONHOME would break startup (that is its job): leave it out of the opt-in run.
    let env: Vec<(String, String)> = hostile_env(&d)
        .into_iter()
        .filter(|(k, _)| k != "PYTHONHOME")
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let out = assert_child_ok(&run_child("opt_in_honours_pythonpath", &env));
    assert!(
        out.contains("RAN=[\"sitecustomize\"]"),
        "sitecustomize from PYTHONPATH ran: {out}"
    );
    assert!(
        out.contains("JSON=hijacked"),
        "json from PYTHONPATH shadows the stdlib: {out}"
    );
}

/// What the child reports about text encodings, and a round trip through a non-ASCII file
/// name, `open()` and a text-mode subprocess.
const ENCODINGS: &str = r#"
import os, subprocess, sys, tempfile
d = tempfile.mkdtemp()
p = os.path.join(d, "café.txt")
with open(p, "w") as f:
    f.write("café ☕")
    enc = f.encoding
with open(p) as f:
    back = f.read()
echo = subprocess.run(["echo", "café"], capture_output=True, text=True).stdout.strip()
result = "UTF8=%d FS=%s OPEN=%s STDOUT=%s BACK=%s ECHO=%s" % (
    sys.flags.utf8_mode, sys.getfilesystemencoding(), enc.lower(), sys.stdout.encoding.lower(),
    back == "café ☕", echo == "café")
"#;

fn encodings() -> String {
    pyhost::with_gil(|py| {
        let ns = pyhost::types::Dict::new(py);
        match py.exec_with(ENCODINGS, &ns, None) {
            Ok(()) => ns.get_item("result")?.unwrap().extract(),
            Err(e) => Ok(format!("ERROR {e}")),
        }
    })
    .unwrap()
}

#[test]
fn text_is_utf8_by_default_even_under_the_c_locale() {
    if is_child("text_is_utf8_by_default_even_under_the_c_locale") {
        pyhost::initialize().unwrap();
        println!("{}", encodings());
        return;
    }
    let out = run_child(
        "text_is_utf8_by_default_even_under_the_c_locale",
        &[("LC_ALL", "C"), ("LANG", "C")],
    );
    let stdout = assert_child_ok(&out);
    assert!(
        stdout.contains("UTF8=1 FS=utf-8 OPEN=utf-8 STDOUT=utf-8 BACK=True ECHO=True"),
        "{stdout}"
    );
}

#[test]
fn utf8_mode_can_be_turned_off() {
    if is_child("utf8_mode_can_be_turned_off") {
        pyhost::Interpreter::builder()
            .utf8_mode(false)
            .start()
            .unwrap();
        println!("{}", encodings());
        return;
    }
    let out = run_child(
        "utf8_mode_can_be_turned_off",
        &[("LC_ALL", "C"), ("LANG", "C")],
    );
    let stdout = assert_child_ok(&out);
    // The C locale's encoding, as the isolated configuration leaves it: `café.txt` cannot
    // be encoded.
    assert!(
        stdout.contains("ERROR") || stdout.contains("UTF8=0"),
        "{stdout}"
    );
    assert!(!stdout.contains("UTF8=1"), "{stdout}");
}

#[test]
fn argv_sets_sys_argv_and_orig_argv() {
    if is_child("argv_sets_sys_argv_and_orig_argv") {
        pyhost::Interpreter::builder()
            .argv(["agent", "--once", "café"])
            .start()
            .unwrap();
        let (argv, orig): (Vec<String>, Option<Vec<String>>) = pyhost::with_gil(|py| {
            Ok((
                py.eval("__import__('sys').argv")?.extract()?,
                py.eval("getattr(__import__('sys'), 'orig_argv', None)")?
                    .extract()?,
            ))
        })
        .unwrap();
        println!("ARGV={argv:?} ORIG={orig:?}");
        return;
    }
    let out = run_child("argv_sets_sys_argv_and_orig_argv", &[]);
    let stdout = assert_child_ok(&out);
    assert!(
        stdout.contains(r#"ARGV=["agent", "--once", "café"]"#),
        "{stdout}"
    );
    // Only 3.10+ has sys.orig_argv.
    let orig = if cfg!(py_3_10) {
        r#"ORIG=Some(["agent", "--once", "café"])"#
    } else {
        "ORIG=None"
    };
    assert!(stdout.contains(orig), "{stdout}");
}

/// Prints to stderr pymalloc's statistics, which CPython prints only when pymalloc is in use.
fn malloc_stats_child(builder: pyhost::Builder) {
    match builder.start() {
        Ok(()) => {
            pyhost::with_gil(|py| py.exec("import sys\nsys._debugmallocstats()")).unwrap();
            println!("STARTED");
        }
        Err(e) => println!("START FAILED: {e}"),
    }
}

#[test]
fn pythonmalloc_is_honoured_by_the_isolated_configuration() {
    if is_child("pythonmalloc_is_honoured_by_the_isolated_configuration") {
        return malloc_stats_child(pyhost::Interpreter::builder());
    }
    let run = |value: &str| {
        run_child(
            "pythonmalloc_is_honoured_by_the_isolated_configuration",
            &[("PYTHONMALLOC", value)],
        )
    };
    // pymalloc: its statistics are printed.
    let pymalloc = run("pymalloc");
    assert!(assert_child_ok(&pymalloc).contains("STARTED"));
    let stats = String::from_utf8_lossy(&pymalloc.stderr);
    assert!(stats.contains("Small block threshold"), "{stats}");
    // malloc (what valgrind needs): no pymalloc, no statistics.
    let malloc = run("malloc");
    assert!(assert_child_ok(&malloc).contains("STARTED"));
    let stats = String::from_utf8_lossy(&malloc.stderr);
    assert!(!stats.contains("Small block threshold"), "{stats}");
    // A name CPython does not know is a clear error, not a crash.
    let bad = assert_child_ok(&run("jemalloc"));
    assert!(
        bad.contains("START FAILED") && bad.contains("PYTHONMALLOC=jemalloc names no allocator"),
        "{bad}"
    );
}

#[test]
fn the_builder_allocator_wins_over_pythonmalloc() {
    if is_child("the_builder_allocator_wins_over_pythonmalloc") {
        return malloc_stats_child(
            pyhost::Interpreter::builder().allocator(pyhost::Allocator::Malloc),
        );
    }
    let out = run_child(
        "the_builder_allocator_wins_over_pythonmalloc",
        &[("PYTHONMALLOC", "pymalloc")],
    );
    assert!(assert_child_ok(&out).contains("STARTED"));
    let stats = String::from_utf8_lossy(&out.stderr);
    assert!(!stats.contains("Small block threshold"), "{stats}");
}
