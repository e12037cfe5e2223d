//! The code that binds, converts, calls and converts back.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use crate::util::{self};

use super::options::{ErrorClass, FnOptions};
use super::signature::*;

/// Names used inside a generated `call` body.
pub struct CallNames {
    pub py: Ident,
    pub slf: Ident,
    pub args: Ident,
}

impl CallNames {
    pub fn new() -> Self {
        CallNames {
            py: format_ident!("__pyhost_py"),
            slf: format_ident!("__pyhost_slf"),
            args: format_ident!("__pyhost_args"),
        }
    }
}

/// How the generated code reaches the Rust function.
pub struct Callee {
    /// `add`, or `<Counter>::incr`.
    pub path: TokenStream,
    /// The class type, for methods.
    pub self_ty: Option<TokenStream>,
}

/// The statements that bind and convert the arguments and call the function, leaving the
/// result (after `error =` mapping) in `__pyhost_ret`.
///
/// `desc_name` is the name used in argument errors (`add`, `Counter.incr`).
pub fn call_statements(
    sig: &Signature,
    opts: &FnOptions,
    callee: &Callee,
    desc_name: &str,
    n: &CallNames,
) -> TokenStream {
    let CallNames { py, slf, args } = n;
    let mut stmts = TokenStream::new();
    let mut call_args: Vec<TokenStream> = Vec::new();

    let needs_binding = !sig.takes_nothing();
    if needs_binding {
        let desc = sig.description(desc_name);
        let count = sig.slot_count();
        let rest = if sig.varargs().is_some() || sig.varkw().is_some() {
            quote!(let __pyhost_rest =)
        } else {
            quote!(let _ =)
        };
        stmts.extend(quote! {
            const __PYHOST_DESC: ::pyhost::impl_::FunctionDescription = #desc;
            let mut __pyhost_slots: [::std::option::Option<::pyhost::impl_::Arg<'_, '_>>; #count] =
                [::std::option::Option::None; #count];
            #rest #args.bind(#py, &__PYHOST_DESC, &mut __pyhost_slots)?;
        });
    }

    let mut varkw_stmt = TokenStream::new();
    for (i, p) in sig.params.iter().enumerate() {
        let var = format_ident!("__pyhost_arg{}", i);
        let ty = &p.ty;
        let span = ty.span();
        match &p.kind {
            ParamKind::Python => {
                call_args.push(quote!(#py));
                continue;
            }
            ParamKind::State(inner) => {
                stmts.extend(quote_spanned! {span=>
                    let #var = ::pyhost::impl_::state::<#inner>(#slf, &__PYHOST_STATE_DESC)?;
                });
            }
            ParamKind::Arg { default, slot, .. } => {
                let expr = match default {
                    Default::Required => quote_spanned! {span=>
                        ::pyhost::impl_::required(__pyhost_slots[#slot], &__PYHOST_DESC, #slot)
                    },
                    Default::None => quote_spanned! {span=>
                        ::pyhost::impl_::with_default(__pyhost_slots[#slot], &__PYHOST_DESC, #slot, || ::std::option::Option::None)
                    },
                    Default::Trait => quote_spanned! {span=>
                        ::pyhost::impl_::with_default(__pyhost_slots[#slot], &__PYHOST_DESC, #slot, ::std::default::Default::default)
                    },
                    Default::Expr(e) => {
                        let e = match &callee.self_ty {
                            Some(t) => util::replace_self(e.to_token_stream(), t),
                            None => e.to_token_stream(),
                        };
                        quote_spanned! {span=>
                            ::pyhost::impl_::with_default(__pyhost_slots[#slot], &__PYHOST_DESC, #slot, || #e)
                        }
                    }
                };
                stmts.extend(quote_spanned! {span=> let #var = #expr?; });
            }
            ParamKind::Varargs(name) => {
                stmts.extend(quote_spanned! {span=>
                    let #var = ::pyhost::impl_::varargs(#py, &__pyhost_rest, &__PYHOST_DESC, #name)?;
                });
            }
            ParamKind::Varkw(name) => {
                // Last: it consumes the rest.
                varkw_stmt = quote_spanned! {span=>
                    let #var = ::pyhost::impl_::varkw(#py, __pyhost_rest, &__PYHOST_DESC, #name)?;
                };
            }
        }
        call_args.push(quote!(#var));
    }
    stmts.extend(varkw_stmt);

    // The receiver, borrowed after the arguments are converted (converting may run Python code
    // that uses the same instance).
    let receiver = match (sig.receiver, &callee.self_ty) {
        (Receiver::Ref, Some(ty)) => {
            stmts.extend(quote! {
                let __pyhost_self = ::pyhost::impl_::self_ref::<#ty>(#slf)?;
                let __pyhost_recv = &*__pyhost_self;
            });
            Some(quote!(__pyhost_recv))
        }
        (Receiver::Mut, Some(ty)) => {
            stmts.extend(quote! {
                let mut __pyhost_self = ::pyhost::impl_::self_mut::<#ty>(#slf)?;
                let __pyhost_recv = &mut *__pyhost_self;
            });
            Some(quote!(__pyhost_recv))
        }
        _ => None,
    };
    if sig.state().is_some() {
        // The state lookup names the function in its error even without arguments.
        let desc = sig.description(desc_name);
        stmts = quote! {
            const __PYHOST_STATE_DESC: ::pyhost::impl_::FunctionDescription = #desc;
            #stmts
        };
    }

    let path = &callee.path;
    let all_args = receiver.into_iter().chain(call_args);
    let call = quote!(#path(#(#all_args),*));
    let call = match opts.asyncness {
        // The future runs on the runtime; Python gets an asyncio future.
        Some(span) => quote_spanned!(span=> ::pyhost::asyncio::awaitable(#py, #call)?),
        None => call,
    };
    let call = match (opts.release_gil, opts.blocking) {
        (Some(span), _) => quote_spanned!(span=> ::pyhost::impl_::detach(#py, move || #call)),
        (None, Some(span)) => {
            quote_spanned!(span=> ::pyhost::blocking::run(#py, #desc_name, move || #call)?)
        }
        (None, None) => call,
    };
    stmts.extend(quote!(let __pyhost_ret = #call;));
    if let Some(class) = &opts.error {
        let class = match class {
            ErrorClass::Builtin(i) => quote_spanned!(i.span()=> ::pyhost::ExceptionType::#i),
            ErrorClass::Function(p) => quote_spanned!(p.span()=> #p(#py)),
        };
        stmts.extend(quote! {
            let __pyhost_ret = ::pyhost::impl_::map_error(__pyhost_ret, || #class);
        });
    }
    stmts
}

/// The `__doc__` of a function: the text signature line then the doc comment.
pub fn ml_doc(name: &str, sig: &Signature, opts: &FnOptions, with_self: bool, doc: &str) -> String {
    let text_sig = match &opts.text_signature {
        Some(s) => {
            let v = s.value();
            if with_self && !v.starts_with("($self") {
                if v == "()" {
                    "($self)".to_owned()
                } else {
                    format!("($self, {}", &v[1..])
                }
            } else {
                v
            }
        }
        None => sig.text_signature(with_self),
    };
    format!("{name}{text_sig}\n--\n\n{doc}")
}

/// The `PyFunction` impl for a marker type.
#[allow(clippy::too_many_arguments)]
pub fn py_function_impl(
    marker: &TokenStream,
    py_name: &str,
    name_span: Span,
    sig: &Signature,
    opts: &FnOptions,
    callee: &Callee,
    desc_name: &str,
    doc: &str,
    is_static: bool,
    ret_span: Span,
) -> syn::Result<TokenStream> {
    let with_self = sig.receiver != Receiver::None;
    let cname = util::c_str(py_name, name_span, "the function name")?;
    let cdoc = util::c_str(
        &ml_doc(py_name, sig, opts, with_self, doc),
        name_span,
        "the doc comment",
    )?;
    let noargs = sig.takes_nothing();
    let state = match sig.state() {
        Some(t) => quote!(::std::option::Option::Some(::pyhost::impl_::StateInfo::of::<#t>())),
        None => quote!(::std::option::Option::None),
    };
    let n = CallNames::new();
    let CallNames { py, slf, args } = &n;
    let stmts = call_statements(sig, opts, callee, desc_name, &n);
    let ret = quote_spanned!(ret_span=> ::pyhost::impl_::into_return(#py, __pyhost_ret));
    Ok(quote! {
        impl ::pyhost::impl_::PyFunction for #marker {
            const NAME: &'static ::std::ffi::CStr = #cname;
            const DOC: &'static ::std::ffi::CStr = #cdoc;
            const NOARGS: bool = #noargs;
            const STATIC: bool = #is_static;
            const STATE: ::std::option::Option<::pyhost::impl_::StateInfo> = #state;

            #[inline]
            #[allow(unused_variables, unused_mut, clippy::let_unit_value, clippy::unit_arg)]
            fn call<'__pyhost_a, '__pyhost_py>(
                #py: ::pyhost::Python<'__pyhost_py>,
                #slf: ::std::option::Option<::pyhost::Borrowed<'__pyhost_a, '__pyhost_py, ::pyhost::types::Any>>,
                #args: ::pyhost::impl_::FastcallArgs<'__pyhost_a, '__pyhost_py>,
            ) -> ::pyhost::Result<::pyhost::Object<'__pyhost_py, ::pyhost::types::Any>> {
                #stmts
                #ret
            }
        }
    })
}
