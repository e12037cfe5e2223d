//! `cargo pyhost doctor`: what pyhost-build would pick for the host and for each known cross
//! target, every Python install it saw, where they disagree, whether libclang loads, and
//! what to do about each problem.

use std::path::Path;

use pyhost_build::{Env, LinkKind, Resolved, Target};

use crate::candidates::{self, Candidate, Survey, selector_to_string};
use crate::cli::print_status;
use crate::cross::{CROSS_TARGETS, CrossTarget, Needs};

/// The variables that change what a build picks.
const VARIABLES: &[&str] = &[
    "PYHOST_CONFIG_FILE",
    "PYHOST_PYTHON",
    "PYHOST_PYTHON_VERSION",
    "PYHOST_LINK",
    "PYHOST_NO_RPATH",
    "PKG_CONFIG_PATH",
    "PKG_CONFIG_LIBDIR",
    "PKG_CONFIG_SYSROOT_DIR",
    "PKG_CONFIG",
    "LIBCLANG_PATH",
    "PYENV_VERSION",
];

/// Prints the report. `extra` adds sections of the caller's own (printed after the cross
/// targets), pushing what it finds wrong onto the problems listed at the end.
///
/// # Errors
/// When the host has no usable Python (the report says why).
pub fn run(extra: &dyn Fn(&mut Vec<String>)) -> Result<(), String> {
    let host = crate::host_triple();
    let env = Env::from_process();
    let mut problems: Vec<String> = Vec::new();

    println!("cargo pyhost doctor: which Python a build links, and why\n");
    let set: Vec<String> = VARIABLES
        .iter()
        .filter_map(|v| env.var(v).map(|val| format!("{v}={val}")))
        .collect();
    if set.is_empty() {
        println!(
            "Variables: none of PYHOST_CONFIG_FILE, PYHOST_PYTHON, PYHOST_PYTHON_VERSION, \
             PKG_CONFIG_PATH is set, so pkg-config's default (then python3 on PATH) decides."
        );
    } else {
        println!("Variables that affect the choice:");
        for s in &set {
            println!("  {s}");
        }
    }

    // The host.
    println!("\n== Host {host} ==");
    let survey = candidates::survey(&env, &Target::from_triple(&host, &host));
    match &survey.default {
        Ok(r) => {
            println!("A build links: {}", describe(r));
            for n in &r.notes {
                println!("  note: {n}");
            }
            for w in &r.warnings {
                if !w.contains("on PATH is Python") {
                    println!("  warning: {w}");
                    problems.push(format!("host: {w}"));
                }
            }
        }
        Err(e) => {
            println!(
                "A build fails: no usable Python.\n{}",
                indent(&e.to_string(), "  ")
            );
            problems.push(format!(
                "host: no usable Python.\n{}",
                indent(&e.to_string(), "   ")
            ));
        }
    }
    println!("\nPython installs seen (* = the one a build links):");
    print_candidates(&survey, &mut problems);
    path_mismatch(&survey, &mut problems);

    // The cross targets.
    for t in CROSS_TARGETS {
        cross_target(t, &env, &host, &mut problems);
    }

    extra(&mut problems);

    // libclang.
    println!("\n== libclang (bindgen) ==");
    match pyhost_build::bindings::libclang_path() {
        Ok(path) => println!(
            "loads: {}; builds with pyhost's `bindgen` feature generate the bindings from the \
             linked Python's headers (without it they use the pre-generated ones, checked \
             against the headers)",
            path.display(),
        ),
        Err(e) => {
            println!("does not load: {}", e.lines().next().unwrap_or_default());
            problems.push(format!(
                "libclang does not load, so builds use the pre-generated bindings (CPython \
                 3.{}-3.{} on {}), checked against the real headers, even with pyhost's \
                 `bindgen` feature on.\n   Fix (for a CPython or a debug build they do not \
                 cover): apt-get install libclang-dev, or LIBCLANG_PATH=<directory of \
                 libclang.so>",
                pyhost_build::MIN_MINOR,
                pyhost_build::MAX_TESTED_MINOR,
                pyhost_build::fallback::TARGETS.join(", ")
            ));
        }
    }

    println!("\n== What to do ==");
    if problems.is_empty() {
        println!("Nothing: no problems found.");
    }
    for (i, p) in problems.iter().enumerate() {
        println!("{}. {p}", i + 1);
    }
    if survey.default.is_err() {
        return Err("no usable Python for the host (see above)".into());
    }
    Ok(())
}

/// `Python 3.11.2 from pkg-config python3-embed (…pc)` and where its library and headers are.
fn describe(r: &Resolved) -> String {
    let lib = match (&r.config.lib_dir, r.config.link) {
        (Some(d), LinkKind::Shared) => {
            format!("shared lib{} in {}", r.config.lib_name, d.display())
        }
        (Some(d), LinkKind::Static) => {
            format!("static lib{}.a in {}", r.config.lib_name, d.display())
        }
        (None, _) => format!("lib{} from the system library path", r.config.lib_name),
    };
    format!(
        "Python {} from {}\n    {lib}; headers in {}",
        r.config.version,
        r.config.source,
        r.headers.python_h_dir.display()
    )
}

fn print_candidates(survey: &Survey, problems: &mut Vec<String>) {
    if survey.candidates.is_empty() {
        println!("  (none)");
    }
    for c in &survey.candidates {
        let mark = if c.default { "*" } else { " " };
        let version = c
            .version()
            .map(|v| v.to_string())
            .unwrap_or_else(|| "?".into());
        if c.unsupported() {
            println!(
                "  {mark} {version:<8} {}: unsupported (pyhost needs CPython 3.{}+), skipped",
                c.label,
                pyhost_build::MIN_MINOR
            );
            continue;
        }
        println!(
            "  {mark} {version:<8} {}  {}",
            c.label,
            c.location.display()
        );
        if !c.also.is_empty() {
            println!("             also: {}", c.also.join(", "));
        }
        match &c.resolved {
            Err(e) => {
                let first = e.to_string().lines().next().unwrap_or_default().to_owned();
                println!("             not usable: {first}");
                problems.push(format!(
                    "{} cannot be built against:\n{}",
                    c.label,
                    indent(&e.to_string(), "   ")
                ));
            }
            Ok(_) => print_selectors(c),
        }
    }
    let unsupported: Vec<&Candidate> = survey
        .candidates
        .iter()
        .filter(|c| c.unsupported())
        .collect();
    if !unsupported.is_empty() {
        println!(
            "  ({} too old for pyhost: ignored by builds)",
            unsupported
                .iter()
                .map(|c| c.label.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

fn print_selectors(c: &Candidate) {
    let ways: Vec<String> = c
        .selectors
        .iter()
        .map(|s| selector_to_string(s))
        .collect::<Vec<_>>();
    let lead = if c.default {
        "builds use it now; to name it explicitly:"
    } else {
        "to build against it:"
    };
    for (i, w) in ways.iter().enumerate() {
        if i == 0 {
            println!("             {lead} {w}");
        } else {
            println!("             {:width$} or: {w}", "", width = lead.len() - 4);
        }
    }
}

/// `python3` on PATH is not the Python builds link: say so, what it means, and both ways out.
fn path_mismatch(survey: &Survey, problems: &mut Vec<String>) {
    let (Some(default), Some(Ok((exe, version)))) =
        (survey.default_candidate(), survey.path_python.as_ref())
    else {
        return;
    };
    let path_c = survey.path_candidate();
    if path_c.is_some_and(|p| p.default) {
        println!("\n`python3` on PATH is the Python builds link: no mismatch.");
        return;
    }
    let dv = default.version().map(|v| v.to_string()).unwrap_or_default();
    let shim = which_python3().filter(|p| p.as_path() != exe.as_path());
    let via = shim
        .map(|s| format!(", through {}", s.display()))
        .unwrap_or_default();
    let choose_path = path_c
        .and_then(|c| c.selectors.first())
        .map(|s| selector_to_string(s))
        .unwrap_or_else(|| format!("PYHOST_PYTHON={}", exe.display()));
    let explicit_default = default
        .selectors
        .iter()
        .find(|s| s.iter().any(|(k, _)| k == "PYHOST_PYTHON"))
        .or(default.selectors.first())
        .map(|s| selector_to_string(s))
        .unwrap_or_default();
    let text = format!(
        "`python3` on PATH is Python {version} ({}{via}), but builds link Python {dv} from {}.\n   \
         The embedded interpreter uses the standard library and site-packages of the Python it \
         links ({dv}), not of the python3 you run: a package installed with `python3 -m pip` \
         is not seen by it.\n   \
         To link the PATH one:  {choose_path} cargo build\n   \
         To keep {dv}: nothing to do (each build prints a warning saying which one it links); to pin it: {explicit_default} cargo build",
        exe.display(),
        default.label,
    );
    println!("\nMismatch:\n  {text}");
    problems.push(text);
}

/// The `python3` a shell would run (a pyenv shim, for example).
fn which_python3() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("python3"))
        .find(|p| Path::new(p).is_file())
}

fn cross_target(t: &CrossTarget, env: &Env, host: &str, problems: &mut Vec<String>) {
    println!("\n== Cross target {} ==", t.triple);
    let statuses = t.check_all(env, host, Needs::ALL);
    let missing: Vec<_> = statuses.iter().filter(|s| s.found.is_err()).collect();
    match t.resolve_python(env, host) {
        Ok(r) => println!("A build links: {}", describe(&r)),
        Err(e) => println!(
            "A build with Python fails: {}",
            e.to_string().lines().next().unwrap_or_default()
        ),
    }
    let overrides: Vec<(String, Option<String>)> =
        t.env().into_iter().map(|(k, v)| (k, Some(v))).collect();
    let survey = candidates::survey(&env.with(&overrides), &t.target(host));
    let seen: Vec<String> = survey
        .candidates
        .iter()
        .map(|c| {
            let v = c
                .version()
                .map(|v| v.to_string())
                .unwrap_or_else(|| "?".into());
            let mut s = format!("{} {v}", c.label);
            if !c.also.is_empty() {
                s.push_str(&format!(" (also {})", c.also.join(", ")));
            }
            s
        })
        .collect();
    println!(
        "Python installs seen (pkg-config in {}; host interpreters never describe a target): {}",
        t.pkg_config_dir().display(),
        if seen.is_empty() {
            "none".to_owned()
        } else {
            seen.join("; ")
        }
    );
    println!("Toolchain:");
    print_status(&statuses, "  ");
    if missing.is_empty() {
        println!("Ready: cargo pyhost cross --target {} --run", t.triple);
    } else {
        let python_only = missing.iter().all(|s| s.requirement.python_only);
        let mut p = format!(
            "{} is not ready ({} missing); install:\n{}",
            t.triple,
            missing.len(),
            missing
                .iter()
                .map(|s| format!("   {}", s.requirement.install))
                .collect::<Vec<_>>()
                .join("\n")
        );
        if python_only {
            p.push_str(&format!(
                "\n   (a program with Python compiled out builds without it: cargo pyhost cross \
                 --target {} -- --no-default-features …)",
                t.triple
            ));
        }
        println!("Not ready: {} missing (see What to do)", missing.len());
        problems.push(p);
    }
}

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| format!("{by}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
