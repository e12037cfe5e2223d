//! The options of the function attribute: `name`, `release_gil`, `blocking`, `error = Class`.

use proc_macro2::Span;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Ident, LitStr};

use crate::util::{self};

/// Options given in `#[pyhost::function(...)]` or a method's `#[pyhost(...)]`.
#[derive(Default)]
pub struct FnOptions {
    /// `name = "..."`: the Python name.
    pub name: Option<LitStr>,
    /// `release_gil`: run the body with the GIL released.
    pub release_gil: Option<Span>,
    /// `blocking`: run the body so that the caller's threads, green threads or event loop
    /// are not stalled (`pyhost::blocking`).
    pub blocking: Option<Span>,
    /// Set for an `async fn` (not an option: read from the signature).
    pub asyncness: Option<Span>,
    /// `error = Class`: the exception class for the error of a returned `Result`.
    pub error: Option<ErrorClass>,
    /// `text_signature = "(...)"`: replaces the generated text signature.
    pub text_signature: Option<LitStr>,
}

/// The exception class chosen with `error =`.
pub enum ErrorClass {
    /// A builtin class: `error = ValueError`.
    Builtin(Ident),
    /// A function returning the class: `error = crate::errors::agg_error`.
    Function(syn::Path),
}

pub const FN_OPTIONS: &str = "`name = \"...\"`, `release_gil`, `blocking`, `error = ExceptionClass` and \
                              `text_signature = \"(...)\"`";

impl FnOptions {
    /// Parses one option; `Ok(false)` when the option is not one of these.
    pub fn parse(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<bool> {
        let path = &meta.path;
        if path.is_ident("name") {
            let lit: LitStr = meta.value()?.parse()?;
            if !util::is_python_identifier(&lit.value()) {
                return Err(syn::Error::new_spanned(
                    &lit,
                    "the Python name must be a valid identifier",
                ));
            }
            set_once(&mut self.name, lit, path)?;
        } else if path.is_ident("release_gil") {
            set_once(&mut self.release_gil, path.span(), path)?;
        } else if path.is_ident("blocking") {
            set_once(&mut self.blocking, path.span(), path)?;
        } else if path.is_ident("error") {
            let value = meta.value()?;
            if value.peek(LitStr) {
                let lit: LitStr = value.parse()?;
                return Err(syn::Error::new_spanned(
                    lit,
                    "`error` takes an exception class, not a string: write \
                     `error = ValueError` (a builtin class) or `error = path::to::function` (a \
                     function `fn(Python<'_>) -> pyhost::ExceptionType`)",
                ));
            }
            let p: syn::Path = value.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "`error` takes an exception class: write `error = ValueError` (a builtin \
                     class) or `error = path::to::function` (a function \
                     `fn(Python<'_>) -> pyhost::ExceptionType`)",
                )
            })?;
            // Builtin classes are CamelCase identifiers; anything else names a function.
            let class = match p.get_ident() {
                Some(i) if i.to_string().starts_with(|c: char| c.is_ascii_uppercase()) => {
                    ErrorClass::Builtin(i.clone())
                }
                _ => ErrorClass::Function(p),
            };
            set_once(&mut self.error, class, path)?;
        } else if path.is_ident("text_signature") {
            let lit: LitStr = meta.value()?.parse()?;
            if !lit.value().starts_with('(') || !lit.value().ends_with(')') {
                return Err(syn::Error::new_spanned(
                    &lit,
                    "a text signature is the parameter list in parentheses, like \"(a, b=1, /, *, c)\"",
                ));
            }
            set_once(&mut self.text_signature, lit, path)?;
        } else {
            return Ok(false);
        }
        Ok(true)
    }
}

pub fn set_once<T>(slot: &mut Option<T>, value: T, at: impl ToTokens) -> syn::Result<()> {
    if slot.is_some() {
        let name = at.to_token_stream().to_string();
        return Err(syn::Error::new_spanned(
            at,
            format!("`{name}` is given twice: remove one"),
        ));
    }
    *slot = Some(value);
    Ok(())
}
