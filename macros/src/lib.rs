//! Attribute and derive macros for [pyhost](https://docs.rs/pyhost): expose Rust functions,
//! modules and types to embedded Python.
//!
//! Use them through the `pyhost` crate (`#[pyhost::function]`, `#[pyhost::module]`,
//! `#[pyhost::class]`, `#[derive(pyhost::FromPython, pyhost::IntoPython)]`), whose
//! documentation of the re-exports has the tested examples. The generated code calls only
//! `::pyhost` (its public API and the hidden `pyhost::impl_` runtime), never the C API.

mod class;
mod derive;
mod func;
mod module;
mod util;

use proc_macro::TokenStream;

/// Makes a Rust function callable from Python. See `pyhost::function`.
#[proc_macro_attribute]
pub fn function(attr: TokenStream, item: TokenStream) -> TokenStream {
    func::function(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Builds a Python module from a function that fills it. See `pyhost::module`.
#[proc_macro_attribute]
pub fn module(attr: TokenStream, item: TokenStream) -> TokenStream {
    module::module(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Exposes a Rust struct as a Python class (on the struct), with methods (on its `impl`
/// block). See `pyhost::class`.
#[proc_macro_attribute]
pub fn class(attr: TokenStream, item: TokenStream) -> TokenStream {
    class::class(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Converts a Python object into a struct or enum. See `pyhost::FromPython`.
#[proc_macro_derive(FromPython, attributes(pyhost))]
pub fn derive_from_python(input: TokenStream) -> TokenStream {
    derive::derive(input.into(), derive::Direction::From)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Converts a struct or enum into a Python object. See `pyhost::IntoPython`.
#[proc_macro_derive(IntoPython, attributes(pyhost))]
pub fn derive_into_python(input: TokenStream) -> TokenStream {
    derive::derive(input.into(), derive::Direction::Into)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
