//! `cargo xtask fuzz`: the libFuzzer targets of `fuzz/` under AddressSanitizer, through
//! cargo-fuzz on the stable toolchain (`RUSTC_BOOTSTRAP=1` lets it pass `-Zsanitizer`).
//! Each target first replays its seeds (`fuzz/seeds/<target>/`: inputs worth keeping,
//! among them every crash once fixed), then fuzzes for the time given. The corpus grows in
//! `/var/cache/pyhost/fuzz`, outside the checkout, and is kept between runs.

use std::path::PathBuf;
use std::process::Command;

use crate::util;

/// The targets, in `fuzz/fuzz_targets/`.
pub const TARGETS: [&str; 2] = ["conversions", "arguments"];

/// Options of the command.
#[derive(Debug, PartialEq)]
pub struct Options {
    /// Seconds per target.
    pub seconds: u64,
    pub targets: Vec<String>,
}

pub fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        seconds: 60,
        targets: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--time" => {
                o.seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--time needs a number of seconds")?;
            }
            "--target" => {
                let t = it.next().ok_or("--target needs a name")?;
                if !TARGETS.contains(&t.as_str()) {
                    return Err(format!("no fuzz target `{t}` (there are: {TARGETS:?})"));
                }
                o.targets.push(t.clone());
            }
            other => return Err(format!("fuzz: unknown option `{other}`")),
        }
    }
    if o.targets.is_empty() {
        o.targets = TARGETS.map(String::from).to_vec();
    }
    Ok(o)
}

/// Where the fuzz build, corpus and crashes go: kept between runs, outside the checkout
/// (the instrumented build takes minutes from nothing), else in the target directory.
fn work_dir() -> PathBuf {
    let cache = crate::sid::cache_dir().join("fuzz");
    if std::fs::create_dir_all(&cache).is_ok() {
        cache
    } else {
        util::target_dir().join("fuzz")
    }
}

/// `cargo fuzz run` of one target, with its corpus, seeds and time.
pub fn command(target: &str, seconds: u64) -> Command {
    let root = util::workspace_root();
    let work = work_dir();
    let corpus = work.join("corpus").join(target);
    let artifacts = work.join("artifacts").join(target);
    let _ = std::fs::create_dir_all(&corpus);
    let _ = std::fs::create_dir_all(&artifacts);
    let mut cmd = Command::new(util::cargo());
    cmd.current_dir(&root)
        .args(["fuzz", "run", "--fuzz-dir", "fuzz", target])
        .arg(&corpus)
        .arg(root.join("fuzz/seeds").join(target))
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", work.join("target"))
        // Python's memory at exit is the interpreter's, reachable or not: leaks are
        // valgrind's job (`cargo xtask valgrind`), not the fuzzer's.
        .env("ASAN_OPTIONS", "detect_leaks=0");
    cmd
}

/// The command.
pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let have = Command::new(util::cargo())
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !have {
        return Err(
            "cargo-fuzz is not installed: cargo install cargo-fuzz (cargo xtask setup does it)"
                .into(),
        );
    }
    let mut failed = Vec::new();
    for t in &o.targets {
        println!("fuzz: {t} for {} s", o.seconds);
        let status = command(t, o.seconds)
            .status()
            .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
        if !status.success() {
            failed.push(format!(
                "{t}: {status}; the input is in {}/ (replay: cargo fuzz run --fuzz-dir fuzz {t} \
                 <file>; once fixed, keep it in fuzz/seeds/{t}/ as a regression test)",
                work_dir().join("artifacts").join(t).display()
            ));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_to_every_target_for_a_minute() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.seconds, 60);
        assert_eq!(o.targets, ["conversions", "arguments"]);
        let o = parse(&[
            "--time".into(),
            "5".into(),
            "--target".into(),
            "arguments".into(),
        ])
        .unwrap();
        assert_eq!((o.seconds, o.targets), (5, vec!["arguments".to_owned()]));
        assert!(parse(&["--target".into(), "nope".into()]).is_err());
        assert!(parse(&["--time".into(), "x".into()]).is_err());
    }
}
