//! `cargo xtask bench`: builds the benchmark suite (`benches/`) in release mode against the
//! Python pyhost-build discovers, points PyO3 at the same Python, runs it, prints one table,
//! and writes `--json FILE` and BENCHMARKS.md. Optional: instruction counts under callgrind,
//! and the cold build time of a "hello embed" binary three ways.

mod build_times;
mod callgrind;
mod report;
mod syscalls;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use pyhost_build::{Env, Target};

use crate::util;

use build_times::build_times;
use callgrind::{callgrind, pool_callgrind};
pub use report::*;
use syscalls::syscalls;

/// The columns, in table order.
pub(super) const COLUMNS: [&str; 4] = ["raw", "limit", "pyhost", "pyo3"];

/// Options of the command.
#[derive(Debug, Default, PartialEq)]
pub struct Options {
    pub quick: bool,
    pub json: Option<PathBuf>,
    pub callgrind: bool,
    pub build_times: bool,
    /// Futex calls and context switches per operation of the pool rows, from `perf stat`.
    pub syscalls: bool,
    pub only: Option<String>,
    /// Write BENCHMARKS.md (default for full runs of every workload).
    pub write_md: bool,
}

pub fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut no_write = false;
    let mut force_write = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--json" => o.json = Some(it.next().ok_or("--json needs a file name")?.into()),
            "--callgrind" => o.callgrind = true,
            "--build-times" => o.build_times = true,
            "--syscalls" => o.syscalls = true,
            "--only" => o.only = Some(it.next().ok_or("--only needs workload ids")?.clone()),
            "--no-write" => no_write = true,
            "--write" => force_write = true,
            other => return Err(format!("bench: unknown option `{other}`")),
        }
    }
    o.write_md = !no_write && (force_write || (!o.quick && o.only.is_none()));
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// The run

/// The Python executable behind the library pyhost-build links (for PYO3_PYTHON).
fn discover_python() -> Result<(PathBuf, String), String> {
    let env = Env::from_process();
    let host = util::host_triple();
    let survey = cargo_pyhost::candidates::survey(&env, &Target::from_triple(&host, &host));
    let r = survey.default.map_err(|e| {
        format!("pyhost-build finds no usable Python (see `cargo xtask doctor`):\n{e}")
    })?;
    let version = r.config.version.to_string();
    if let Some(exe) = &r.config.executable {
        return Ok((exe.clone(), version));
    }
    // pkg-config configurations carry no executable: it sits in <prefix>/bin.
    let prefix = r
        .headers
        .python_h_dir
        .parent()
        .and_then(Path::parent)
        .ok_or("the headers are not under <prefix>/include")?;
    let v = &r.config.version;
    let exe = prefix
        .join("bin")
        .join(format!("python{}.{}", v.major, v.minor));
    if exe.is_file() {
        Ok((exe, version))
    } else {
        Err(format!(
            "pyhost-build links Python {version} from {}, but {} does not exist, so PyO3 \
             cannot be pointed at the same Python. Set PYO3_PYTHON to its executable.",
            r.config.source,
            exe.display()
        ))
    }
}

pub(super) use util::target_dir;

/// First line of a command's output, or `?`.
fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".to_owned())
}

/// `Intel(R) Xeon(R) …, 2 logical CPUs, Linux 6.1.0`.
fn machine_line() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    format!("{model}, {cpus} logical CPUs, Linux {kernel}")
}

/// The version of `package` in the workspace's Cargo.lock.
pub fn locked_version(lock: &str, package: &str) -> Option<String> {
    let needle = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l.trim() == needle {
            return lines
                .next()
                .and_then(|v| v.trim().strip_prefix("version = "))
                .map(|v| v.trim_matches('"').to_owned());
        }
    }
    None
}

pub(super) fn status(cmd: &mut Command, what: &str) -> Result<(), String> {
    let s = cmd
        .status()
        .map_err(|e| format!("{what}: could not start: {e}"))?;
    if s.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({s})"))
    }
}

/// The command.
pub fn run(args: &[String]) -> Result<(), String> {
    let opts = parse(args)?;
    let started = Instant::now();
    let (python, version) = match std::env::var("PYO3_PYTHON") {
        Ok(p) if !p.is_empty() => (PathBuf::from(p), String::from("(PYO3_PYTHON as set)")),
        _ => discover_python()?,
    };
    eprintln!(
        "bench: Python {version}; PyO3 pointed at it with PYO3_PYTHON={}",
        python.display()
    );

    let mut build = Command::new(util::cargo());
    build
        .args([
            "build",
            "-p",
            "pyhost-benches",
            "--profile",
            "bench-release",
        ])
        .current_dir(util::workspace_root())
        .env("PYO3_PYTHON", &python);
    status(&mut build, "building the benchmarks")?;
    let bin = target_dir().join("bench-release").join("pyhost-bench");

    let out = target_dir().join("bench-release").join("pyhost-bench.json");
    let mut cmd = Command::new(&bin);
    cmd.arg("--out").arg(&out);
    if opts.quick {
        cmd.arg("--quick");
    }
    if let Some(only) = &opts.only {
        cmd.args(["--only", only]);
    }
    eprintln!("bench: running {} (progress below)", bin.display());
    status(&mut cmd, "the benchmark run")?;
    let text =
        std::fs::read_to_string(&out).map_err(|e| format!("reading {}: {e}", out.display()))?;
    let (meta, rows) = parse_report(&text)?;

    let counts = if opts.callgrind {
        let mut counts = callgrind(&bin, &rows)?;
        counts.extend(pool_callgrind(&bin, &rows)?);
        counts
    } else {
        Vec::new()
    };
    let kernel = if opts.syscalls {
        syscalls(&bin, &rows)?
    } else {
        Vec::new()
    };
    // A failed build-time measurement is reported, not allowed to lose the results above.
    let builds = if opts.build_times {
        build_times(&python).unwrap_or_else(|e| {
            eprintln!("bench: build times not measured: {e}");
            Vec::new()
        })
    } else {
        Vec::new()
    };

    println!();
    print!("{}", util::table(&table_rows(&rows)));
    for (id, c) in report::cross_checks(&rows) {
        println!(
            "{id}: {} {} (is {})",
            c.what,
            if c.met { "met" } else { "MISSED" },
            c.measured
        );
    }
    if !counts.is_empty() {
        println!("\nInstructions per operation (callgrind):");
        print!("{}", util::table(&table_rows(&counts)));
    }
    if !kernel.is_empty() {
        println!("\nFutex calls and context switches per operation (perf stat):");
        print!("{}", util::table(&table_rows(&kernel)));
    }
    if !builds.is_empty() {
        println!("\nCold build of a \"hello embed\" binary (cargo build --release):");
        for (what, secs) in &builds {
            println!("  {what:<66} {secs:.1}s");
        }
        if let Some(c) = build_check(&builds) {
            println!(
                "{} {} (is {})",
                c.what,
                if c.met { "met" } else { "MISSED" },
                c.measured
            );
        }
    }

    if let Some(path) = &opts.json {
        let mut all = rows.clone();
        all.extend(counts.iter().cloned());
        all.extend(kernel.iter().cloned());
        std::fs::write(path, json_list(&all))
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("bench: wrote {}", path.display());
    }
    if opts.write_md {
        let lock =
            std::fs::read_to_string(util::workspace_root().join("Cargo.lock")).unwrap_or_default();
        let info = Info {
            command: std::iter::once("cargo xtask bench".to_owned())
                .chain(args.iter().cloned())
                .collect::<Vec<_>>()
                .join(" "),
            date: first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            machine: machine_line(),
            pyo3: locked_version(&lock, "pyo3").unwrap_or_else(|| "?".into()),
            rustc: first_line("rustc", &["-V"]),
            meta,
        };
        let md = benchmarks_md(&info, &rows, &counts, &kernel, &builds);
        let path = util::workspace_root().join("BENCHMARKS.md");
        std::fs::write(&path, md).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("bench: wrote {}", path.display());
    }
    eprintln!("bench: done in {}", util::fmt_duration(started.elapsed()));
    Ok(())
}

/// The operations per batch operation that a `--run` or `--count` run of the benchmark binary
/// printed (the fourth field of its line), 1 when it printed none.
fn per_op(stdout: &[u8]) -> u64 {
    String::from_utf8_lossy(stdout)
        .split_whitespace()
        .nth(3)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// A measurement's output file, read whole.
fn read(file: &Path) -> Result<String, String> {
    std::fs::read_to_string(file).map_err(|e| format!("reading {}: {e}", file.display()))
}
