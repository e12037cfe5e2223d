//! The C types whose definition differs between targets, written by hand so that the bindings
//! (generated or pre-generated) are the same on every target. bindgen is told to leave them
//! out (`pyhost_build::bindings`); `tests/raw.rs` compares them with the C compiler's view.

#![allow(non_camel_case_types)]

/// `wchar_t`: an unsigned 32-bit integer on Linux for Arm, a signed one on the other Unix
/// targets.
#[cfg(all(
    not(windows),
    target_os = "linux",
    any(target_arch = "aarch64", target_arch = "arm")
))]
pub type wchar_t = std::os::raw::c_uint;

/// `wchar_t`: a signed 32-bit integer on this target.
#[cfg(all(
    not(windows),
    not(all(target_os = "linux", any(target_arch = "aarch64", target_arch = "arm")))
))]
pub type wchar_t = std::os::raw::c_int;

/// `wchar_t`: UTF-16 code units on Windows.
#[cfg(windows)]
pub type wchar_t = u16;
