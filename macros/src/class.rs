//! `#[pyhost::class]` on a struct (the type) and on its `impl` block (the methods).

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::spanned::Spanned;
use syn::{ImplItem, Item, LitStr};

use crate::func::{
    self, CallNames, Callee, FN_OPTIONS, FnOptions, Kind, ParamKind, Receiver, Signature, set_once,
};
use crate::util::{self, Errors};

pub fn class(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Struct(s)) => class_struct(attr, s),
        Ok(Item::Impl(i)) => {
            if !attr.is_empty() {
                return Err(syn::Error::new_spanned(
                    attr,
                    "options go on the struct's #[pyhost::class(...)]; the impl block takes none",
                ));
            }
            class_impl(i)
        }
        Ok(Item::Enum(e)) => Err(syn::Error::new_spanned(
            e.enum_token,
            "#[pyhost::class] goes on a struct or on its impl block; to pass an enum to and \
             from Python, derive `FromPython` and `IntoPython` instead",
        )),
        Ok(other) => Err(syn::Error::new_spanned(
            other,
            "#[pyhost::class] goes on a struct (the class) or on an `impl` block of that \
             struct (its methods)",
        )),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------------
// The struct

fn class_struct(attr: TokenStream, s: syn::ItemStruct) -> syn::Result<TokenStream> {
    let mut name: Option<LitStr> = None;
    let mut module: Option<LitStr> = None;
    let parser = syn::meta::parser(|meta| {
        let p = &meta.path;
        if p.is_ident("name") {
            let lit: LitStr = meta.value()?.parse()?;
            if !util::is_python_identifier(&lit.value()) {
                return Err(syn::Error::new_spanned(
                    &lit,
                    "the class name must be a valid Python identifier",
                ));
            }
            set_once(&mut name, lit, p)
        } else if p.is_ident("module") {
            let lit: LitStr = meta.value()?.parse()?;
            set_once(&mut module, lit, p)
        } else {
            Err(meta.error(format!(
                "unknown option `{}` for #[pyhost::class]: the options are `name = \"...\"` \
                 and `module = \"...\"`",
                p.to_token_stream()
            )))
        }
    });
    syn::parse::Parser::parse2(parser, attr)?;
    if !s.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &s.generics,
            "a #[pyhost::class] cannot be generic (Python needs one class per Rust type): \
             remove the parameters, or wrap each instantiation in its own struct",
        ));
    }
    let ident = &s.ident;
    let py_name = name
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| util::unraw(ident));
    let module = match &module {
        Some(m) => quote!(::std::option::Option::Some(#m)),
        None => quote!(::std::option::Option::None),
    };
    let doc = util::doc_string(&s.attrs);
    if doc.contains('\0') {
        return Err(syn::Error::new_spanned(
            ident,
            "the doc comment contains a NUL character",
        ));
    }
    Ok(quote! {
        #s

        impl ::pyhost::Class for #ident {
            const NAME: &'static str = #py_name;
            const MODULE: ::std::option::Option<&'static str> = #module;
            const DOC: &'static str = #doc;

            fn lazy_type() -> &'static ::pyhost::impl_::LazyType<Self> {
                static TYPE: ::pyhost::impl_::LazyType<#ident> = ::pyhost::impl_::LazyType::new();
                &TYPE
            }

            fn items() -> ::pyhost::impl_::ClassItems {
                #[allow(unused_imports)]
                use ::pyhost::impl_::ClassMethods as _;
                ::pyhost::impl_::Collector::<#ident>::new().items()
            }
        }

        impl ::pyhost::types::PyTypeInfo for #ident {
            const NAME: &'static str = #py_name;

            fn is_type_of(obj: &::pyhost::Object<'_, ::pyhost::types::Any>) -> bool {
                ::pyhost::impl_::is_instance::<#ident>(obj)
            }
        }

        impl ::pyhost::types::ConcreteType for #ident {}

        impl<'py> ::pyhost::IntoPython<'py> for #ident {
            fn into_python(self, py: ::pyhost::Python<'py>)
                -> ::pyhost::Result<::pyhost::Object<'py, ::pyhost::types::Any>>
            {
                ::pyhost::Object::new(py, self).map(::pyhost::Object::into_any)
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The impl block

/// What a method of the impl block is, from its attributes and name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Method,
    Static,
    New,
    Getter,
    Setter,
    Repr,
    Str,
}

struct Method {
    role: Role,
    opts: FnOptions,
    /// The property name given to `#[getter(name)]` / `#[setter(name)]`.
    prop: Option<(String, Span)>,
    role_span: Span,
}

const METHOD_ATTRS: &str = "`#[new]`, `#[getter]`, `#[setter]`, `#[staticmethod]` and \
                            `#[pyhost(...)]`";

/// Reads and removes the pyhost attributes of a method.
fn method_attrs(f: &mut syn::ImplItemFn, errs: &mut Errors) -> Method {
    let mut m = Method {
        role: Role::Method,
        opts: FnOptions::default(),
        prop: None,
        role_span: f.sig.ident.span(),
    };
    let mut role: Option<(Role, Span)> = None;
    let mut set_role = |r: Role, span: Span, errs: &mut Errors| {
        if let Some((_, first)) = role {
            let mut e = syn::Error::new(span, "a method has one role: remove this attribute");
            e.combine(syn::Error::new(first, "the role is already set here"));
            errs.push(e);
        } else {
            role = Some((r, span));
        }
    };
    let mut keep = Vec::new();
    for attr in std::mem::take(&mut f.attrs) {
        let path = attr.path();
        let span = attr.span();
        if path.is_ident("new") {
            if let Err(e) = attr.meta.require_path_only() {
                errs.push(e);
            }
            set_role(Role::New, span, errs);
        } else if path.is_ident("staticmethod") {
            if let Err(e) = attr.meta.require_path_only() {
                errs.push(e);
            }
            set_role(Role::Static, span, errs);
        } else if path.is_ident("getter") || path.is_ident("setter") {
            let r = if path.is_ident("getter") {
                Role::Getter
            } else {
                Role::Setter
            };
            if let syn::Meta::List(l) = &attr.meta {
                match l.parse_args::<syn::Ident>() {
                    Ok(i) => m.prop = Some((util::unraw(&i), i.span())),
                    Err(_) => errs.spanned(
                        &l.tokens,
                        "write the property name as an identifier: `#[getter(name)]`",
                    ),
                }
            }
            set_role(r, span, errs);
        } else if path.is_ident("classmethod") {
            errs.spanned(
                &attr,
                "`#[classmethod]` is not supported: use `#[staticmethod]`, or a module function",
            );
        } else if path.is_ident("pyhost") {
            let r = attr.parse_nested_meta(|meta| {
                if m.opts.parse(&meta)? {
                    return Ok(());
                }
                let p = &meta.path;
                let r = if p.is_ident("new") {
                    Role::New
                } else if p.is_ident("staticmethod") {
                    Role::Static
                } else if p.is_ident("getter") {
                    Role::Getter
                } else if p.is_ident("setter") {
                    Role::Setter
                } else {
                    return Err(meta.error(format!(
                        "unknown method option `{}`: the options are {FN_OPTIONS}, `new`, \
                         `getter`, `setter` and `staticmethod`",
                        p.to_token_stream()
                    )));
                };
                set_role(r, p.span(), errs);
                Ok(())
            });
            if let Err(e) = r {
                errs.push(e);
            }
        } else if path.segments.len() == 1
            && [
                "gettr",
                "gettter",
                "settr",
                "settter",
                "getters",
                "setters",
                "static_method",
                "constructor",
            ]
            .iter()
            .any(|t| path.is_ident(t))
        {
            errs.spanned(
                &attr,
                format!(
                    "unknown method attribute `#[{}]`: the attributes are {METHOD_ATTRS}",
                    path.to_token_stream()
                ),
            );
        } else {
            keep.push(attr);
        }
    }
    f.attrs = keep;
    if let Some((r, span)) = role {
        m.role = r;
        m.role_span = span;
    }
    let name = util::unraw(&f.sig.ident);
    if name.starts_with("__") && name.ends_with("__") && name.len() > 4 {
        match name.as_str() {
            "__repr__" | "__str__" if m.role == Role::Method => {
                m.role = if name == "__repr__" {
                    Role::Repr
                } else {
                    Role::Str
                };
            }
            "__new__" | "__init__" => errs.spanned(
                &f.sig.ident,
                "mark the constructor with `#[new]` (any Rust name) instead of naming it \
                 `__new__`/`__init__`",
            ),
            _ if m.role == Role::Method => errs.spanned(
                &f.sig.ident,
                format!(
                    "the special method `{name}` is not supported: the supported ones are \
                     `__repr__` and `__str__` (rename the method to expose it as a plain method)"
                ),
            ),
            _ => {}
        }
    }
    m
}

fn class_impl(mut imp: syn::ItemImpl) -> syn::Result<TokenStream> {
    if let Some((path, _)) = &imp.trait_ {
        return Err(syn::Error::new_spanned(
            path,
            "#[pyhost::class] goes on an inherent impl block (`impl MyClass { ... }`), not on a \
             trait impl",
        ));
    }
    if !imp.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &imp.generics,
            "a #[pyhost::class] impl block cannot be generic",
        ));
    }
    let self_ty = imp.self_ty.to_token_stream();
    let class_name = match &*imp.self_ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| util::unraw(&s.ident))
            .unwrap_or_default(),
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "#[pyhost::class] goes on `impl MyClass { ... }` for a struct marked \
                 #[pyhost::class]",
            ));
        }
    };

    let mut errs = Errors::default();
    let mut defs = TokenStream::new();
    let mut methods: Vec<TokenStream> = Vec::new();
    let mut props: Vec<Prop> = Vec::new();
    let mut new: Option<TokenStream> = None;
    let mut new_span: Option<Span> = None;
    let mut repr: Option<TokenStream> = None;
    let mut str_: Option<TokenStream> = None;
    let mut py_names: Vec<(String, Span)> = Vec::new();

    for (index, item) in imp.items.iter_mut().enumerate() {
        let ImplItem::Fn(f) = item else { continue };
        let m = method_attrs(f, &mut errs);
        let kind = match m.role {
            Role::Method => Kind::Method,
            Role::Static => Kind::StaticMethod,
            Role::New => Kind::Constructor,
            Role::Getter | Role::Repr | Role::Str => Kind::Unary,
            Role::Setter => Kind::Setter,
        };
        let sig = func::parse_signature(&mut f.sig, kind, &m.opts, &mut errs);
        let ident = f.sig.ident.clone();
        let rust_name = util::unraw(&ident);
        let doc = util::doc_string(&f.attrs);
        let marker = format_ident!("__PyhostItem{}", index);
        let callee = Callee {
            path: quote!(<#self_ty>::#ident),
            self_ty: Some(self_ty.clone()),
        };
        check_role(&m, &sig, f, &mut errs);

        match m.role {
            Role::Method | Role::Static => {
                let py_name = m.opts.name.as_ref().map(LitStr::value).unwrap_or(rust_name);
                if let Some((_, first)) = py_names.iter().find(|(n, _)| *n == py_name) {
                    let mut e = syn::Error::new(
                        ident.span(),
                        format!(
                            "two methods are named `{py_name}` in Python: rename one with \
                             `#[pyhost(name = \"...\")]`"
                        ),
                    );
                    e.combine(syn::Error::new(*first, "the other one"));
                    errs.push(e);
                }
                py_names.push((py_name.clone(), ident.span()));
                let desc_name = format!("{class_name}.{py_name}");
                match func::py_function_impl(
                    &marker.to_token_stream(),
                    &py_name,
                    ident.span(),
                    &sig,
                    &m.opts,
                    &callee,
                    &desc_name,
                    &doc,
                    m.role == Role::Static,
                    func::return_span(&f.sig),
                ) {
                    Ok(t) => {
                        defs.extend(quote!(#[allow(non_camel_case_types)] struct #marker; #t));
                        methods.push(quote!(::pyhost::FunctionDef::new::<#marker>()));
                    }
                    Err(e) => errs.push(e),
                }
            }
            Role::New => {
                if let Some(first) = new_span {
                    let mut e = syn::Error::new(
                        m.role_span,
                        "a class has one `#[new]` constructor: remove this one",
                    );
                    e.combine(syn::Error::new(first, "the first one"));
                    errs.push(e);
                }
                new_span = Some(m.role_span);
                let n = CallNames::new();
                let CallNames { py, slf, args } = &n;
                let stmts = func::call_statements(&sig, &m.opts, &callee, &class_name, &n);
                let into_new = quote::quote_spanned!(func::return_span(&f.sig)=>
                    ::pyhost::impl_::into_new::<#self_ty, _>(__pyhost_ret));
                let text_sig = match &m.opts.text_signature {
                    Some(s) => s.value(),
                    None => sig.text_signature(false),
                };
                defs.extend(quote! {
                    #[allow(non_camel_case_types)]
                    struct #marker;
                    impl ::pyhost::impl_::PyConstructor for #marker {
                        type Class = #self_ty;

                        #[allow(unused_variables, unused_mut)]
                        fn construct<'__pyhost_a, '__pyhost_py>(
                            #py: ::pyhost::Python<'__pyhost_py>,
                            #args: ::pyhost::impl_::FastcallArgs<'__pyhost_a, '__pyhost_py>,
                        ) -> ::pyhost::Result<#self_ty> {
                            let #slf: ::std::option::Option<::pyhost::Borrowed<'__pyhost_a, '__pyhost_py, ::pyhost::types::Any>> =
                                ::std::option::Option::None;
                            #stmts
                            #into_new
                        }
                    }
                });
                new = Some(quote!(::std::option::Option::Some((
                    ::pyhost::impl_::SlotDef::constructor::<#marker>(),
                    #text_sig,
                ))));
            }
            Role::Getter | Role::Repr | Role::Str => {
                let n = CallNames::new();
                let CallNames { py, slf, .. } = &n;
                let stmts = func::call_statements(&sig, &m.opts, &callee, &rust_name, &n);
                let ret = quote::quote_spanned!(func::return_span(&f.sig)=>
                    ::pyhost::impl_::into_return(#py, __pyhost_ret));
                defs.extend(quote! {
                    #[allow(non_camel_case_types)]
                    struct #marker;
                    impl ::pyhost::impl_::PyUnary for #marker {
                        #[allow(unused_variables)]
                        fn call<'__pyhost_py>(
                            #py: ::pyhost::Python<'__pyhost_py>,
                            #slf: ::pyhost::Borrowed<'_, '__pyhost_py, ::pyhost::types::Any>,
                        ) -> ::pyhost::Result<::pyhost::Object<'__pyhost_py, ::pyhost::types::Any>> {
                            let #slf = ::std::option::Option::Some(#slf);
                            #stmts
                            #ret
                        }
                    }
                });
                match m.role {
                    Role::Repr => repr = Some(quote!(::pyhost::impl_::SlotDef::unary::<#marker>())),
                    Role::Str => str_ = Some(quote!(::pyhost::impl_::SlotDef::unary::<#marker>())),
                    _ => {
                        let (name, span) = m.prop.clone().unwrap_or_else(|| {
                            let n = rust_name.strip_prefix("get_").unwrap_or(&rust_name);
                            (n.to_owned(), ident.span())
                        });
                        add_prop(
                            &mut props,
                            name,
                            span,
                            Some(marker.clone()),
                            None,
                            doc,
                            &mut errs,
                        );
                    }
                }
            }
            Role::Setter => {
                let (name, span) = m.prop.clone().unwrap_or_else(|| {
                    let n = rust_name.strip_prefix("set_").unwrap_or(&rust_name);
                    (n.to_owned(), ident.span())
                });
                let n = CallNames::new();
                let CallNames { py, slf, .. } = &n;
                let full = format!("{class_name}.{name}");
                let (value_var, stmts) = setter_statements(&sig, &m.opts, &callee, &full, &n);
                let ret = quote::quote_spanned!(func::return_span(&f.sig)=>
                    ::pyhost::impl_::setter_result(__pyhost_ret));
                defs.extend(quote! {
                    #[allow(non_camel_case_types)]
                    struct #marker;
                    impl ::pyhost::impl_::PySetter for #marker {
                        const NAME: &'static str = #full;

                        #[allow(unused_variables, unused_mut)]
                        fn set<'__pyhost_py>(
                            #py: ::pyhost::Python<'__pyhost_py>,
                            #slf: ::pyhost::Borrowed<'_, '__pyhost_py, ::pyhost::types::Any>,
                            #value_var: ::pyhost::Borrowed<'_, '__pyhost_py, ::pyhost::types::Any>,
                        ) -> ::pyhost::Result<()> {
                            let #slf = ::std::option::Option::Some(#slf);
                            #stmts
                            #ret
                        }
                    }
                });
                add_prop(
                    &mut props,
                    name,
                    span,
                    None,
                    Some(marker.clone()),
                    doc,
                    &mut errs,
                );
            }
        }
    }
    for p in &props {
        if let Some((_, span)) = py_names.iter().find(|(n, _)| *n == p.name) {
            let mut e = syn::Error::new(
                *span,
                format!(
                    "`{}` is both a method and a property in Python: rename one with \
                     `#[pyhost(name = \"...\")]` or `#[getter(name)]`",
                    p.name
                ),
            );
            e.combine(syn::Error::new(p.span, "the property"));
            errs.push(e);
        }
    }
    if let Some(e) = errs.to_compile_errors() {
        return Ok(quote!(#imp #e));
    }

    let nmethods = methods.len();
    let mut getset = Vec::new();
    for p in &props {
        let cname = util::c_str(&p.name, p.span, "the property name")?;
        let cdoc = util::c_str(&p.doc, p.span, "the doc comment")?;
        let mut def = quote!(::pyhost::impl_::GetSetDef::new(#cname, #cdoc));
        if let Some(g) = &p.getter {
            def = quote!(#def.getter::<#g>());
        }
        if let Some(s) = &p.setter {
            def = quote!(#def.setter::<#s>());
        }
        getset.push(def);
    }
    let ngetset = getset.len();
    let new = new.unwrap_or_else(|| quote!(::std::option::Option::None));
    let repr = repr.map_or_else(
        || quote!(::std::option::Option::None),
        |r| quote!(::std::option::Option::Some(#r)),
    );
    let str_ = str_.map_or_else(
        || quote!(::std::option::Option::None),
        |r| quote!(::std::option::Option::Some(#r)),
    );

    Ok(quote! {
        #imp

        const _: () = {
            #defs

            impl ::pyhost::impl_::ClassMethods<#self_ty> for ::pyhost::impl_::Collector<#self_ty> {
                fn items(self) -> ::pyhost::impl_::ClassItems {
                    static METHODS: [::pyhost::FunctionDef; #nmethods] = [#(#methods),*];
                    static GETSET: [::pyhost::impl_::GetSetDef; #ngetset] = [#(#getset),*];
                    ::pyhost::impl_::ClassItems {
                        methods: &METHODS,
                        getset: &GETSET,
                        new: #new,
                        repr: #repr,
                        str: #str_,
                    }
                }
            }
        };
    })
}

struct Prop {
    name: String,
    span: Span,
    getter: Option<syn::Ident>,
    setter: Option<syn::Ident>,
    doc: String,
}

fn add_prop(
    props: &mut Vec<Prop>,
    name: String,
    span: Span,
    getter: Option<syn::Ident>,
    setter: Option<syn::Ident>,
    doc: String,
    errs: &mut Errors,
) {
    if !util::is_python_identifier(&name) {
        errs.push(syn::Error::new(
            span,
            format!("`{name}` is not a valid Python attribute name"),
        ));
        return;
    }
    match props.iter_mut().find(|p| p.name == name) {
        Some(p) => {
            let which = if getter.is_some() { "getter" } else { "setter" };
            let dup = (getter.is_some() && p.getter.is_some())
                || (setter.is_some() && p.setter.is_some());
            if dup {
                let mut e = syn::Error::new(
                    span,
                    format!("property `{name}` already has a {which}: remove one"),
                );
                e.combine(syn::Error::new(p.span, "the first one"));
                errs.push(e);
                return;
            }
            if p.getter.is_none() {
                p.getter = getter;
            }
            if p.setter.is_none() {
                p.setter = setter;
            }
            if p.doc.is_empty() {
                p.doc = doc;
            }
        }
        None => props.push(Prop {
            name,
            span,
            getter,
            setter,
            doc,
        }),
    }
}

/// Checks that a method's signature fits its role.
fn check_role(m: &Method, sig: &Signature, f: &syn::ImplItemFn, errs: &mut Errors) {
    let ident = &f.sig.ident;
    let python_params: Vec<_> = sig.python_params().collect();
    match m.role {
        Role::Method => {
            if sig.receiver == Receiver::None {
                errs.spanned(
                    ident,
                    "a method takes `&self` or `&mut self`; mark methods without an instance \
                     `#[staticmethod]`",
                );
            }
        }
        Role::Getter | Role::Repr | Role::Str => {
            let what = match m.role {
                Role::Getter => "a `#[getter]`",
                Role::Repr => "`__repr__`",
                _ => "`__str__`",
            };
            if sig.receiver != Receiver::Ref {
                errs.spanned(ident, format!("{what} takes `&self`"));
            }
            for p in python_params {
                errs.spanned(
                    &p.ty,
                    format!(
                        "{what} takes only `&self` (and optionally `Python<'py>`): remove this \
                         parameter"
                    ),
                );
            }
            if matches!(f.sig.output, syn::ReturnType::Default) {
                errs.spanned(ident, format!("{what} must return a value"));
            }
        }
        Role::Setter => {
            if sig.receiver == Receiver::None {
                errs.spanned(ident, "a `#[setter]` takes `&mut self` and the new value");
            }
            let values = python_params.len();
            if values != 1 {
                errs.spanned(
                    ident,
                    "a `#[setter]` takes `&mut self` and exactly one value parameter (and \
                     optionally `Python<'py>`)",
                );
            } else if !matches!(python_params[0].kind, ParamKind::Arg { .. }) {
                errs.spanned(
                    &python_params[0].ty,
                    "the value of a `#[setter]` is a plain parameter, not `*args`/`**kwargs`",
                );
            }
        }
        Role::New => {
            if matches!(f.sig.output, syn::ReturnType::Default) {
                errs.spanned(
                    ident,
                    "a `#[new]` constructor returns `Self` (or `Result<Self, E>`)",
                );
            }
        }
        Role::Static => {}
    }
    if m.opts.release_gil.is_some()
        && matches!(m.role, Role::Getter | Role::Setter | Role::Repr | Role::Str)
    {
        errs.push(syn::Error::new(
            m.opts.release_gil.unwrap_or_else(Span::call_site),
            "`release_gil` is for methods and functions doing blocking work, not for getters, \
             setters, `__repr__` or `__str__`",
        ));
    }
}

/// A setter body: converts the value, borrows the instance mutably, calls.
fn setter_statements(
    sig: &Signature,
    opts: &FnOptions,
    callee: &Callee,
    full_name: &str,
    n: &CallNames,
) -> (syn::Ident, TokenStream) {
    let value = format_ident!("__pyhost_value");
    let CallNames { py, slf, .. } = n;
    let mut args = Vec::new();
    let mut stmts = TokenStream::new();
    for p in &sig.params {
        match &p.kind {
            ParamKind::Python => args.push(quote!(#py)),
            _ => {
                let ty = &p.ty;
                stmts.extend(quote::quote_spanned! {ty.span()=>
                    let __pyhost_converted = ::pyhost::impl_::setter_value(#value, #full_name)?;
                });
                args.push(quote!(__pyhost_converted));
            }
        }
    }
    let self_ty = callee.self_ty.as_ref().expect("a setter is in a class");
    let recv = match sig.receiver {
        Receiver::Mut => quote! {
            let mut __pyhost_self = ::pyhost::impl_::self_mut::<#self_ty>(#slf)?;
            let __pyhost_recv = &mut *__pyhost_self;
        },
        _ => quote! {
            let __pyhost_self = ::pyhost::impl_::self_ref::<#self_ty>(#slf)?;
            let __pyhost_recv = &*__pyhost_self;
        },
    };
    let path = &callee.path;
    stmts.extend(quote! {
        #recv
        let __pyhost_ret = #path(__pyhost_recv, #(#args),*);
    });
    if let Some(class) = &opts.error {
        let class = match class {
            func::ErrorClass::Builtin(i) => {
                quote::quote_spanned!(i.span()=> ::pyhost::ExceptionType::#i)
            }
            func::ErrorClass::Function(p) => quote::quote_spanned!(p.span()=> #p(#py)),
        };
        stmts.extend(quote! {
            let __pyhost_ret = ::pyhost::impl_::map_error(__pyhost_ret, || #class);
        });
    }
    (value, stmts)
}
