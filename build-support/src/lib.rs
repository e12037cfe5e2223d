//! Build-script support for embedding CPython in Rust.
//!
//! `pyhost-build` finds the Python to compile and link against, checks that its pieces agree,
//! and prints the cargo directives that link it. `pyhost-sys` uses it; so can the `build.rs` of
//! any crate that embeds Python.
//!
//! # Discovery
//!
//! In this order, the first that applies wins:
//!
//! 1. **Explicit configuration.** `PYHOST_CONFIG_FILE` names a `key=value` file (see
//!    [`PythonConfig::parse`] for the keys), or `PYHOST_PYTHON` names an interpreter that is
//!    asked through `sysconfig`.
//! 2. **pkg-config**: `python3-embed`, then the versioned `python-3.X-embed` names, newest
//!    first. The per-target variables `PKG_CONFIG_PATH_<target>`, `PKG_CONFIG_LIBDIR_<target>`
//!    and `PKG_CONFIG_SYSROOT_DIR_<target>` are honoured; a cross build with none of them looks
//!    in the target's Debian multiarch directory and never in the host's.
//! 3. **`python3` on `PATH`**, only when the target is the host: a host interpreter never
//!    describes another target.
//!
//! Whatever the source, the headers (`patchlevel.h`, `pyconfig.h`) must agree with it on the
//! version, the pointer width and free-threading, and libpython must be on disk; any mismatch
//! stops the build with a message naming both sides and the variable that fixes it. When the
//! `python3` on `PATH` is not the Python being linked, a warning says which one is used.
//!
//! # Variables
//!
//! | variable | effect |
//! |---|---|
//! | `PYHOST_CONFIG_FILE` | use this configuration file |
//! | `PYHOST_PYTHON` | use this interpreter's Python |
//! | `PYHOST_PYTHON_VERSION` | only accept this `3.X` (also picks `python-3.X-embed`); `3.Xd` asks for a debug build (`python-3.Xd-embed`, `python-3.X-dbg-embed`) |
//! | `PYHOST_LINK` | `static` links `libpython3.X.a` (whole, symbols exported); `shared` is the default |
//! | `PYHOST_NO_RPATH` | `1`: no rpath to a non-system libpython |
//! | `PYHOST_PRINT_CONFIG` | `1`: print the resolved configuration and stop the build |
//! | `PKG_CONFIG_PATH[_<target>]`, `PKG_CONFIG_LIBDIR[_<target>]`, `PKG_CONFIG_SYSROOT_DIR[_<target>]` | pkg-config search |
//!
//! # Cfgs
//!
//! `py_3_8` … `py_3_N` (cumulative), `py_gil_disabled`, `py_limited_api` and `py_debug`, all
//! declared with `rustc-check-cfg`. A crate using pyhost gets them, and the rpath its binaries
//! need, with one call in its `build.rs`: [`dependent::emit`].
//!
//! # Example
//!
//! ```no_run
//! // build.rs of a `links = "python3"` crate
//! let resolved = pyhost_build::configure();
//! println!("building against Python {}", resolved.config.version);
//! ```

// Build-time errors are rare and carry whole sentences; their size does not matter.
#![allow(clippy::result_large_err)]

mod config;
pub mod dependent;
mod discover;
mod emit;
mod env;
mod error;
pub mod fallback;
pub mod headers;
pub mod interpreter;
pub mod layout;
pub mod object_model;
pub mod pkgconfig;
mod target;
mod version;

pub mod bindings;

#[doc(hidden)]
pub mod test_support;

pub use config::{LinkKind, PythonConfig, Source};
pub use discover::{Discovery, Resolved};
pub use emit::{configure, fail, stop_if_print_requested, warning_lines};
pub use env::Env;
pub use error::{Attempt, Error, Result};
pub use target::Target;
pub use version::{MAX_TESTED_MINOR, MIN_MINOR, PythonVersion};
