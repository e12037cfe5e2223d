//! A cgroup v2 per worker process, for a memory cap the kernel enforces on everything the
//! worker maps ([`ProcessBuilder::cgroup_memory_max`](super::ProcessBuilder::cgroup_memory_max)).
//!
//! The worker's cgroup is a child of the host's own cgroup v2: that needs a cgroup2
//! hierarchy with the memory controller, the controller enabled for children of the host's
//! cgroup (or enabling it allowed: no process of its own in it besides this one, as under a
//! systemd service with `Delegate=yes`), and write access. When any of that is missing, the
//! reason is returned and the pool is not built.

use std::path::{Path, PathBuf};

/// A child cgroup holding one worker process; removed when dropped (after the worker ended).
#[derive(Debug)]
pub(super) struct Cgroup {
    dir: PathBuf,
    max: u64,
}

impl Cgroup {
    /// Checks that the host's cgroup can hold worker cgroups with a memory cap; returns its
    /// directory, or why it cannot.
    pub(super) fn parent() -> Result<PathBuf, String> {
        let cgroup = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
        let dir = own_cgroup_dir(&cgroup, &mountinfo)?;
        delegable(&dir)?;
        Ok(dir)
    }

    /// Makes `parent/name` with `memory.max` = `bytes`.
    pub(super) fn create(parent: &Path, name: &str, bytes: u64) -> Result<Cgroup, String> {
        let dir = parent.join(name);
        std::fs::create_dir(&dir)
            .map_err(|e| format!("cannot create the cgroup {}: {e}", dir.display()))?;
        let cgroup = Cgroup { dir, max: bytes };
        cgroup.write("memory.max", &bytes.to_string())?;
        // Past the cap the kernel kills the worker instead of letting it swap.
        let _ = cgroup.write("memory.swap.max", "0");
        Ok(cgroup)
    }

    /// Its cap, in bytes.
    pub(super) fn max(&self) -> u64 {
        self.max
    }

    /// Moves process `pid` into the cgroup.
    pub(super) fn add(&self, pid: u32) -> Result<(), String> {
        self.write("cgroup.procs", &pid.to_string())
    }

    /// Whether the kernel killed a process of the cgroup at its cap (`memory.events`).
    pub(super) fn oom_killed(&self) -> bool {
        std::fs::read_to_string(self.dir.join("memory.events"))
            .ok()
            .and_then(|events| {
                events
                    .lines()
                    .find_map(|l| l.strip_prefix("oom_kill "))
                    .and_then(|n| n.trim().parse::<u64>().ok())
            })
            .is_some_and(|n| n > 0)
    }

    fn write(&self, file: &str, value: &str) -> Result<(), String> {
        let path = self.dir.join(file);
        std::fs::write(&path, value)
            .map_err(|e| format!("cannot write {value} to {}: {e}", path.display()))
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // Only an empty cgroup can go: its worker has been reaped by now.
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// The directory of this process's cgroup v2: the `0::` line of `/proc/self/cgroup` under
/// the cgroup2 mount of `/proc/self/mountinfo`.
fn own_cgroup_dir(cgroup: &str, mountinfo: &str) -> Result<PathBuf, String> {
    let path = cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or("this process is in no cgroup v2 hierarchy (no `0::` line in /proc/self/cgroup)")?;
    let mount = mountinfo
        .lines()
        .find_map(|l| {
            // `id parent major:minor root mountpoint options ... - fstype source ...`
            let (left, right) = l.split_once(" - ")?;
            (right.split_whitespace().next()? == "cgroup2")
                .then(|| left.split_whitespace().nth(4))
                .flatten()
        })
        .ok_or("no cgroup2 file system is mounted")?;
    Ok(Path::new(mount).join(path.trim().trim_start_matches('/')))
}

/// Checks that `dir` offers the memory controller to new children, enabling it when allowed.
fn delegable(dir: &Path) -> Result<(), String> {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    let has_memory = |text: &str| text.split_whitespace().any(|c| c == "memory");
    let controllers = read("cgroup.controllers");
    if !has_memory(&controllers) {
        return Err(format!(
            "the cgroup v2 of this process ({}) has no memory controller (it has: {}); the \
             memory controller may be on a cgroup v1 hierarchy",
            dir.display(),
            if controllers.trim().is_empty() {
                "none"
            } else {
                controllers.trim()
            }
        ));
    }
    if has_memory(&read("cgroup.subtree_control")) {
        return Ok(());
    }
    std::fs::write(dir.join("cgroup.subtree_control"), "+memory").map_err(|e| {
        format!(
            "the memory controller cannot be enabled for children of {} ({e}): run the host \
             in a cgroup of its own with the controller delegated (systemd: Delegate=yes)",
            dir.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
24 30 0:22 / /sys type sysfs rw,nosuid - sysfs sysfs rw
35 24 0:30 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn the_own_cgroup_is_found_under_the_cgroup2_mount() {
        let dir = own_cgroup_dir("0::/system.slice/agent.service\n", MOUNTINFO).unwrap();
        assert_eq!(dir, Path::new("/sys/fs/cgroup/system.slice/agent.service"));
        // A v1-only host, and a host without cgroup2, say so.
        let e = own_cgroup_dir("4:memory:/x\n", MOUNTINFO).unwrap_err();
        assert!(e.contains("no cgroup v2"), "{e}");
        let e = own_cgroup_dir("0::/\n", "24 30 0:22 / /sys - sysfs sysfs rw\n").unwrap_err();
        assert!(e.contains("no cgroup2"), "{e}");
    }

    #[test]
    fn a_worker_cgroup_gets_its_cap_and_its_process_and_goes_away() {
        // A directory tree shaped like a cgroup: the files the kernel would make.
        let root = std::env::temp_dir().join(format!("pyhost-cgroup-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("cgroup.controllers"), "cpu io memory pids\n").unwrap();
        std::fs::write(root.join("cgroup.subtree_control"), "").unwrap();
        delegable(&root).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("cgroup.subtree_control")).unwrap(),
            "+memory"
        );
        let cg = Cgroup::create(&root, "w1", 256 << 20).unwrap();
        let dir = root.join("w1");
        assert_eq!(
            std::fs::read_to_string(dir.join("memory.max")).unwrap(),
            (256u64 << 20).to_string()
        );
        cg.add(4242).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("cgroup.procs")).unwrap(),
            "4242"
        );
        assert!(!cg.oom_killed());
        std::fs::write(
            dir.join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        )
        .unwrap();
        assert!(cg.oom_killed());
        // The kernel removes a cgroup's files itself; here they are removed by hand.
        for f in [
            "memory.max",
            "memory.swap.max",
            "cgroup.procs",
            "memory.events",
        ] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        drop(cg);
        assert!(!dir.exists(), "the cgroup is removed with its worker");
        // No memory controller: the reason names what there is.
        std::fs::write(root.join("cgroup.controllers"), "hugetlb\n").unwrap();
        let e = delegable(&root).unwrap_err();
        assert!(
            e.contains("no memory controller") && e.contains("hugetlb"),
            "{e}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
