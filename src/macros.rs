//! The attribute and derive macros of `pyhost-macros`, re-exported (at the crate root) with
//! their documentation and tested examples.

#[cfg(feature = "macros")]
#[doc = include_str!("docs/function.md")]
pub use pyhost_macros::function;

#[cfg(feature = "macros")]
#[doc = include_str!("docs/module.md")]
pub use pyhost_macros::module;

#[cfg(feature = "macros")]
#[doc = include_str!("docs/class.md")]
pub use pyhost_macros::class;

#[cfg(feature = "macros")]
#[doc = include_str!("docs/derive_from.md")]
pub use pyhost_macros::FromPython;

#[cfg(feature = "macros")]
#[doc = include_str!("docs/derive_into.md")]
pub use pyhost_macros::IntoPython;
