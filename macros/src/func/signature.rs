//! The Python signature read from a Rust one, with its `#[pyhost(...)]` parameter attributes.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, FnArg, LitStr, Pat, ReturnType, Token, Type};

use crate::util::{self, Errors};

use super::options::{FnOptions, set_once};

/// Where a function is defined, which decides what its signature may contain.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `#[pyhost::function]`.
    Function,
    /// A method (`&self` or `&mut self`).
    Method,
    /// `#[staticmethod]`.
    StaticMethod,
    /// `#[new]`.
    Constructor,
    /// `#[getter]`, `__repr__`, `__str__`: `&self` and nothing else.
    Unary,
    /// `#[setter]`: `&mut self` and the value.
    Setter,
}

impl Kind {
    fn in_class(self) -> bool {
        self != Kind::Function
    }
}

/// How the method receives its instance.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Receiver {
    None,
    Ref,
    Mut,
}

pub enum Default {
    Required,
    /// `Option<T>`: `None` when not passed.
    None,
    /// `#[pyhost(default)]`.
    Trait,
    /// `#[pyhost(default = expr)]`.
    Expr(Expr),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    PositionalOnly,
    Positional,
    KeywordOnly,
}

pub enum ParamKind {
    /// `Python<'py>`.
    Python,
    /// `#[pyhost(state)] st: &T`.
    State(Type),
    /// An argument taken from the call.
    Arg {
        name: String,
        default: Default,
        kind: ArgKind,
        slot: usize,
    },
    /// `#[pyhost(args)]`.
    Varargs(String),
    /// `#[pyhost(kwargs)]`.
    Varkw(String),
}

pub struct Param {
    pub ty: Type,
    pub kind: ParamKind,
}

/// A function's Python signature.
pub struct Signature {
    pub receiver: Receiver,
    pub params: Vec<Param>,
}

const PARAM_OPTIONS: &str = "`default`, `default = <expr>`, `name = \"...\"`, `args`, `kwargs`, \
                             `state`, `keyword_only` and `positional_only`";

/// What `#[pyhost(...)]` says about one parameter.
#[derive(Default)]
struct ParamAttrs {
    default: Option<(Option<Expr>, Span)>,
    name: Option<LitStr>,
    args: Option<Span>,
    kwargs: Option<Span>,
    state: Option<Span>,
    keyword_only: Option<Span>,
    positional_only: Option<Span>,
}

fn parse_param_attrs(attrs: &mut Vec<syn::Attribute>, errs: &mut Errors) -> ParamAttrs {
    let mut out = ParamAttrs::default();
    attrs.retain(|attr| {
        if !attr.path().is_ident("pyhost") {
            return true;
        }
        let r = attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            if p.is_ident("default") {
                let expr = if meta.input.peek(Token![=]) {
                    Some(meta.value()?.parse::<Expr>()?)
                } else {
                    None
                };
                set_once(&mut out.default, (expr, p.span()), p)
            } else if p.is_ident("name") {
                let lit: LitStr = meta.value()?.parse()?;
                if !util::is_python_identifier(&lit.value()) {
                    return Err(syn::Error::new_spanned(
                        &lit,
                        "the Python name must be a valid identifier",
                    ));
                }
                set_once(&mut out.name, lit, p)
            } else if p.is_ident("args") {
                set_once(&mut out.args, p.span(), p)
            } else if p.is_ident("kwargs") {
                set_once(&mut out.kwargs, p.span(), p)
            } else if p.is_ident("state") {
                set_once(&mut out.state, p.span(), p)
            } else if p.is_ident("keyword_only") {
                set_once(&mut out.keyword_only, p.span(), p)
            } else if p.is_ident("positional_only") {
                set_once(&mut out.positional_only, p.span(), p)
            } else {
                Err(meta.error(format!(
                    "unknown parameter option `{}`: the options are {PARAM_OPTIONS}",
                    p.to_token_stream()
                )))
            }
        });
        if let Err(e) = r {
            errs.push(e);
        }
        false
    });
    out
}

/// Reads the signature of `sig`, removing the `#[pyhost(...)]` parameter attributes.
pub fn parse_signature(
    sig: &mut syn::Signature,
    kind: Kind,
    opts: &FnOptions,
    errs: &mut Errors,
) -> Signature {
    check_header(sig, kind, errs);
    if let Some(span) = opts.blocking {
        check_blocking(sig, kind, opts, span, errs);
    }
    if let (Some(a), Kind::Function) = (&sig.asyncness, kind) {
        check_owned(
            sig,
            "an `async fn`'s future",
            (a.span, "the function is `async` here"),
            errs,
        );
        if let Some(e) = &opts.error {
            let span = match e {
                super::options::ErrorClass::Builtin(i) => i.span(),
                super::options::ErrorClass::Function(p) => p.span(),
            };
            errs.push(syn::Error::new(
                span,
                "`error = ...` is not supported on an `async fn` yet: return \
                 `pyhost::Result<T>` (or a `Result` whose error converts) instead",
            ));
        }
        if let Some(b) = opts.blocking.or(opts.release_gil) {
            errs.push(syn::Error::new(
                b,
                "an `async fn` never blocks its caller: `blocking` and `release_gil` are for \
                 plain functions",
            ));
        }
    }
    let mut receiver = Receiver::None;
    let mut params = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut seen_varargs = false;
    let mut seen_varkw: Option<Span> = None;
    let mut keyword_only_started = false;
    let mut seen_positional = false;
    let mut seen_default: Option<String> = None;
    let mut npos = 0usize;

    for input in sig.inputs.iter_mut() {
        let pat_ty = match input {
            FnArg::Receiver(r) => {
                receiver = check_receiver(r, kind, errs);
                continue;
            }
            FnArg::Typed(t) => t,
        };
        let attrs = parse_param_attrs(&mut pat_ty.attrs, errs);
        let ty = (*pat_ty.ty).clone();
        let binding = match &*pat_ty.pat {
            Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => Some(p.ident.clone()),
            other => {
                errs.spanned(
                    other,
                    "parameters of a function called from Python must be plain names \
                     (`name: Type`): destructure inside the function body",
                );
                None
            }
        };
        if util::contains_impl_trait(&ty) {
            errs.spanned(
                &ty,
                "`impl Trait` parameters make the function generic, and a generic function \
                 cannot be called from Python: use a concrete type",
            );
            continue;
        }
        let name_span = pat_ty.pat.span();

        if util::is_python_token(&ty) {
            let any = attrs
                .default
                .as_ref()
                .map(|d| d.1)
                .or(attrs.args)
                .or(attrs.kwargs)
                .or(attrs.state)
                .or(attrs.keyword_only)
                .or(attrs.positional_only)
                .or(attrs.name.as_ref().map(|n| n.span()));
            if let Some(span) = any {
                errs.push(syn::Error::new(
                    span,
                    "the `Python<'py>` token is passed by pyhost, not by the caller: it takes no \
                     parameter options",
                ));
            }
            for (set, option) in [
                (opts.release_gil, "release_gil"),
                (opts.blocking, "blocking"),
            ] {
                if let Some(span) = set {
                    let mut e = syn::Error::new_spanned(
                        &ty,
                        format!(
                            "a `{option}` function runs without the GIL, so it cannot take the \
                             `Python<'py>` token: remove this parameter, or remove `{option}`"
                        ),
                    );
                    e.combine(syn::Error::new(span, format!("`{option}` is set here")));
                    errs.push(e);
                }
            }
            params.push(Param {
                ty,
                kind: ParamKind::Python,
            });
            continue;
        }

        if let Some(state_span) = attrs.state {
            if kind != Kind::Function {
                errs.push(syn::Error::new(
                    state_span,
                    "host state is given to module functions (`#[pyhost::function]` added to a \
                     `#[pyhost::module(state = T)]`); class methods cannot receive it: store \
                     what the method needs in the class value instead",
                ));
            }
            let others = attrs
                .default
                .as_ref()
                .map(|d| d.1)
                .or(attrs.args)
                .or(attrs.kwargs)
                .or(attrs.keyword_only)
                .or(attrs.positional_only)
                .or(attrs.name.as_ref().map(|n| n.span()));
            if let Some(span) = others {
                errs.push(syn::Error::new(
                    span,
                    "a `state` parameter is filled from the module, not by the caller: it takes \
                     no other options",
                ));
            }
            let inner = match &ty {
                Type::Reference(r) if r.mutability.is_none() => (*r.elem).clone(),
                _ => {
                    errs.spanned(
                        &ty,
                        "a `state` parameter takes a shared reference to the state: write \
                         `&T` (for a module declared with `state = T`)",
                    );
                    ty.clone()
                }
            };
            params.push(Param {
                ty,
                kind: ParamKind::State(inner),
            });
            continue;
        }

        let py_name = match (&attrs.name, &binding) {
            (Some(n), _) => n.value(),
            (None, Some(b)) => util::unraw(b),
            (None, None) => String::from("_"),
        };
        let name_tokens: TokenStream = match &attrs.name {
            Some(n) => n.to_token_stream(),
            None => quote_spanned!(name_span=> #binding),
        };
        if names.contains(&py_name) {
            errs.spanned(
                &name_tokens,
                format!(
                    "two parameters are named `{py_name}` in Python: rename one with \
                     `#[pyhost(name = \"...\")]`"
                ),
            );
        }
        names.push(py_name.clone());
        if let Some(span) = seen_varkw {
            let mut e = syn::Error::new_spanned(
                &name_tokens,
                "`**kwargs` must be the last parameter Python sees: move this parameter before it",
            );
            e.combine(syn::Error::new(span, "`**kwargs` is here"));
            errs.push(e);
        }

        if attrs.args.is_some() || attrs.kwargs.is_some() {
            let (span, star) = match (attrs.args, attrs.kwargs) {
                (Some(a), Some(_)) => {
                    errs.push(syn::Error::new(
                        a,
                        "a parameter cannot be both `args` and `kwargs`",
                    ));
                    (a, "*args")
                }
                (Some(a), None) => (a, "*args"),
                (None, Some(k)) => (k, "**kwargs"),
                (None, None) => unreachable!(),
            };
            if let Some((_, d)) = &attrs.default {
                errs.push(syn::Error::new(
                    *d,
                    format!("`{star}` is empty when nothing is passed: it cannot have a default"),
                ));
            }
            for s in [attrs.keyword_only, attrs.positional_only]
                .into_iter()
                .flatten()
            {
                errs.push(syn::Error::new(
                    s,
                    format!("`{star}` cannot be `keyword_only` or `positional_only`"),
                ));
            }
            if attrs.args.is_some() {
                if seen_varargs {
                    errs.push(syn::Error::new(
                        span,
                        "only one parameter can receive `*args`",
                    ));
                }
                seen_varargs = true;
                keyword_only_started = true;
                params.push(Param {
                    ty,
                    kind: ParamKind::Varargs(py_name),
                });
            } else {
                if seen_varkw.is_some() {
                    errs.push(syn::Error::new(
                        span,
                        "only one parameter can receive `**kwargs`",
                    ));
                }
                seen_varkw = Some(span);
                params.push(Param {
                    ty,
                    kind: ParamKind::Varkw(py_name),
                });
            }
            continue;
        }

        let default = match attrs.default {
            Some((Some(e), _)) => Default::Expr(e),
            Some((None, _)) => Default::Trait,
            None if util::is_option(&ty) => Default::None,
            None => Default::Required,
        };
        if let Some(k) = attrs.keyword_only {
            if let Some(p) = attrs.positional_only {
                let _ = k;
                errs.push(syn::Error::new(
                    p,
                    "a parameter cannot be both `keyword_only` and `positional_only`",
                ));
            }
            keyword_only_started = true;
        }
        let arg_kind = if keyword_only_started {
            if let Some(p) = attrs.positional_only {
                errs.push(syn::Error::new(
                    p,
                    "a positional-only parameter cannot follow `*args` or a keyword-only \
                     parameter",
                ));
            }
            ArgKind::KeywordOnly
        } else if let Some(p) = attrs.positional_only {
            if seen_positional {
                errs.push(syn::Error::new(
                    p,
                    "positional-only parameters must come first: move this parameter before the \
                     ones that can be passed by keyword",
                ));
            }
            ArgKind::PositionalOnly
        } else {
            seen_positional = true;
            ArgKind::Positional
        };
        if arg_kind != ArgKind::KeywordOnly {
            match (&default, &seen_default) {
                (Default::Required, Some(prev)) => errs.spanned(
                    &name_tokens,
                    format!(
                        "parameter `{py_name}` has no default but follows `{prev}`, which has \
                         one (Python requires defaults to be trailing): give it a default, make \
                         it `#[pyhost(keyword_only)]`, or move it before `{prev}`"
                    ),
                ),
                (Default::Required, None) => {}
                (_, _) => {
                    if seen_default.is_none() {
                        seen_default = Some(py_name.clone());
                    }
                }
            }
            npos += 1;
        }
        params.push(Param {
            ty,
            kind: ParamKind::Arg {
                name: py_name,
                default,
                kind: arg_kind,
                slot: 0,
            },
        });
    }

    // Slots: positional parameters first, in order, then keyword-only ones.
    let (mut p, mut k) = (0, npos);
    for param in &mut params {
        if let ParamKind::Arg { kind, slot, .. } = &mut param.kind {
            if *kind == ArgKind::KeywordOnly {
                *slot = k;
                k += 1;
            } else {
                *slot = p;
                p += 1;
            }
        }
    }
    Signature { receiver, params }
}

/// Checks what cannot be in the signature of any function called from Python.
fn check_header(sig: &syn::Signature, kind: Kind, errs: &mut Errors) {
    let what = if kind.in_class() {
        "method"
    } else {
        "function"
    };
    if let Some(a) = &sig.asyncness {
        if kind != Kind::Function {
            errs.spanned(
                a,
                "an `async fn` method cannot be called from Python: its future would borrow \
                 the instance; make it a module function (`#[pyhost::function] async fn`)",
            );
        }
    }
    if let syn::Safety::Unsafe(u) = &sig.safety {
        errs.spanned(
            u,
            format!(
                "an `unsafe fn` cannot be called from Python, which cannot uphold its contract: \
                 make the {what} safe and keep the unsafe code inside it"
            ),
        );
    }
    if let Some(abi) = &sig.abi {
        errs.spanned(
            abi,
            format!("remove the ABI: pyhost generates the C entry point of the {what} itself"),
        );
    }
    if let Some(v) = &sig.variadic {
        errs.spanned(v, "C variadic parameters cannot be called from Python");
    }
    for g in &sig.generics.params {
        match g {
            syn::GenericParam::Lifetime(_) => {}
            other => errs.spanned(
                other,
                format!(
                    "a generic {what} cannot be called from Python (one entry point is \
                     generated per {what}): remove the type or const parameters and use \
                     concrete types"
                ),
            ),
        }
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        if util::contains_impl_trait(ty) {
            errs.spanned(
                ty,
                "an `impl Trait` return type cannot be converted to Python: return a concrete \
                 type that implements `IntoPython`",
            );
        }
    }
}

fn check_receiver(r: &syn::Receiver, kind: Kind, errs: &mut Errors) -> Receiver {
    match kind {
        Kind::Function => {
            errs.spanned(
                r,
                "`self` is only allowed in methods of a `#[pyhost::class]` impl block; a \
                 `#[pyhost::function]` is a free function: remove `self`",
            );
            return Receiver::None;
        }
        Kind::StaticMethod | Kind::Constructor => {
            errs.spanned(
                r,
                if kind == Kind::Constructor {
                    "a `#[new]` constructor takes no `self`: it returns the new value (`Self`)"
                } else {
                    "a `#[staticmethod]` takes no `self`: remove it, or remove `#[staticmethod]`"
                },
            );
            return Receiver::None;
        }
        _ => {}
    }
    if !matches!(r.kind, syn::ReceiverKind::Reference(..)) {
        errs.spanned(
            r,
            "methods take `&self` or `&mut self`: the value lives inside the Python object, so \
             it cannot be moved out by `self` or a typed receiver",
        );
        return Receiver::Ref;
    }
    if matches!(r.kind, syn::ReceiverKind::Reference(_, _, Some(_))) {
        Receiver::Mut
    } else {
        Receiver::Ref
    }
}

impl Signature {
    /// Arguments taken from the call, in slot order.
    fn args(&self) -> impl Iterator<Item = (&str, &Default, ArgKind, usize)> {
        let mut v: Vec<_> = self
            .params
            .iter()
            .filter_map(|p| match &p.kind {
                ParamKind::Arg {
                    name,
                    default,
                    kind,
                    slot,
                } => Some((name.as_str(), default, *kind, *slot)),
                _ => None,
            })
            .collect();
        v.sort_by_key(|a| a.3);
        v.into_iter()
    }

    pub fn slot_count(&self) -> usize {
        self.args().count()
    }

    pub(super) fn varargs(&self) -> Option<&str> {
        self.params.iter().find_map(|p| match &p.kind {
            ParamKind::Varargs(n) => Some(n.as_str()),
            _ => None,
        })
    }

    pub(super) fn varkw(&self) -> Option<&str> {
        self.params.iter().find_map(|p| match &p.kind {
            ParamKind::Varkw(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// Whether the function takes nothing from the call (`METH_NOARGS`).
    pub fn takes_nothing(&self) -> bool {
        self.slot_count() == 0 && self.varargs().is_none() && self.varkw().is_none()
    }

    /// The state type, if a parameter takes host state.
    pub fn state(&self) -> Option<&Type> {
        self.params.iter().find_map(|p| match &p.kind {
            ParamKind::State(t) => Some(t),
            _ => None,
        })
    }

    /// Python parameters other than the ones taken from the call.
    pub fn python_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| {
            matches!(
                p.kind,
                ParamKind::Arg { .. } | ParamKind::Varargs(_) | ParamKind::Varkw(_)
            )
        })
    }

    /// The text signature: `(a, b=1, /, c, *args, d, **kwargs)`, with `$self` first for
    /// methods.
    pub fn text_signature(&self, with_self: bool) -> String {
        let mut parts: Vec<String> = Vec::new();
        if with_self {
            parts.push("$self".into());
        }
        let args: Vec<_> = self.args().collect();
        let shown = |name: &str, d: &Default, ty: &Type| -> String {
            match d {
                Default::Required => name.to_owned(),
                Default::None => format!("{name}=None"),
                Default::Trait => format!("{name}={}", util::python_default_of_type(ty)),
                Default::Expr(e) => format!("{name}={}", util::python_default(e)),
            }
        };
        let ty_of = |slot: usize| -> &Type {
            self.params
                .iter()
                .find(|p| matches!(p.kind, ParamKind::Arg { slot: s, .. } if s == slot))
                .map(|p| &p.ty)
                .expect("slot has a parameter")
        };
        let mut posonly = false;
        for (name, d, k, slot) in &args {
            if *k == ArgKind::PositionalOnly {
                parts.push(shown(name, d, ty_of(*slot)));
                posonly = true;
            }
        }
        if posonly {
            parts.push("/".into());
        }
        for (name, d, k, slot) in &args {
            if *k == ArgKind::Positional {
                parts.push(shown(name, d, ty_of(*slot)));
            }
        }
        let kwonly: Vec<_> = args
            .iter()
            .filter(|a| a.2 == ArgKind::KeywordOnly)
            .collect();
        match self.varargs() {
            Some(v) => parts.push(format!("*{v}")),
            None if !kwonly.is_empty() => parts.push("*".into()),
            None => {}
        }
        for (name, d, _, slot) in kwonly {
            parts.push(shown(name, d, ty_of(*slot)));
        }
        if let Some(k) = self.varkw() {
            parts.push(format!("**{k}"));
        }
        format!("({})", parts.join(", "))
    }

    /// The `FunctionDescription` literal, for a function named `name` in messages.
    pub fn description(&self, name: &str) -> TokenStream {
        let args: Vec<_> = self.args().collect();
        let positional: Vec<&str> = args
            .iter()
            .filter(|a| a.2 != ArgKind::KeywordOnly)
            .map(|a| a.0)
            .collect();
        let positional_only = args
            .iter()
            .filter(|a| a.2 == ArgKind::PositionalOnly)
            .count();
        let required_positional = args
            .iter()
            .filter(|a| a.2 != ArgKind::KeywordOnly && matches!(a.1, Default::Required))
            .count();
        let keyword_only = args
            .iter()
            .filter(|a| a.2 == ArgKind::KeywordOnly)
            .map(|a| {
                let n = a.0;
                let required = matches!(a.1, Default::Required);
                quote!(::pyhost::impl_::KeywordOnly { name: #n, required: #required })
            });
        let varargs = self.varargs().is_some();
        let varkw = self.varkw().is_some();
        quote! {
            ::pyhost::impl_::FunctionDescription {
                name: #name,
                positional: &[#(#positional),*],
                positional_only: #positional_only,
                required_positional: #required_positional,
                keyword_only: &[#(#keyword_only),*],
                varargs: #varargs,
                varkw: #varkw,
            }
        }
    }
}

/// A `blocking` body may run on another thread and outlive its caller's wait: it takes owned
/// arguments only, no receiver, no host state, and not `release_gil` too.
fn check_blocking(
    sig: &syn::Signature,
    kind: Kind,
    opts: &FnOptions,
    span: Span,
    errs: &mut Errors,
) {
    if opts.release_gil.is_some() {
        let mut e = syn::Error::new(
            span,
            "`blocking` and `release_gil` exclude each other: `blocking` releases the GIL too, \
             and keeps green threads and event loops running",
        );
        e.combine(syn::Error::new(
            opts.release_gil.unwrap_or(span),
            "`release_gil` is set here",
        ));
        errs.push(e);
    }
    if kind != Kind::Function {
        errs.push(syn::Error::new(
            span,
            "`blocking` is for module functions (`#[pyhost::function]`): a method's body borrows \
             its instance, which cannot leave the calling thread; use `release_gil` on methods",
        ));
        return;
    }
    check_owned(
        sig,
        "a `blocking` function's body",
        (span, "`blocking` is set here"),
        errs,
    );
}

/// `what` may run on another thread and outlive the call: owned arguments only, no host
/// state.
fn check_owned(sig: &syn::Signature, what: &str, (span, note): (Span, &str), errs: &mut Errors) {
    for input in &sig.inputs {
        let FnArg::Typed(t) = input else { continue };
        let is_state = t.attrs.iter().any(|a| {
            a.path().is_ident("pyhost") && a.to_token_stream().to_string().contains("state")
        });
        let borrows = matches!(&*t.ty, syn::Type::Reference(_))
            || t.ty.to_token_stream().to_string().contains('\'');
        if is_state || (borrows && !util::is_python_token(&t.ty)) {
            let mut e = syn::Error::new_spanned(
                &t.ty,
                format!(
                    "{what} may run on another thread and outlive the call, so it takes owned \
                     arguments (`String`, not `&str`; `Vec<u8>`, not `&[u8]`) and no host state"
                ),
            );
            e.combine(syn::Error::new(span, note));
            errs.push(e);
        }
    }
}
