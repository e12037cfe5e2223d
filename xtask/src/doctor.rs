//! `cargo xtask doctor`: `cargo pyhost doctor` (which Python a build links, and why), plus the
//! Debian unstable root that `cargo xtask test` runs its CPython 3.14 and 3.15 legs in.

use std::path::Path;

/// The command.
pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("doctor takes no arguments, not `{a}`"));
    }
    cargo_pyhost::doctor::run(&unstable_root)
}

/// The CPythons of the Debian unstable root that `cargo xtask test` runs its 3.14 and 3.15
/// legs in (this machine's C library is too old for them).
fn unstable_root(problems: &mut Vec<String>) {
    let root = crate::sid::root();
    println!(
        "\n== Debian unstable root {} (the 3.14 and 3.15 legs of cargo xtask test) ==",
        root.display()
    );
    if let Err(e) = crate::sid::ready() {
        println!("not ready: {e}");
        problems.push(format!(
            "{e}: cargo xtask test skips its CPython 3.14 and 3.15 legs.\n   Fix: cargo xtask \
             setup (as root), or by hand: {}",
            crate::sid::make_command()
        ));
        return;
    }
    for leg in crate::test::UNSTABLE_LEGS {
        let debug = leg.python.ends_with('d');
        let minor: u8 = leg
            .python
            .trim_end_matches('d')
            .trim_start_matches("3.")
            .parse()
            .unwrap_or(0);
        let abi = if debug { "d" } else { "" };
        let include = root.join(format!("usr/include/python3.{minor}{abi}"));
        let lib = root.join(format!(
            "usr/lib/x86_64-linux-gnu/libpython3.{minor}{abi}.so"
        ));
        let version = crate::sid::version(minor).unwrap_or_else(|| "?".into());
        let found = |p: &Path| if p.exists() { "" } else { " (missing)" };
        println!(
            "  {version}{abi} ({}): headers {}{}, libpython {}{}; selected inside the root with {}",
            leg.note,
            include.display(),
            found(&include),
            lib.display(),
            found(&lib),
            leg.vars
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}
