//! `cargo xtask bench`: builds the benchmark suite (`benches/`) in release mode against the
//! Python pyhost-build discovers, points PyO3 at the same Python, runs it, prints one table,
//! and writes `--json FILE` and BENCHMARKS.md. Optional: instruction counts under callgrind,
//! and the cold build time of a "hello embed" binary three ways.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use pyhost_build::{Env, Target};

use crate::json::{self, Value};
use crate::util;

/// The columns, in table order.
const COLUMNS: [&str; 4] = ["raw", "limit", "pyhost", "pyo3"];

/// Options of the command.
#[derive(Debug, Default, PartialEq)]
pub struct Options {
    pub quick: bool,
    pub json: Option<PathBuf>,
    pub callgrind: bool,
    pub build_times: bool,
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
            "--only" => o.only = Some(it.next().ok_or("--only needs workload ids")?.clone()),
            "--no-write" => no_write = true,
            "--write" => force_write = true,
            other => return Err(format!("bench: unknown option `{other}`")),
        }
    }
    o.write_md = !no_write && (force_write || (!o.quick && o.only.is_none()));
    Ok(o)
}

/// One row: a workload's medians (or instruction counts).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    pub title: String,
    pub unit: String,
    /// raw, limit, pyhost, pyo3.
    pub values: [Option<f64>; 4],
}

impl Row {
    fn get(&self, column: &str) -> Option<f64> {
        COLUMNS
            .iter()
            .position(|c| *c == column)
            .and_then(|i| self.values[i])
    }
}

/// What the issue asks of the pyhost column of a workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Targets {
    /// pyhost / raw at most this.
    pub raw_max: Option<f64>,
    /// pyhost / limit at most this.
    pub limit_max: Option<f64>,
    /// pyo3 / pyhost at least this (pyhost this many times faster).
    pub pyo3_speedup: Option<f64>,
}

/// The targets of workload `id` (besides "no slower than PyO3", which applies to all).
pub fn targets(id: &str) -> Targets {
    let none = Targets {
        raw_max: None,
        limit_max: None,
        pyo3_speedup: None,
    };
    match id {
        "w1" | "w2" | "w6a" | "w6b" | "w6c" => Targets {
            raw_max: Some(1.05),
            ..none
        },
        "w3" | "w4" => Targets {
            raw_max: Some(1.2),
            ..none
        },
        "w5" => Targets {
            limit_max: Some(1.2),
            pyo3_speedup: Some(5.0),
            ..none
        },
        _ => none,
    }
}

/// One checked target: its text, the measured value, and whether it is met.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub what: String,
    pub measured: String,
    pub met: bool,
}

/// Checks a row against its targets; nothing when the pyhost column is missing.
pub fn check(row: &Row) -> Vec<Check> {
    let mut out = Vec::new();
    let Some(p) = row.get("pyhost") else {
        return out;
    };
    let t = targets(&row.id);
    if let (Some(max), Some(raw)) = (t.raw_max, row.get("raw")) {
        let r = p / raw;
        out.push(Check {
            what: format!("pyhost/raw <= {max:.2}"),
            measured: format!("{r:.3}"),
            met: r <= max,
        });
    }
    if let (Some(max), Some(limit)) = (t.limit_max, row.get("limit")) {
        let r = p / limit;
        out.push(Check {
            what: format!("pyhost/limit <= {max:.2}"),
            measured: format!("{r:.3}"),
            met: r <= max,
        });
    }
    if let Some(pyo3) = row.get("pyo3") {
        match t.pyo3_speedup {
            Some(min) => {
                let r = pyo3 / p;
                out.push(Check {
                    what: format!("pyo3/pyhost >= {min:.1}"),
                    measured: format!("{r:.2}"),
                    met: r >= min,
                });
            }
            None => {
                let r = p / pyo3;
                out.push(Check {
                    what: "pyhost/pyo3 <= 1.00".to_owned(),
                    measured: format!("{r:.3}"),
                    met: r <= 1.0,
                });
            }
        }
    }
    out
}

/// A value with a precision that suits its size.
pub fn fmt_value(v: Option<f64>) -> String {
    match v {
        None => "-".to_owned(),
        Some(x) if x >= 1000.0 => format!("{x:.0}"),
        Some(x) if x >= 100.0 => format!("{x:.1}"),
        Some(x) if x >= 1.0 => format!("{x:.2}"),
        Some(x) => format!("{x:.4}"),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".to_owned(),
    }
}

/// The verdict cell: `met` or the missed checks.
fn verdict(checks: &[Check]) -> String {
    if checks.is_empty() {
        return "-".to_owned();
    }
    let missed: Vec<String> = checks
        .iter()
        .filter(|c| !c.met)
        .map(|c| format!("MISSED {} (is {})", c.what, c.measured))
        .collect();
    if missed.is_empty() {
        "met".to_owned()
    } else {
        missed.join("; ")
    }
}

/// The header and cells of the results table.
pub fn table_rows(rows: &[Row]) -> Vec<Vec<String>> {
    let mut out = vec![
        [
            "id",
            "workload",
            "unit",
            "raw",
            "limit",
            "pyhost",
            "pyo3",
            "pyhost/raw",
            "pyhost/limit",
            "pyhost/pyo3",
            "targets",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for r in rows {
        let p = r.get("pyhost");
        out.push(vec![
            r.id.clone(),
            r.title.clone(),
            r.unit.clone(),
            fmt_value(r.values[0]),
            fmt_value(r.values[1]),
            fmt_value(r.values[2]),
            fmt_value(r.values[3]),
            ratio(p, r.get("raw")),
            ratio(p, r.get("limit")),
            ratio(p, r.get("pyo3")),
            verdict(&check(r)),
        ]);
    }
    out
}

/// A Markdown table.
pub fn markdown_table(rows: &[Vec<String>]) -> String {
    let mut s = String::new();
    for (i, r) in rows.iter().enumerate() {
        s.push_str("| ");
        s.push_str(&r.join(" | "));
        s.push_str(" |\n");
        if i == 0 {
            s.push('|');
            for _ in r {
                s.push_str("---|");
            }
            s.push('\n');
        }
    }
    s
}

/// The `--json` file: a list of `{"workload", "unit", "raw", "limit", "pyhost", "pyo3"}`.
pub fn json_list(rows: &[Row]) -> String {
    let mut s = String::from("[\n");
    for (i, r) in rows.iter().enumerate() {
        s.push_str(&format!(
            "  {{\"workload\": {}, \"unit\": {}",
            json_str(&r.id),
            json_str(&r.unit)
        ));
        for (c, v) in COLUMNS.iter().zip(r.values) {
            let v = match v {
                Some(x) if x.is_finite() => format!("{x}"),
                _ => "null".to_owned(),
            };
            s.push_str(&format!(", \"{c}\": {v}"));
        }
        s.push('}');
        s.push_str(if i + 1 == rows.len() { "\n" } else { ",\n" });
    }
    s.push_str("]\n");
    s
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.parse().ok(),
        _ => None,
    }
}

/// The bench binary's metadata: `(key, value)` pairs.
pub type Meta = Vec<(String, String)>;

/// Reads the bench binary's report: its metadata and rows.
pub fn parse_report(text: &str) -> Result<(Meta, Vec<Row>), String> {
    let v = json::parse(text)?;
    let meta = match v.get("meta") {
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect(),
        _ => Vec::new(),
    };
    let rows = v
        .get("results")
        .items()
        .iter()
        .map(|r| Row {
            id: r.get("workload").as_str().unwrap_or_default().to_owned(),
            title: r.get("title").as_str().unwrap_or_default().to_owned(),
            unit: r.get("unit").as_str().unwrap_or_default().to_owned(),
            values: COLUMNS.map(|c| number(r.get(c))),
        })
        .collect();
    Ok((meta, rows))
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

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::workspace_root().join("target"))
}

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

fn status(cmd: &mut Command, what: &str) -> Result<(), String> {
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
        callgrind(&bin, &rows)?
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
    if !counts.is_empty() {
        println!("\nInstructions per operation (callgrind):");
        print!("{}", util::table(&table_rows(&counts)));
    }
    if !builds.is_empty() {
        println!("\nCold build of a \"hello embed\" binary (cargo build --release):");
        for (what, secs) in &builds {
            println!("  {what:<40} {secs:.1}s");
        }
    }

    if let Some(path) = &opts.json {
        let mut all = rows.clone();
        all.extend(counts.iter().cloned());
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
        let md = benchmarks_md(&info, &rows, &counts, &builds);
        let path = util::workspace_root().join("BENCHMARKS.md");
        std::fs::write(&path, md).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("bench: wrote {}", path.display());
    }
    eprintln!("bench: done in {}", util::fmt_duration(started.elapsed()));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// callgrind

/// Operations counted per workload under callgrind (the single-threaded ones).
const COUNTED: [(&str, u64); 8] = [
    ("w1", 20_000),
    ("w2", 20_000),
    ("w3", 20_000),
    ("w4", 20_000),
    ("w5", 20_000),
    ("w6a", 2),
    ("w6b", 2),
    ("w6c", 200),
];

/// Instructions per operation for every column of the single-threaded workloads: one
/// valgrind run per (workload, column), collecting only inside `pyhost_bench_measured` after
/// a warm-up, total divided by the operations.
fn callgrind(bin: &Path, rows: &[Row]) -> Result<Vec<Row>, String> {
    if Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        return Err(
            "--callgrind needs valgrind, which is not installed. Install it with \
                    `apt-get install -y valgrind` (Debian/Ubuntu) or `dnf install valgrind`, \
                    then rerun."
                .to_owned(),
        );
    }
    let dir = target_dir().join("bench-release").join("callgrind");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for row in rows {
        let Some(&(_, ops)) = COUNTED.iter().find(|(id, _)| *id == row.id) else {
            continue;
        };
        let mut values = [None; 4];
        for (i, column) in COLUMNS.iter().enumerate() {
            if row.values[i].is_none() {
                continue;
            }
            let file = dir.join(format!("callgrind.{}.{column}", row.id));
            eprintln!("bench: callgrind {} {column} ({ops} ops)", row.id);
            let o = Command::new("valgrind")
                .args([
                    "--tool=callgrind",
                    "--collect-atstart=no",
                    "--toggle-collect=pyhost_bench_measured",
                ])
                .arg(format!("--callgrind-out-file={}", file.display()))
                .arg(bin)
                .args(["--count", &row.id, column, &ops.to_string()])
                .stderr(Stdio::null())
                .output()
                .map_err(|e| format!("running valgrind: {e}"))?;
            if !o.status.success() {
                return Err(format!(
                    "callgrind run of {} {column} failed ({})",
                    row.id, o.status
                ));
            }
            let per_op: u64 = String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .nth(3)
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("reading {}: {e}", file.display()))?;
            let total =
                callgrind_total(&text).ok_or(format!("no totals line in {}", file.display()))?;
            values[i] = Some(total as f64 / (ops * per_op) as f64);
        }
        let per = row.unit.split_once('/').map_or("op", |(_, p)| p);
        out.push(Row {
            id: row.id.clone(),
            title: row.title.clone(),
            unit: format!("instructions/{per}"),
            values,
        });
    }
    Ok(out)
}

/// The instruction total of a callgrind output file (`totals:` or `summary:` line).
pub fn callgrind_total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

// ---------------------------------------------------------------------------------------------
// Cold build times

/// Builds a "hello embed" binary three ways, each in a fresh target directory, and returns
/// the wall time of `cargo build --release`.
fn build_times(python: &Path) -> Result<Vec<(String, f64)>, String> {
    let root = util::workspace_root();
    let base = target_dir().join("bench-hello");
    let _ = std::fs::remove_dir_all(&base);
    let pyhost_main = "fn main() {\n    pyhost::initialize().expect(\"starting Python\");\n    \
                       pyhost::with_gil(|py| py.exec(\"print('hello from Python', flush=True)\"))\n        \
                       .expect(\"running Python\");\n}\n";
    let pyo3_main = "fn main() {\n    pyo3::Python::initialize();\n    \
                     pyo3::Python::attach(|py| py.run(c\"print('hello from Python', flush=True)\", None, None))\n        \
                     .expect(\"running Python\");\n}\n";
    let pyhost_dep = |features: &str| {
        format!(
            "pyhost = {{ path = {:?}, default-features = false{features} }}",
            root.display().to_string()
        )
    };
    let pyo3_version = locked_version(
        &std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default(),
        "pyo3",
    )
    .unwrap_or_else(|| "0.30".into());
    let variants = [
        (
            "pyhost, bindings generated by bindgen",
            "pyhost-bindgen",
            pyhost_dep(", features = [\"bindgen\"]"),
            pyhost_main,
        ),
        (
            "pyhost, pre-generated bindings",
            "pyhost-pregenerated",
            pyhost_dep(""),
            pyhost_main,
        ),
        (
            "PyO3",
            "pyo3",
            format!("pyo3 = {{ version = \"={pyo3_version}\", default-features = false }}"),
            pyo3_main,
        ),
    ];
    let mut out = Vec::new();
    for (label, name, dep, main) in variants {
        let dir = base.join(name);
        std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
        let manifest = format!(
            "[package]\nname = \"hello-embed-{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
             publish = false\n\n[dependencies]\n{dep}\n\n[workspace]\n"
        );
        std::fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("src/main.rs"), main).map_err(|e| e.to_string())?;
        // The workspace's lock file, so the same dependency versions are built.
        let _ = std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"));
        eprintln!("bench: cold build of {label}");
        let t = Instant::now();
        let mut cmd = Command::new(util::cargo());
        cmd.args(["build", "--release", "--quiet"])
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .env("PYO3_PYTHON", python)
            .env_remove("RUSTC_WRAPPER");
        status(&mut cmd, &format!("cold build of {label}"))?;
        let secs = t.elapsed().as_secs_f64();
        let exe = dir
            .join("target/release")
            .join(format!("hello-embed-{name}"));
        let ran = Command::new(&exe)
            .output()
            .map_err(|e| format!("running {}: {e}", exe.display()))?;
        if !String::from_utf8_lossy(&ran.stdout).contains("hello from Python") {
            return Err(format!("{} did not print its greeting", exe.display()));
        }
        out.push((label.to_owned(), secs));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// BENCHMARKS.md

/// What the report header says about the run.
pub struct Info {
    pub command: String,
    pub date: String,
    pub machine: String,
    pub pyo3: String,
    pub rustc: String,
    pub meta: Meta,
}

impl Info {
    fn meta(&self, key: &str) -> &str {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map_or("?", |(_, v)| v.as_str())
    }
}

/// The whole BENCHMARKS.md.
pub fn benchmarks_md(
    info: &Info,
    rows: &[Row],
    counts: &[Row],
    builds: &[(String, f64)],
) -> String {
    let mut s = String::new();
    s.push_str("# pyhost benchmarks\n\n");
    s.push_str(
        "<!-- Generated by `cargo xtask bench`: do not edit by hand, rerun the command. -->\n\n",
    );
    s.push_str(&format!(
        "Produced by `{}` on {}. Rerun it to reproduce (`--quick` for a run of under two \
         minutes that does not rewrite this file; `--callgrind` adds instruction counts, \
         `--build-times` the cold build times; `--json FILE` writes the same data as JSON).\n\n",
        info.command, info.date
    ));
    s.push_str(&format!("- Machine: {}\n", info.machine));
    s.push_str(&format!(
        "- Python: {} (libpython {}; pyhost bindings: {})\n",
        info.meta("python"),
        info.meta("libpython"),
        info.meta("bindings")
    ));
    s.push_str(&format!(
        "- PyO3 {} against the same libpython (checked at start: one libpython mapped, same \
         `sys.version` seen through pyhost, PyO3 and `Py_GetVersion`)\n",
        info.pyo3
    ));
    s.push_str(&format!(
        "- {}, profile `bench-release` (release + fat LTO, 1 codegen unit)\n",
        info.rustc
    ));
    s.push_str(&format!(
        "- Method: {} rounds per workload (w7: 3), each running every column once in \
         rotating order (A B C, B C A, …) so noise reaches every column alike; batches of at \
         least {} ms after one warm-up batch per column; values are the median per operation. \
         w7: {} calls per thread; w8: {} tasks.\n\n",
        info.meta("rounds"),
        info.meta("batch_ms"),
        info.meta("w7_calls_per_thread"),
        info.meta("w8_tasks")
    ));
    s.push_str("## Results\n\n");
    s.push_str(&markdown_table(&table_rows(rows)));
    s.push_str("\n## Targets (pyhost column)\n\n");
    let mut all_met = true;
    for r in rows {
        for c in check(r) {
            all_met &= c.met;
            s.push_str(&format!(
                "- {} {}: {} (measured {})\n",
                r.id,
                c.what,
                if c.met { "met" } else { "**missed**" },
                c.measured
            ));
        }
    }
    if all_met {
        s.push_str("\nEvery target is met.\n");
    }
    if !counts.is_empty() {
        s.push_str(
            "\n## Instructions per operation (callgrind)\n\nStable on a noisy machine: one \
             valgrind run per cell, counting only the measured batch after a warm-up.\n\n",
        );
        s.push_str(&markdown_table(&table_rows(counts)));
    }
    if !builds.is_empty() {
        s.push_str(
            "\n## Cold build of a \"hello embed\" binary\n\n`cargo build --release` of a \
             program that starts Python and prints a line, in a fresh target directory \
             (no macros feature on either side).\n\n| build | seconds |\n|---|---|\n",
        );
        for (what, secs) in builds {
            s.push_str(&format!("| {what} | {secs:.1} |\n"));
        }
    }
    s.push_str(WORKLOADS_MD);
    s
}

const WORKLOADS_MD: &str = "
## What is measured

Columns: **raw** is the plain C-API way (hand-written against `pyhost-sys`, every result
checked); **limit** is the best the C API allows where that differs (a thread state created
once, then `PyEval_RestoreThread`/`PyEval_SaveThread`); **pyhost**; **PyO3**. All run in one
process on one interpreter. On the main thread each batch takes the GIL its column's way
(`PyGILState_Ensure`, `pyhost::with_gil`, `Python::attach`) and keeps it for the batch.

- w1: `f()` for a Python `def f(): pass`; the result is released.
- w2: `f(1000003, \"hello\", 1.5)` with the three arguments converted from Rust on every call,
  and the int result converted back.
- w3: a Python loop (`for _ in repeat(None, n): f()`) calling a Rust function with no
  arguments: `#[pyhost::function]`, PyO3 `#[pyfunction]`, or a hand-written `METH_NOARGS`
  function. The loop's own cost is in every column.
- w4: the same loop calling `f(1, 2, 3)` of a Rust function taking 3 ints and returning their
  sum (`METH_FASTCALL` by hand).
- w5: take and release the GIL on a Rust thread Python did not create, each column on a
  thread of its own: pyhost's kept thread state (`with_gil`), PyO3's `Python::attach`, raw
  `PyGILState_Ensure`/`Release` (which create and delete a thread state each time), and the
  limit.
- w6a/b/c: Rust value -> Python object -> new Rust value. Each column converts the value its
  previous round trip produced, so by-value conversions consume an owned value. The str is
  ASCII text.
- w7: two fresh threads each making the calls of w1, taking the GIL for each call.
- w8: tokio tasks each running one short Python call: pyhost's `Executor::spawn` (2 pinned
  workers); raw and PyO3 use `spawn_blocking` plus `PyGILState_Ensure` or `Python::attach`.
";

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, values: [Option<f64>; 4]) -> Row {
        Row {
            id: id.into(),
            title: "t".into(),
            unit: "ns/call".into(),
            values,
        }
    }

    #[test]
    fn options() {
        let o = parse(&["--quick".into(), "--json".into(), "/tmp/x.json".into()]).unwrap();
        assert!(o.quick && !o.write_md && !o.callgrind);
        assert_eq!(o.json, Some(PathBuf::from("/tmp/x.json")));
        assert!(parse(&[]).unwrap().write_md);
        assert!(!parse(&["--only".into(), "w1".into()]).unwrap().write_md);
        assert!(
            parse(&["--quick".into(), "--write".into()])
                .unwrap()
                .write_md
        );
        assert!(parse(&["--json".into()]).is_err());
        assert!(parse(&["--fast".into()]).is_err());
    }

    #[test]
    fn targets_are_checked() {
        let w1 = row("w1", [Some(100.0), None, Some(104.0), Some(110.0)]);
        let c = check(&w1);
        assert_eq!(c.len(), 2);
        assert!(c.iter().all(|c| c.met));
        let w1 = row("w1", [Some(100.0), None, Some(106.0), Some(105.0)]);
        let c = check(&w1);
        assert_eq!(
            c,
            vec![
                Check {
                    what: "pyhost/raw <= 1.05".into(),
                    measured: "1.060".into(),
                    met: false
                },
                Check {
                    what: "pyhost/pyo3 <= 1.00".into(),
                    measured: "1.010".into(),
                    met: false
                },
            ]
        );
        let w5 = row("w5", [Some(260.0), Some(46.0), Some(50.0), Some(265.0)]);
        let c = check(&w5);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].measured, "1.087");
        assert_eq!(c[1].what, "pyo3/pyhost >= 5.0");
        assert_eq!(c[1].measured, "5.30");
        assert!(c.iter().all(|c| c.met));
        assert_eq!(
            verdict(&check(&row(
                "w4",
                [Some(20.0), None, Some(30.0), Some(27.0)]
            ))),
            "MISSED pyhost/raw <= 1.20 (is 1.500); MISSED pyhost/pyo3 <= 1.00 (is 1.111)"
        );
    }

    #[test]
    fn json_round_trip_and_tables() {
        let rows = vec![
            row("w1", [Some(18.25), None, Some(18.5), Some(18.0)]),
            row("w8", [None, None, Some(2.0), Some(61.5)]),
        ];
        let text = json_list(&rows);
        assert_eq!(
            text.lines().nth(1).unwrap(),
            r#"  {"workload": "w1", "unit": "ns/call", "raw": 18.25, "limit": null, "pyhost": 18.5, "pyo3": 18},"#
        );
        let parsed = json::parse(&text).unwrap();
        assert_eq!(parsed.items().len(), 2);
        assert_eq!(parsed.items()[1].get("pyo3"), &Value::Number("61.5".into()));

        let report = r#"{"meta": {"python": "3.11.2"}, "results": [
            {"workload": "w1", "title": "t", "unit": "ns/call", "raw": 18.25, "limit": null, "pyhost": 18.5, "pyo3": 18}]}"#;
        let (meta, back) = parse_report(report).unwrap();
        assert_eq!(meta, vec![("python".to_owned(), "3.11.2".to_owned())]);
        assert_eq!(back, rows[..1]);

        let t = table_rows(&rows);
        assert_eq!(
            t[1][3..10],
            ["18.25", "-", "18.50", "18.00", "1.01x", "-", "1.03x"]
        );
        assert_eq!(t[1][10], "MISSED pyhost/pyo3 <= 1.00 (is 1.028)");
        let md = markdown_table(&t[..2]);
        assert!(md.starts_with("| id | workload |"));
        assert_eq!(
            md.lines().nth(1).unwrap(),
            "|---|---|---|---|---|---|---|---|---|---|---|"
        );
    }

    #[test]
    fn callgrind_totals_and_lock_versions() {
        assert_eq!(
            callgrind_total("events: Ir\nfn=x\n1 2\ntotals: 123456\n"),
            Some(123_456)
        );
        assert_eq!(callgrind_total("summary: 42\n"), Some(42));
        assert_eq!(callgrind_total("events: Ir\n"), None);
        let lock = "[[package]]\nname = \"pyo3\"\nversion = \"0.30.1\"\n\n[[package]]\nname = \"pyo3-ffi\"\nversion = \"0.30.1\"\n";
        assert_eq!(locked_version(lock, "pyo3").as_deref(), Some("0.30.1"));
        assert_eq!(locked_version(lock, "tokio"), None);
        assert_eq!(fmt_value(Some(17139.02)), "17139");
        assert_eq!(fmt_value(Some(0.0827)), "0.0827");
    }
}
