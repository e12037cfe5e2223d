//! Running commands: printed first, output streamed, timed, killed with their children when
//! they overrun.

use std::fmt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cargo_pyhost::cross::{Invocation, shell_quote};

use crate::util;

/// A command line with the variables it sets and unsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<String>,
    /// `Some(value)` sets, `None` unsets.
    pub env: Vec<(String, Option<String>)>,
}

impl Cmd {
    /// `cargo <args>` (the cargo running the xtask).
    pub fn cargo<S: AsRef<str>>(args: &[S]) -> Cmd {
        Cmd {
            program: util::cargo(),
            args: args.iter().map(|a| a.as_ref().to_owned()).collect(),
            env: Vec::new(),
        }
    }

    /// With these variables set (or unset, for `None`).
    pub fn envs(mut self, vars: impl IntoIterator<Item = (String, Option<String>)>) -> Cmd {
        self.env.extend(vars);
        self
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args).current_dir(util::workspace_root());
        for (k, v) in &self.env {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c
    }
}

impl From<Invocation> for Cmd {
    /// A cross invocation, run by the cargo running the xtask.
    fn from(inv: Invocation) -> Cmd {
        Cmd {
            program: if inv.program == "cargo" {
                util::cargo()
            } else {
                inv.program
            },
            args: inv.args,
            env: inv.env.into_iter().map(|(k, v)| (k, Some(v))).collect(),
        }
    }
}

/// As a shell line: `env -u X VAR=value cargo args…`, with `cargo` for the cargo binary.
impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words: Vec<String> = Vec::new();
        let unset: Vec<&String> = self
            .env
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k)
            .collect();
        if !unset.is_empty() {
            words.push("env".into());
            for k in unset {
                words.push(format!("-u {k}"));
            }
        }
        for (k, v) in &self.env {
            if let Some(v) = v {
                words.push(format!("{k}={}", shell_quote(v)));
            }
        }
        let program = if self.program == util::cargo() {
            "cargo".to_owned()
        } else {
            shell_quote(&self.program)
        };
        words.push(program);
        words.extend(self.args.iter().map(|a| shell_quote(a)));
        f.write_str(&words.join(" "))
    }
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Ok,
    /// Exit status, or why it could not start.
    Failed(String),
    TimedOut(Duration),
}

/// Runs `cmd` with the terminal's stderr, printing it first; its stdout is passed through
/// line by line and the tests cargo reports as `FAILED` are named in the error, so that the
/// summary at the end (all a CI log may keep) says which. Past `timeout` the command and
/// every process it started are killed.
pub fn run(cmd: &Cmd, timeout: Option<Duration>) -> Ended {
    println!("$ {cmd}");
    let mut child = match cmd
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Ended::Failed(format!("cannot start `{}`: {e}", cmd.program)),
    };
    let failed = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let reader = child.stdout.take().map(|out| {
        let failed = failed.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                println!("{line}");
                if let Some(name) = failed_test(&line) {
                    failed
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(name.to_owned());
                }
            }
        })
    });
    let start = Instant::now();
    let ended = loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break Ended::Ok,
            Ok(Some(status)) => break Ended::Failed(status.to_string()),
            Ok(None) => {}
            Err(e) => break Ended::Failed(e.to_string()),
        }
        if let Some(t) = timeout {
            if start.elapsed() > t {
                kill_tree(child.id());
                let _ = child.kill();
                let _ = child.wait();
                break Ended::TimedOut(t);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // After a timeout a process that escaped the kill may still hold the pipe: do not wait
    // for it.
    if let Some(r) = reader {
        if !matches!(ended, Ended::TimedOut(_)) {
            let _ = r.join();
        }
    }
    let failed = failed.lock().unwrap_or_else(|e| e.into_inner());
    match ended {
        Ended::Failed(why) if !failed.is_empty() => {
            let shown: Vec<&str> = failed.iter().take(8).map(String::as_str).collect();
            let more = failed.len().saturating_sub(shown.len());
            Ended::Failed(format!(
                "{why}; failed: {}{}",
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ))
        }
        other => other,
    }
}

/// The test a line of cargo test's output reports as failed (`test NAME ... FAILED`).
fn failed_test(line: &str) -> Option<&str> {
    line.trim_end()
        .strip_suffix(" ... FAILED")?
        .rsplit("test ")
        .next()
        .filter(|n| !n.is_empty())
}

/// Kills `pid`'s descendants (from `/proc`; test binaries that cargo started), then `pid`.
fn kill_tree(pid: u32) {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok());
        if let Some(ppid) = ppid {
            parents.push((p, ppid));
        }
    }
    let mut doomed = vec![pid];
    let mut i = 0;
    while i < doomed.len() {
        let parent = doomed[i];
        doomed.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    // Children first, so that none is reparented and missed. kill(2) itself: a minimal root
    // (the Debian unstable one) has no `kill` program.
    for p in doomed.iter().rev() {
        if let Ok(pid) = libc::pid_t::try_from(*p) {
            // kill(2) only sends a signal; a pid that has gone meanwhile gives ESRCH.
            // SAFETY: for the reason above.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_tests_are_read_from_cargo_output() {
        assert_eq!(
            failed_test("test shutdown::works ... FAILED"),
            Some("shutdown::works")
        );
        // --nocapture output may come first on the same line.
        assert_eq!(
            failed_test("test a_b ... child says hi\ntest a_b ... FAILED"),
            Some("a_b")
        );
        assert_eq!(failed_test("test a_b ... ok"), None);
        assert_eq!(failed_test("test result: FAILED. 1 passed; 1 failed"), None);
    }

    #[test]
    fn display_shows_unset_then_set_variables() {
        let c = Cmd {
            program: "python3".into(),
            args: vec!["-c".into(), "print(1)".into()],
            env: vec![
                ("PYHOST_PYTHON".into(), Some("/p/python3.9".into())),
                ("PYHOST_CONFIG_FILE".into(), None),
            ],
        };
        assert_eq!(
            c.to_string(),
            "env -u PYHOST_CONFIG_FILE PYHOST_PYTHON=/p/python3.9 python3 -c 'print(1)'"
        );
    }

    #[test]
    fn timeouts_kill_the_whole_tree() {
        let c = Cmd {
            program: "sh".into(),
            args: vec!["-c".into(), "sleep 30 & sleep 30; wait".into()],
            env: Vec::new(),
        };
        let start = Instant::now();
        assert_eq!(
            run(&c, Some(Duration::from_millis(300))),
            Ended::TimedOut(Duration::from_millis(300))
        );
        assert!(start.elapsed() < Duration::from_secs(5));
        let ok = Cmd {
            program: "true".into(),
            args: vec![],
            env: vec![],
        };
        assert_eq!(run(&ok, None), Ended::Ok);
        let bad = Cmd {
            program: "false".into(),
            args: vec![],
            env: vec![],
        };
        assert!(matches!(run(&bad, None), Ended::Failed(_)));
    }
}
