//! Build-time errors: sentences for a human, saying what was tried, what was found and what
//! fixes it.

use std::fmt;
use std::path::PathBuf;

/// One discovery step and what came of it, as listed when no Python is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// What was tried: `PYHOST_CONFIG_FILE`, `pkg-config python3-embed`, `python3 on PATH`.
    pub step: String,
    /// What it found, or why it was skipped.
    pub outcome: String,
}

/// Everything that can stop pyhost-build from configuring a build.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No step of the discovery found a usable Python.
    NotFound {
        /// The target triple being built.
        target: String,
        /// Every step tried, in order.
        attempts: Vec<Attempt>,
        /// What to do about it.
        fixes: Vec<String>,
    },
    /// A `PYHOST_CONFIG_FILE` could not be read or has an invalid line (line 0: the whole
    /// file).
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// 1-based line number, 0 when the problem is not on one line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Two sources disagree about the Python (headers and library, interpreter and headers,
    /// pointer widths, ...).
    Mismatch {
        /// What disagrees, e.g. "Python version".
        what: String,
        /// One side: where it came from and what it says.
        left: (String, String),
        /// The other side.
        right: (String, String),
        /// What to do about it.
        fix: String,
    },
    /// A Python was described but a piece of it is missing on disk (headers, library).
    Missing {
        /// What is missing, e.g. "Python.h".
        what: String,
        /// Where it was looked for.
        looked_in: Vec<PathBuf>,
        /// Which configuration said it would be there.
        source: String,
        /// What to do about it.
        fix: String,
    },
    /// The Python found is older than pyhost supports.
    Unsupported {
        /// The version found.
        version: String,
        /// Where it was found.
        source: String,
    },
    /// A variable the user set cannot be used as it is.
    Explicit {
        /// The variable, e.g. `PYHOST_PYTHON`.
        variable: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        problem: String,
        /// What to do about it.
        fix: String,
    },
    /// Generating or checking the bindings failed.
    Bindings {
        /// What went wrong.
        message: String,
        /// What to do about it.
        fix: String,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound {
                target,
                attempts,
                fixes,
            } => {
                writeln!(
                    f,
                    "pyhost could not find a Python to build against for {target}."
                )?;
                writeln!(f, "Tried, in order:")?;
                for a in attempts {
                    writeln!(f, "  - {}: {}", a.step, a.outcome)?;
                }
                write_fixes(f, fixes)
            }
            Error::ConfigFile {
                path,
                line: 0,
                message,
            } => write!(f, "{}: {message}", path.display()),
            Error::ConfigFile {
                path,
                line,
                message,
            } => write!(f, "{}:{line}: {message}", path.display()),
            Error::Mismatch {
                what,
                left,
                right,
                fix,
            } => {
                writeln!(f, "{what} mismatch:")?;
                writeln!(f, "  - {} says {}", left.0, left.1)?;
                writeln!(f, "  - {} says {}", right.0, right.1)?;
                write_fixes(f, std::slice::from_ref(fix))
            }
            Error::Missing {
                what,
                looked_in,
                source,
                fix,
            } => {
                write!(
                    f,
                    "{what} not found (configuration from {source}); looked in "
                )?;
                if looked_in.is_empty() {
                    write!(f, "no directory at all")?;
                }
                for (i, d) in looked_in.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{}", d.display())?;
                }
                writeln!(f, ".")?;
                write_fixes(f, std::slice::from_ref(fix))
            }
            Error::Unsupported { version, source } => {
                writeln!(
                    f,
                    "{source} is Python {version}, but pyhost needs CPython 3.8 or newer."
                )?;
                write_fixes(
                    f,
                    &[
                        "point PYHOST_PYTHON at a newer interpreter, or PKG_CONFIG_PATH at the \
                         lib/pkgconfig directory of a newer Python"
                            .to_owned(),
                    ],
                )
            }
            Error::Explicit {
                variable,
                value,
                problem,
                fix,
            } => {
                writeln!(f, "{variable}={value}: {problem}")?;
                write_fixes(f, std::slice::from_ref(fix))
            }
            Error::Bindings { message, fix } => {
                writeln!(f, "{message}")?;
                write_fixes(f, std::slice::from_ref(fix))
            }
        }
    }
}

fn write_fixes(f: &mut fmt::Formatter<'_>, fixes: &[String]) -> fmt::Result {
    match fixes {
        [] => Ok(()),
        [one] => write!(f, "Fix: {one}"),
        many => {
            write!(f, "Fix, one of:")?;
            for fix in many {
                write!(f, "\n  - {fix}")?;
            }
            Ok(())
        }
    }
}

impl std::error::Error for Error {}
