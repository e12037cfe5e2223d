//! Turning a [`Resolved`] discovery into cargo directives, and the one-call entry point for the
//! `links = "python3"` crate.

use crate::{Env, PythonConfig, Resolved};

impl Resolved {
    /// The rpath directory this build should use (none for static links, system directories
    /// or when disabled with `PYHOST_NO_RPATH=1`).
    pub fn rpath_dir(&self) -> Option<std::path::PathBuf> {
        self.config
            .rpath_dir(&self.target.system_lib_dirs(), self.sysroot.as_deref())
    }

    /// Every cargo directive of this build, in order: link flags, cfgs, `links` metadata,
    /// rerun conditions, warnings.
    pub fn directives(&self) -> Vec<String> {
        let rpath = self.rpath_dir();
        let mut out = self.config.link_directives(rpath.as_deref());
        out.push(format!("cargo:config={}", self.config.encode()));
        out.push(format!(
            "cargo:rpath={}",
            rpath
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ));
        out.push(format!("cargo:version={}", self.config.version));
        for var in &self.env_vars {
            out.push(format!("cargo:rerun-if-env-changed={var}"));
        }
        for file in &self.watched_files {
            out.push(format!("cargo:rerun-if-changed={}", file.display()));
        }
        for w in &self.warnings {
            out.extend(warning_lines(&format!("pyhost: {w}")));
        }
        out
    }

    /// Prints [`Resolved::directives`] to stdout, for a build script.
    pub fn emit(&self) {
        for line in self.directives() {
            println!("{line}");
        }
    }

    /// A human-readable report of the resolved configuration, for `PYHOST_PRINT_CONFIG`.
    pub fn report(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "pyhost-build resolved this Python for {} (host {}):\n\n",
            self.target.triple, self.target.host
        ));
        s.push_str(&self.config.to_file_format());
        if let Some(p) = &self.headers.pyconfig {
            s.push_str(&format!("# pyconfig.h: {}\n", p.display()));
        }
        match self.rpath_dir() {
            Some(d) => s.push_str(&format!("# rpath: {}\n", d.display())),
            None => s.push_str("# rpath: none\n"),
        }
        s.push_str(&format!("# cfgs: {}\n", self.config.cfgs().join(" ")));
        for n in &self.notes {
            s.push_str(&format!("# note: {n}\n"));
        }
        for w in &self.warnings {
            s.push_str(&format!("# warning: {w}\n"));
        }
        s.push_str(&format!("# variables read: {}\n", self.env_vars.join(" ")));
        s
    }
}

/// `cargo:warning` lines for a message (cargo shows one line per directive).
pub fn warning_lines(message: &str) -> Vec<String> {
    message
        .lines()
        .map(|l| format!("cargo:warning={l}"))
        .collect()
}

/// Everything the build script of a `links = "python3"` crate does: discovers the Python,
/// stops with a readable error when none fits, honours `PYHOST_PRINT_CONFIG=1`, prints the
/// directives, and returns the result for further steps (bindings, C shims).
pub fn configure() -> Resolved {
    let env = Env::from_process();
    let resolved = match crate::Discovery::new(&env).resolve() {
        Ok(r) => r,
        Err(e) => fail(&e.to_string(), &env),
    };
    stop_if_print_requested(&resolved);
    resolved.emit();
    resolved
}

/// When `PYHOST_PRINT_CONFIG` is set, prints the resolved configuration and stops the build.
pub fn stop_if_print_requested(resolved: &Resolved) {
    if resolved.print_requested {
        eprintln!("{}", resolved.report());
        eprintln!(
            "PYHOST_PRINT_CONFIG is set: stopping the build after printing the configuration \
             above. Unset PYHOST_PRINT_CONFIG to build."
        );
        // Rerun when the variable is unset, so the next build goes through.
        for var in &resolved.env_vars {
            println!("cargo:rerun-if-env-changed={var}");
        }
        std::process::exit(1);
    }
}

/// Prints an error for a build script and exits. The rerun directives are printed first, so
/// that setting the variable the message suggests reruns the script.
pub fn fail(message: &str, env: &Env) -> ! {
    for var in env.read_vars() {
        println!("cargo:rerun-if-env-changed={var}");
    }
    eprintln!("\nerror: {message}\n");
    std::process::exit(1);
}

impl PythonConfig {
    /// The cargo directives a dependant's build script prints for this configuration: cfgs
    /// and the final-binary link arguments (rpath, symbol export).
    pub fn dependant_directives(&self, rpath_dir: Option<&std::path::Path>) -> Vec<String> {
        let mut out = self.binary_link_args(rpath_dir);
        out.extend(self.cfg_directives());
        out
    }
}
