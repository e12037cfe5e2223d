//! Functions and methods: reading the Rust signature (and its `#[pyhost(...)]` parameter
//! attributes) into a Python signature ([`signature`]), the attribute's options
//! ([`options`]), and generating the code that binds, converts, calls and converts back
//! ([`codegen`]).

mod codegen;
mod options;
mod signature;

pub use codegen::*;
pub use options::*;
pub use signature::*;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{LitStr, ReturnType};

use crate::util::{self, Errors};

/// Parses the arguments of `#[pyhost::function(...)]`.
pub fn parse_function_options(attr: TokenStream) -> syn::Result<FnOptions> {
    let mut opts = FnOptions::default();
    let parser = syn::meta::parser(|meta| {
        if opts.parse(&meta)? {
            Ok(())
        } else {
            Err(meta.error(format!(
                "unknown option `{}` for #[pyhost::function]: the options are {FN_OPTIONS}",
                meta.path.to_token_stream()
            )))
        }
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(opts)
}

/// `#[pyhost::function]`.
pub fn function(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut opts = parse_function_options(attr)?;
    let mut f: syn::ItemFn = syn::parse2(item.clone()).map_err(|_| {
        syn::Error::new_spanned(
            &item,
            "#[pyhost::function] goes on a free function (`fn name(...) -> T { ... }`)",
        )
    })?;
    opts.asyncness = f.sig.asyncness.map(|a| a.span);
    let mut errs = Errors::default();
    let sig = parse_signature(&mut f.sig, Kind::Function, &opts, &mut errs);
    if let Some(e) = errs.to_compile_errors() {
        // Keep the function (without the parameter attributes) so that only the real mistakes
        // are reported.
        return Ok(quote!(#f #e));
    }

    let ident = &f.sig.ident;
    let py_name = opts
        .name
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| util::unraw(ident));
    let doc = util::doc_string(&f.attrs);
    let vis = &f.vis;
    let marker = quote!(#ident::__PyhostFunction);
    let callee = Callee {
        path: quote!(#ident),
        self_ty: None,
    };
    let imp = py_function_impl(
        &marker,
        &py_name,
        ident.span(),
        &sig,
        &opts,
        &callee,
        &py_name,
        &doc,
        false,
        return_span(&f.sig),
    )?;
    Ok(quote! {
        #f

        #[doc(hidden)]
        #[allow(non_snake_case, non_camel_case_types, non_upper_case_globals, unreachable_pub)]
        #vis mod #ident {
            pub struct __PyhostFunction;
            pub static __PYHOST_FUNCTION: ::pyhost::FunctionDef =
                ::pyhost::FunctionDef::new::<__PyhostFunction>();
        }

        #imp
    })
}

/// The span of a function's return type (of its name when it returns nothing).
pub fn return_span(sig: &syn::Signature) -> Span {
    match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => sig.ident.span(),
    }
}
