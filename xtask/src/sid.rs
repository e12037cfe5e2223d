//! The Debian unstable root filesystem that holds the CPythons this machine's C library is too
//! old for (3.14, 3.15 and their debug builds): where it lives, what it must contain, how it
//! is made, and how a command runs inside it with the host's Rust toolchain.
//!
//! It lives outside the checkout, in a cache folder (`$PYHOST_CACHE_DIR`, else
//! `/var/cache/pyhost`), so a new clone reuses it. `debootstrap --variant=minbase` makes it
//! from the Debian archive apt already uses; the host's `$CARGO_HOME` and `$RUSTUP_HOME` are
//! bind-mounted into it with `/proc` and `/dev`, and the host's CA bundle is copied in for
//! cargo and pip.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run::Cmd;

/// The packages the root holds besides the minimal base system.
pub const PACKAGES: &[&str] = &[
    "python3.14-dev",
    "python3.15-dev",
    "python3.14-dbg",
    "python3.15-dbg",
    "python3.14-venv",
    "python3.15-venv",
    "libclang-dev",
    "pkg-config",
    "gcc",
    "libc6-dev",
    "ca-certificates",
];

/// Where pyhost keeps what it caches outside the checkout.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("PYHOST_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/pyhost"))
}

/// The root filesystem.
pub fn root() -> PathBuf {
    cache_dir().join("sid-root")
}

/// The target directory used inside the root (a separate one: its build scripts link
/// against the root's C library).
pub const TARGET_DIR_INSIDE: &str = "/build/target";

/// The Python headers of `python3.<minor>` in the root, with its real `pyconfig.h` (Debian's
/// `/usr/include/python3.X/pyconfig.h` only dispatches to the architecture's one).
pub fn headers(minor: u8) -> Option<(PathBuf, PathBuf)> {
    let r = root();
    let include = r.join(format!("usr/include/python3.{minor}"));
    let pyconfig = r.join(format!("usr/include/x86_64-linux-gnu/python3.{minor}"));
    (include.join("Python.h").is_file() && pyconfig.join("pyconfig.h").is_file())
        .then_some((include, pyconfig))
}

/// `3.14.10`: the patch level of the root's CPython 3.`minor`.
pub fn version(minor: u8) -> Option<String> {
    let (include, _) = headers(minor)?;
    let text = std::fs::read_to_string(include.join("patchlevel.h")).ok()?;
    let line = text
        .lines()
        .find(|l| l.starts_with("#define PY_VERSION "))?;
    Some(line.split('"').nth(1)?.to_owned())
}

/// Whether the root is complete: made, with every package of [`PACKAGES`] installed.
pub fn ready() -> Result<(), String> {
    let r = root();
    if !r.join("usr/bin/python3.15").exists() {
        return Err(format!("no Debian unstable root at {}", r.display()));
    }
    let status = r.join("var/lib/dpkg/status");
    let text = std::fs::read_to_string(&status)
        .map_err(|e| format!("cannot read {}: {e}", status.display()))?;
    let missing: Vec<&str> = PACKAGES
        .iter()
        .copied()
        .filter(|p| !installed(&text, p))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the root at {} lacks {}",
            r.display(),
            missing.join(", ")
        ))
    }
}

fn installed(dpkg_status: &str, package: &str) -> bool {
    dpkg_status.split("\n\n").any(|stanza| {
        stanza.lines().any(|l| l == format!("Package: {package}"))
            && stanza
                .lines()
                .any(|l| l.starts_with("Status:") && l.ends_with(" installed"))
    })
}

/// The command that makes the root by hand (what [`make`] runs).
pub fn make_command() -> String {
    format!(
        "apt-get install debootstrap && debootstrap --variant=minbase --include={} sid {} {}",
        PACKAGES.join(","),
        root().display(),
        mirror()
    )
}

/// The Debian archive this machine's apt uses.
fn mirror() -> String {
    let sources = [
        "/etc/apt/sources.list.d/debian.sources",
        "/etc/apt/sources.list",
    ];
    for s in sources {
        let Ok(text) = std::fs::read_to_string(s) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim();
            let uri = line.strip_prefix("URIs:").map(str::trim).or_else(|| {
                line.strip_prefix("deb ")
                    .and_then(|r| r.split_whitespace().find(|w| w.starts_with("http")))
            });
            if let Some(u) = uri.and_then(|u| u.split_whitespace().next()) {
                if u.ends_with("/debian") || u.ends_with("/debian/") {
                    return u.trim_end_matches('/').to_owned();
                }
            }
        }
    }
    "http://deb.debian.org/debian".to_owned()
}

/// Makes the root (or completes it) when it is not ready. Needs root privileges and the
/// network to Debian's archive; says what it does.
pub fn make() -> Result<(), String> {
    if ready().is_ok() {
        return Ok(());
    }
    let r = root();
    if r.join("usr/bin/apt-get").exists() {
        // Made before: install what is missing.
        println!(
            "setup: completing the Debian unstable root at {}",
            r.display()
        );
        let mut cmd = chroot_command(&["apt-get", "update", "-q"]);
        run_ok(&mut cmd)?;
        let mut args = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
        args.extend(PACKAGES);
        run_ok(&mut chroot_command(&args))?;
        return ready();
    }
    if !Path::new("/usr/sbin/debootstrap").exists() {
        crate::setup::apt_install(&["debootstrap"])?;
    }
    println!(
        "setup: making the Debian unstable root at {} (debootstrap, about a minute)",
        r.display()
    );
    let tmp = r.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(cache_dir()).map_err(|e| e.to_string())?;
    let mut cmd = Command::new("debootstrap");
    cmd.args(["--variant=minbase"])
        .arg(format!("--include={}", PACKAGES.join(",")))
        .arg("sid")
        .arg(&tmp)
        .arg(mirror());
    run_ok(&mut cmd)?;
    std::fs::rename(&tmp, &r)
        .map_err(|e| format!("cannot move {} into place: {e}", tmp.display()))?;
    ready()
}

fn run_ok(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}

fn home_dir(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(default)
    })
}

/// Mounts what commands inside the root need: `/proc`, `/dev`, the Rust toolchain at the
/// same paths as on the host, and the workspace. Idempotent.
pub fn mount() -> Result<(), String> {
    let r = root();
    let cargo_home = home_dir("CARGO_HOME", ".cargo");
    let rustup_home = home_dir("RUSTUP_HOME", ".rustup");
    let ws = crate::util::workspace_root();
    let mut binds: Vec<PathBuf> = vec!["/proc".into(), "/dev".into(), cargo_home, rustup_home, ws];
    binds.dedup();
    for src in binds {
        let dst = r.join(src.strip_prefix("/").unwrap_or(&src));
        std::fs::create_dir_all(&dst).map_err(|e| format!("{}: {e}", dst.display()))?;
        let mounted = Command::new("mountpoint")
            .arg("-q")
            .arg(&dst)
            .status()
            .is_ok_and(|s| s.success());
        if mounted && !same_directory(&src, &dst) {
            // A bind mount of an earlier directory at this path, since deleted and made
            // again (a new clone where CI cloned before): commands inside the root would find
            // no working directory. Replace it.
            run_ok(Command::new("umount").arg("-l").arg(&dst))?;
            run_ok(Command::new("mount").arg("--bind").arg(&src).arg(&dst))?;
        } else if !mounted {
            run_ok(Command::new("mount").arg("--bind").arg(&src).arg(&dst))?;
        }
    }
    for file in ["etc/ssl/certs/ca-certificates.crt", "etc/resolv.conf"] {
        let src = Path::new("/").join(file);
        if src.exists() {
            let _ = std::fs::copy(&src, r.join(file));
        }
    }
    Ok(())
}

/// Whether `a` and `b` are the same directory (device and inode): a bind mount shows its
/// source's.
fn same_directory(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The variables every command inside the root gets (`env -i` clears the rest): the host's
/// toolchain on `PATH`, the root's own target directory.
fn base_env() -> Vec<String> {
    let cargo_home = home_dir("CARGO_HOME", ".cargo");
    let rustup_home = home_dir("RUSTUP_HOME", ".rustup");
    vec![
        format!(
            "HOME={}",
            std::env::var("HOME").unwrap_or_else(|_| "/root".into())
        ),
        format!("CARGO_HOME={}", cargo_home.display()),
        format!("RUSTUP_HOME={}", rustup_home.display()),
        format!(
            "PATH={}:/usr/local/bin:/usr/bin:/bin",
            cargo_home.join("bin").display()
        ),
        format!("CARGO_TARGET_DIR={TARGET_DIR_INSIDE}"),
        "LANG=C.UTF-8".to_owned(),
        "DEBIAN_FRONTEND=noninteractive".to_owned(),
    ]
}

/// `program args` inside the root, in the workspace, with `vars` set.
pub fn cmd(vars: &[(&str, &str)], program: &str, args: &[String]) -> Cmd {
    let mut all = vec![
        root().display().to_string(),
        "/usr/bin/env".to_owned(),
        "-i".to_owned(),
        "-C".to_owned(),
        crate::util::workspace_root().display().to_string(),
    ];
    all.extend(base_env());
    all.extend(vars.iter().map(|(k, v)| format!("{k}={v}")));
    all.push(program.to_owned());
    all.extend(args.iter().cloned());
    Cmd {
        program: "chroot".to_owned(),
        args: all,
        env: Vec::new(),
    }
}

/// A command inside the root, for setup (apt), outside the workspace.
fn chroot_command(args: &[&str]) -> Command {
    let mut cmd = Command::new("chroot");
    cmd.arg(root()).arg("/usr/bin/env").arg("-i");
    cmd.args(base_env());
    cmd.args(args);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_is_read_per_package() {
        let status = "Package: gcc\nStatus: install ok installed\nVersion: 1\n\n\
                      Package: pkg-config\nStatus: deinstall ok config-files\n";
        assert!(installed(status, "gcc"));
        assert!(!installed(status, "pkg-config"));
        assert!(!installed(status, "libclang-dev"));
    }
}
