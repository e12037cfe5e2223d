//! `#[pyhost::module]` on a function that fills the module.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::{FnArg, LitStr, ReturnType, Type};

use crate::func::set_once;
use crate::util::{self, Errors};

#[derive(Default)]
struct ModuleOptions {
    name: Option<LitStr>,
    state: Option<Type>,
}

const OPTIONS: &str = "`name = \"...\"` and `state = Type`";

pub fn module(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut opts = ModuleOptions::default();
    let parser = syn::meta::parser(|meta| {
        let p = &meta.path;
        if p.is_ident("name") {
            let lit: LitStr = meta.value()?.parse()?;
            if lit.value().is_empty() || !lit.value().split('.').all(util::is_python_identifier) {
                return Err(syn::Error::new_spanned(
                    &lit,
                    "the module name must be a Python identifier (or a dotted path of them)",
                ));
            }
            set_once(&mut opts.name, lit, p)
        } else if p.is_ident("state") {
            let ty: Type = meta.value()?.parse()?;
            set_once(&mut opts.state, ty, p)
        } else {
            Err(meta.error(format!(
                "unknown option `{}` for #[pyhost::module]: the options are {OPTIONS}",
                p.to_token_stream()
            )))
        }
    });
    syn::parse::Parser::parse2(parser, attr)?;

    let f: syn::ItemFn = syn::parse2(item.clone()).map_err(|_| {
        syn::Error::new_spanned(
            &item,
            "#[pyhost::module] goes on a function that fills the module: \
             `fn name(m: &Object<'_, Module>) -> pyhost::Result<()> { ... }`",
        )
    })?;
    let mut errs = Errors::default();
    let sig = &f.sig;
    if let Some(a) = &sig.asyncness {
        errs.spanned(
            a,
            "a module function cannot be `async`: make it a plain `fn`",
        );
    }
    for g in &sig.generics.params {
        if !matches!(g, syn::GenericParam::Lifetime(_)) {
            errs.spanned(
                g,
                "a module function cannot be generic: remove the parameter",
            );
        }
    }
    let inputs: Vec<&FnArg> = sig.inputs.iter().collect();
    let shape = "a module function takes the new module and returns `pyhost::Result<()>`: \
                 `fn name(m: &Object<'_, Module>) -> pyhost::Result<()>`";
    match inputs.as_slice() {
        [FnArg::Typed(_)] => {}
        [] => errs.spanned(&sig.ident, format!("{shape}; it takes no parameter")),
        [FnArg::Receiver(r), ..] => errs.spanned(r, format!("{shape}; remove `self`")),
        [_, extra @ ..] => {
            for e in extra {
                errs.spanned(e, format!("{shape}; remove this parameter"));
            }
        }
    }
    if let ReturnType::Default = sig.output {
        errs.spanned(&sig.ident, format!("{shape}; it returns nothing"));
    }
    if let Some(e) = errs.to_compile_errors() {
        return Ok(quote!(#f #e));
    }

    let ident = &sig.ident;
    let vis = &f.vis;
    let inner = util::inner_visibility(vis);
    let py_name = opts
        .name
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| util::unraw(ident));
    let leaf = py_name.rsplit('.').next().unwrap_or(&py_name).to_owned();
    let init = format_ident!("PyInit_{}", leaf);
    let cname = util::c_str(&py_name, ident.span(), "the module name")?;
    let doc = util::doc_string(&f.attrs);
    let cdoc = util::c_str(&doc, ident.span(), "the doc comment")?;
    let (state_ty, has_state) = match &opts.state {
        Some(t) => (t.to_token_stream(), true),
        None => (quote!(()), false),
    };
    let state_of = quote!(<__PyhostModule as ::pyhost::impl_::PyModule>::State);

    let doc_create = format!(
        "Creates an instance of the Python module `{py_name}` (not added to `sys.modules`)."
    );
    let doc_install = format!(
        "Creates an instance of the Python module `{py_name}` and adds it to `sys.modules`, so \
         `import {py_name}` finds it."
    );
    let doc_init = format!(
        "The init function of the builtin module `{py_name}`, for \
         `Interpreter::builder().builtin_module(\"{py_name}\", ...)`."
    );
    let (create, install, builtin) = if has_state {
        let doc_builtin = format!(
            "Registers `state` for the builtin module `{py_name}` and returns its init \
             function, for `Interpreter::builder().builtin_module(\"{py_name}\", \
             {ident}::builtin(state))`. Every instance the import system creates shares this \
             state."
        );
        (
            quote! {
                #[doc = #doc_create]
                #inner fn create<'py>(py: ::pyhost::Python<'py>, state: #state_of)
                    -> ::pyhost::Result<::pyhost::Object<'py, ::pyhost::types::Module>>
                {
                    ::pyhost::impl_::create::<__PyhostModule>(py, state)
                }
            },
            quote! {
                #[doc = #doc_install]
                #inner fn install<'py>(py: ::pyhost::Python<'py>, state: #state_of)
                    -> ::pyhost::Result<::pyhost::Object<'py, ::pyhost::types::Module>>
                {
                    ::pyhost::impl_::install::<__PyhostModule>(py, state)
                }
            },
            quote! {
                #[doc = #doc_builtin]
                #inner fn builtin(state: #state_of) -> ::pyhost::ModuleInit {
                    __PYHOST_MODULE.set_builtin_state(state);
                    #init
                }
            },
        )
    } else {
        (
            quote! {
                #[doc = #doc_create]
                #inner fn create<'py>(py: ::pyhost::Python<'py>)
                    -> ::pyhost::Result<::pyhost::Object<'py, ::pyhost::types::Module>>
                {
                    ::pyhost::impl_::create::<__PyhostModule>(py, ())
                }
            },
            quote! {
                #[doc = #doc_install]
                #inner fn install<'py>(py: ::pyhost::Python<'py>)
                    -> ::pyhost::Result<::pyhost::Object<'py, ::pyhost::types::Module>>
                {
                    ::pyhost::impl_::install::<__PyhostModule>(py, ())
                }
            },
            quote! {
                #[doc = #doc_init]
                #inner fn builtin() -> ::pyhost::ModuleInit {
                    #init
                }
            },
        )
    };
    let mod_doc = format!("The Python module `{py_name}` defined by [`fn@{ident}`].");

    Ok(quote! {
        #f

        #[doc = #mod_doc]
        #[allow(non_snake_case, unreachable_pub)]
        #vis mod #ident {
            #[doc(hidden)]
            #inner struct __PyhostModule;

            #[doc(hidden)]
            #inner static __PYHOST_MODULE: ::pyhost::impl_::ModuleDef = ::pyhost::impl_::ModuleDef::new();

            #create
            #install
            #builtin

            #[doc = #doc_init]
            #inner extern "C" fn #init() -> ::pyhost::impl_::PyObjectPtr {
                ::pyhost::impl_::module_init::<__PyhostModule>()
            }
        }

        impl ::pyhost::impl_::PyModule for #ident::__PyhostModule {
            type State = #state_ty;
            const HAS_STATE: bool = #has_state;
            const NAME: &'static ::std::ffi::CStr = #cname;
            const DOC: &'static ::std::ffi::CStr = #cdoc;

            fn def() -> &'static ::pyhost::impl_::ModuleDef {
                &#ident::__PYHOST_MODULE
            }

            fn fill(__pyhost_module: &::pyhost::Object<'_, ::pyhost::types::Module>) -> ::pyhost::Result<()> {
                #ident(__pyhost_module)
            }
        }
    })
}
