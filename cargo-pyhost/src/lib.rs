//! Developer tooling for crates that embed Python with pyhost: `cargo pyhost doctor` and
//! `cargo pyhost cross`, and the knowledge behind them as a library (what a cross target
//! needs, every Python install a build can see).
//!
//! Build scripts use `pyhost-build`; this crate is for the commands around builds, so that
//! nothing here is compiled into a user's `build.rs`.
//!
//! ```text
//! cargo install --path cargo-pyhost      # from a checkout of pyhost
//! cargo pyhost doctor                     # which Python a build links, and why
//! cargo pyhost cross --target aarch64-unknown-linux-gnu --run   # build, run under qemu
//! ```

// Build-time errors are rare and carry whole sentences; their size does not matter.
#![allow(clippy::result_large_err)]

pub mod candidates;
pub mod cli;
pub mod cross;
pub mod doctor;

/// The host triple, from `rustc -vV` (`$RUSTC` if set).
pub fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        })
        .unwrap_or_else(|| "x86_64-unknown-linux-gnu".to_owned())
}
