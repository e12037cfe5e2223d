//! The embedded interpreter behaves like `python3` unless told otherwise: one probe script run
//! by both and compared key by key; the signal policy; shutdown that keeps its deadline with a
//! Python thread that never ends. Each case runs in its own process.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{is_child, run_child_within};
use pyhost::Error;

fn probe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity/probe.py")
}

/// The `PROBE {...}` line of a run.
fn probe_report(stdout: &str) -> BTreeMap<String, serde_json::Value> {
    let line = stdout
        .lines()
        .find_map(|l| l.find("PROBE {").map(|i| &l[i + "PROBE ".len()..]))
        .unwrap_or_else(|| panic!("no PROBE line in:\n{stdout}"));
    serde_json::from_str(line).unwrap()
}

/// Differences that are pyhost's defaults on purpose, with what restores `python3`'s way.
fn deliberate(key: &str) -> Option<&'static str> {
    match key {
        "SIGINT in Python code" => Some(
            "the host owns SIGINT (no KeyboardInterrupt); Builder::signal_handlers(true) \
             gives Python its handler",
        ),
        _ => None,
    }
}

#[test]
fn a_script_sees_what_it_sees_under_python3() {
    if is_child("a_script_sees_what_it_sees_under_python3") {
        pyhost::initialize().unwrap();
        pyhost::with_gil(|py| py.run_script(probe_path(), ["a", "b c"]).map(drop)).unwrap();
        pyhost::shutdown().unwrap();
        return;
    }
    let (out, ended) = run_child_within(
        "a_script_sees_what_it_sees_under_python3",
        &[],
        Duration::from_secs(180),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        ended && out.status.success(),
        "embedded run failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let embedded = probe_report(&stdout);

    // The same script under the Python the embedded one says it is, without the PYTHON*
    // variables an isolated interpreter ignores.
    let exe = embedded["executable"].as_str().unwrap().to_owned();
    let mut cmd = Command::new(&exe);
    cmd.arg(probe_path()).args(["a", "b c"]);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PYTHON") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.output().unwrap();
    let native_out = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{exe} failed:\n{native_out}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let native = probe_report(&native_out);

    // python3 adds the user site directory when it exists; pyhost only with user_site(true).
    let user_site = Command::new(&exe)
        .args(["-c", "import site; print(site.getusersitepackages())"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();

    let mut table = String::from("| what | python3 | pyhost | |\n|---|---|---|---|\n");
    let mut unexplained = Vec::new();
    for (key, theirs) in &native {
        let ours = embedded
            .get(key)
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        let mut theirs = theirs.clone();
        if key == "sys.path" {
            if let serde_json::Value::Array(a) = &mut theirs {
                a.retain(|p| p.as_str() != Some(user_site.as_str()));
            }
        }
        let verdict = if ours == theirs {
            "same".to_owned()
        } else if let Some(why) = deliberate(key) {
            format!("deliberate: {why}")
        } else {
            unexplained.push(key.clone());
            "DIFFERENT".to_owned()
        };
        table.push_str(&format!("| {key} | {theirs} | {ours} | {verdict} |\n"));
    }
    eprintln!("{table}");
    assert!(
        unexplained.is_empty(),
        "differences from python3 nobody decided on: {unexplained:?}\n{table}"
    );
    // The reports are real, not two empty ones.
    assert_eq!(
        embedded["argv"],
        serde_json::json!([probe_path().display().to_string(), "a", "b c"])
    );
    assert_eq!(embedded["pickle a function of __main__"], 49);
    assert_eq!(
        embedded["multiprocessing fork, spawn"]["spawn"],
        serde_json::json!([0, 1, 4, 9, 16])
    );
    assert_eq!(native["SIGINT in Python code"], "KeyboardInterrupt");
    assert_eq!(embedded["SIGINT in Python code"], "killed by signal 2");
}

/// SIGINTs the host's handler saw.
static HOST_SAW: AtomicUsize = AtomicUsize::new(0);

extern "C" fn host_handler(_: libc::c_int) {
    HOST_SAW.fetch_add(1, Ordering::SeqCst);
}

fn install_host_handler() {
    // A handler that only bumps an atomic counter is async-signal-safe.
    // SAFETY: `host_handler` has the signature signal(2) expects and stays valid.
    unsafe {
        libc::signal(
            libc::SIGINT,
            host_handler as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

/// Python code importing what installs Python's SIGINT handler, then sending SIGINT to the
/// process and sleeping: prints whether a KeyboardInterrupt arrived.
const SIGINT_PROBE: &str = r#"
import signal, subprocess, asyncio, os, time
try:
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(20):
        time.sleep(0.01)
    print("no KeyboardInterrupt", flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
"#;

fn sigint_child(handler_before_start: bool, python_handlers: bool) {
    if handler_before_start {
        install_host_handler();
    }
    pyhost::Interpreter::builder()
        .signal_handlers(python_handlers)
        .start()
        .unwrap();
    if !handler_before_start && !python_handlers {
        install_host_handler();
    }
    pyhost::with_gil(|py| py.exec(SIGINT_PROBE)).unwrap();
    println!(
        "host handler ran {} time(s)",
        HOST_SAW.load(Ordering::SeqCst)
    );
    pyhost::shutdown().unwrap();
}

fn sigint_outcome(name: &str) -> String {
    let (out, ended) = run_child_within(name, &[], Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        ended && out.status.success(),
        "{name} ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_host_keeps_sigint_it_set_before_start() {
    if is_child("the_host_keeps_sigint_it_set_before_start") {
        return sigint_child(true, false);
    }
    let out = sigint_outcome("the_host_keeps_sigint_it_set_before_start");
    assert!(out.contains("no KeyboardInterrupt"), "{out}");
    assert!(out.contains("host handler ran 1 time(s)"), "{out}");
}

#[test]
fn the_host_keeps_sigint_it_sets_after_start() {
    if is_child("the_host_keeps_sigint_it_sets_after_start") {
        return sigint_child(false, false);
    }
    let out = sigint_outcome("the_host_keeps_sigint_it_sets_after_start");
    assert!(out.contains("no KeyboardInterrupt"), "{out}");
    assert!(out.contains("host handler ran 1 time(s)"), "{out}");
}

#[test]
fn signal_handlers_true_gives_python_keyboard_interrupt() {
    if is_child("signal_handlers_true_gives_python_keyboard_interrupt") {
        return sigint_child(false, true);
    }
    let out = sigint_outcome("signal_handlers_true_gives_python_keyboard_interrupt");
    assert!(
        out.contains("KeyboardInterrupt") && !out.contains("no KeyboardInterrupt"),
        "{out}"
    );
    assert!(out.contains("host handler ran 0 time(s)"), "{out}");
}

/// Starts a non-daemon Python thread named `forever` that runs until `builtins.STOP` is set,
/// and leaves buffered output in `sys.stdout`.
fn start_forever_thread() {
    pyhost::initialize().unwrap();
    pyhost::with_gil(|py| {
        py.exec(
            "import builtins, sys, threading\n\
             builtins.STOP = threading.Event()\n\
             threading.Thread(target=builtins.STOP.wait, name='forever').start()\n\
             sys.stdout.write('written by Python before shutdown\\n')",
        )
    })
    .unwrap();
}

#[test]
fn shutdown_timeout_keeps_its_deadline_with_a_thread_that_never_ends() {
    let name = "shutdown_timeout_keeps_its_deadline_with_a_thread_that_never_ends";
    if is_child(name) {
        start_forever_thread();
        let t = Instant::now();
        let err = pyhost::shutdown_timeout(Duration::from_millis(500)).unwrap_err();
        println!("gave up after {:?}: {err}", t.elapsed());
        match &err {
            Error::ShutdownTimeout { still_running, .. } => {
                assert!(
                    still_running.iter().any(|t| t.starts_with("forever (")),
                    "{still_running:?}"
                );
            }
            other => panic!("expected ShutdownTimeout, got {other:?}"),
        }
        assert!(pyhost::is_initialized(), "left running, as documented");
        // The host may now end the process: Python's output must already be out.
        std::process::exit(7);
    }
    let start = Instant::now();
    let (out, ended) = run_child_within(name, &[], Duration::from_secs(30));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(ended, "the child hung in shutdown:\n{stdout}");
    assert_eq!(
        out.status.code(),
        Some(7),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("written by Python before shutdown"),
        "buffered Python output was lost:\n{stdout}"
    );
    assert!(stdout.contains("forever ("), "{stdout}");
    // Starting the child and Python takes a fraction of this; only a hang breaks it.
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn shutdown_timeout_finalizes_once_the_thread_has_ended() {
    let name = "shutdown_timeout_finalizes_once_the_thread_has_ended";
    if is_child(name) {
        start_forever_thread();
        assert!(matches!(
            pyhost::shutdown_timeout(Duration::from_millis(200)),
            Err(Error::ShutdownTimeout { .. })
        ));
        // Still usable after giving up: stop the thread, and shut down for real.
        pyhost::with_gil(|py| py.exec("import builtins\nbuiltins.STOP.set()")).unwrap();
        pyhost::shutdown_timeout(Duration::from_secs(10)).unwrap();
        assert!(matches!(
            pyhost::with_gil(|_| Ok(())),
            Err(Error::Finalized)
        ));
        println!("finalized");
        return;
    }
    let (out, ended) = run_child_within(name, &[], Duration::from_secs(30));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        ended && out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("written by Python before shutdown"),
        "{stdout}"
    );
    assert!(stdout.contains("finalized"), "{stdout}");
}
