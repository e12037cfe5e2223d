//! `#[derive(FromPython)]` and `#[derive(IntoPython)]`.
//!
//! - A struct with named fields converts from a dict (its keys) or any object (its
//!   attributes), and to a dict.
//! - A tuple struct converts like a tuple of its fields; a one-field tuple struct (newtype)
//!   like its field.
//! - An enum whose variants are all units converts from and to a `str` (the variant name).
//! - Any other enum converts from and to a tagged dict: `{"type": "Circle", "radius": 1.0}`;
//!   its variants are units or have named fields.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Expr, Fields, LitStr};

use crate::func::set_once;
use crate::util::{self, Errors};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    From,
    Into,
}

/// Options on the type: `#[pyhost(rename_all = "...", tag = "...")]`.
#[derive(Default)]
struct ContainerOptions {
    rename_all: Option<(Case, Span)>,
    tag: Option<LitStr>,
}

/// Options on a field or variant.
#[derive(Default)]
struct ItemOptions {
    rename: Option<LitStr>,
    default: Option<(Option<Expr>, Span)>,
}

#[derive(Clone, Copy)]
enum Case {
    Lower,
    Upper,
    Snake,
    ScreamingSnake,
    Camel,
    Pascal,
    Kebab,
}

const CASES: &str = "\"lowercase\", \"UPPERCASE\", \"snake_case\", \"SCREAMING_SNAKE_CASE\", \
                     \"camelCase\", \"PascalCase\" and \"kebab-case\"";

impl Case {
    fn parse(s: &LitStr) -> syn::Result<Case> {
        Ok(match s.value().as_str() {
            "lowercase" => Case::Lower,
            "UPPERCASE" => Case::Upper,
            "snake_case" => Case::Snake,
            "SCREAMING_SNAKE_CASE" => Case::ScreamingSnake,
            "camelCase" => Case::Camel,
            "PascalCase" => Case::Pascal,
            "kebab-case" => Case::Kebab,
            _ => {
                return Err(syn::Error::new_spanned(
                    s,
                    format!("unknown case: the cases are {CASES}"),
                ));
            }
        })
    }

    /// Applies the case to a Rust name (`snake_case` field or `PascalCase` variant).
    fn apply(self, name: &str) -> String {
        let words = words(name);
        let cap = |w: &str| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f
                    .to_uppercase()
                    .chain(c.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        };
        match self {
            Case::Lower => words.concat().to_lowercase(),
            Case::Upper => words.concat().to_uppercase(),
            Case::Snake => words.join("_").to_lowercase(),
            Case::ScreamingSnake => words.join("_").to_uppercase(),
            Case::Kebab => words.join("-").to_lowercase(),
            Case::Pascal => words.iter().map(|w| cap(w)).collect(),
            Case::Camel => words
                .iter()
                .enumerate()
                .map(|(i, w)| if i == 0 { w.to_lowercase() } else { cap(w) })
                .collect(),
        }
    }
}

/// Splits `snake_case` or `PascalCase` into words.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in name.chars() {
        if c == '_' {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else if c.is_uppercase() && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            cur.push(c);
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn container_options(input: &DeriveInput, errs: &mut Errors) -> ContainerOptions {
    let mut o = ContainerOptions::default();
    for attr in &input.attrs {
        if !attr.path().is_ident("pyhost") {
            continue;
        }
        let r = attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            if p.is_ident("rename_all") {
                let lit: LitStr = meta.value()?.parse()?;
                set_once(&mut o.rename_all, (Case::parse(&lit)?, lit.span()), p)
            } else if p.is_ident("tag") {
                let lit: LitStr = meta.value()?.parse()?;
                set_once(&mut o.tag, lit, p)
            } else {
                Err(meta.error(format!(
                    "unknown option `{}` on the type: the options are `rename_all = \"...\"` \
                     and, for enums, `tag = \"...\"`",
                    p.to_token_stream()
                )))
            }
        });
        if let Err(e) = r {
            errs.push(e);
        }
    }
    o
}

fn item_options(attrs: &[syn::Attribute], variant: bool, errs: &mut Errors) -> ItemOptions {
    let mut o = ItemOptions::default();
    for attr in attrs {
        if !attr.path().is_ident("pyhost") {
            continue;
        }
        let r = attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            if p.is_ident("rename") {
                let lit: LitStr = meta.value()?.parse()?;
                set_once(&mut o.rename, lit, p)
            } else if p.is_ident("default") && !variant {
                let expr = if meta.input.peek(syn::Token![=]) {
                    Some(meta.value()?.parse::<Expr>()?)
                } else {
                    None
                };
                set_once(&mut o.default, (expr, p.span()), p)
            } else {
                Err(meta.error(format!(
                    "unknown option `{}`: the options are {}",
                    p.to_token_stream(),
                    if variant {
                        "`rename = \"...\"`"
                    } else {
                        "`rename = \"...\"`, `default` and `default = <expr>`"
                    }
                )))
            }
        });
        if let Err(e) = r {
            errs.push(e);
        }
    }
    o
}

pub fn derive(input: TokenStream, dir: Direction) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let mut errs = Errors::default();
    let opts = container_options(&input, &mut errs);
    let trait_name = match dir {
        Direction::From => "FromPython",
        Direction::Into => "IntoPython",
    };
    if let Some(l) = input.generics.lifetimes().next() {
        errs.spanned(
            l,
            format!(
                "#[derive({trait_name})] does not support lifetime parameters: use owned field \
                 types (`String` instead of `&str`)"
            ),
        );
    }
    if let Some(c) = input.generics.const_params().next() {
        errs.spanned(
            c,
            format!("#[derive({trait_name})] does not support const parameters"),
        );
    }
    let body = match &input.data {
        Data::Struct(s) => {
            if let Some(t) = &opts.tag {
                errs.spanned(t, "`tag` is for enums with data: remove it");
            }
            struct_body(&input, &s.fields, &opts, dir, &mut errs)
        }
        Data::Enum(e) => enum_body(&input, e, &opts, dir, &mut errs),
        Data::Union(u) => {
            errs.spanned(
                u.union_token,
                format!("#[derive({trait_name})] works on structs and enums, not unions"),
            );
            TokenStream::new()
        }
    };
    errs.finish()?;

    let ident = &input.ident;
    let mut generics = input.generics.clone();
    let type_params: Vec<_> = generics.type_params().map(|t| t.ident.clone()).collect();
    {
        let wc = generics.make_where_clause();
        for t in &type_params {
            wc.predicates.push(match dir {
                Direction::From => syn::parse_quote!(#t: ::pyhost::FromPythonOwned<'py>),
                Direction::Into => syn::parse_quote!(#t: ::pyhost::IntoPython<'py>),
            });
        }
    }
    let (_, ty_generics, where_clause) = generics.split_for_impl();
    let params = &input.generics.params;
    let params = if params.is_empty() {
        quote!()
    } else {
        quote!(, #params)
    };
    Ok(match dir {
        Direction::From => quote! {
            impl<'__pyhost_a, 'py #params> ::pyhost::FromPython<'__pyhost_a, 'py> for #ident #ty_generics #where_clause {
                fn from_python(
                    obj: ::pyhost::Borrowed<'__pyhost_a, 'py, ::pyhost::types::Any>,
                ) -> ::pyhost::Result<Self> {
                    #body
                }
            }
        },
        Direction::Into => quote! {
            impl<'py #params> ::pyhost::IntoPython<'py> for #ident #ty_generics #where_clause {
                fn into_python(
                    self,
                    py: ::pyhost::Python<'py>,
                ) -> ::pyhost::Result<::pyhost::Object<'py, ::pyhost::types::Any>> {
                    #body
                }
            }
        },
    })
}

/// The Python name of a field or variant.
fn py_name(ident: &syn::Ident, o: &ItemOptions, case: Option<Case>) -> String {
    match (&o.rename, case) {
        (Some(r), _) => r.value(),
        (None, Some(c)) => c.apply(&util::unraw(ident)),
        (None, None) => util::unraw(ident),
    }
}

/// Reading named fields from `__pyhost_fields` (FromPython).
fn read_fields(
    fields: &syn::FieldsNamed,
    case: Option<Case>,
    errs: &mut Errors,
) -> (Vec<String>, TokenStream) {
    let mut names = Vec::new();
    let mut inits = TokenStream::new();
    for f in &fields.named {
        let o = item_options(&f.attrs, false, errs);
        let ident = f.ident.as_ref().expect("named field");
        let key = py_name(ident, &o, case);
        if names.contains(&key) {
            errs.spanned(
                ident,
                format!("two fields are named `{key}` in Python: rename one"),
            );
        }
        names.push(key.clone());
        let span = f.ty.span();
        let read = match &o.default {
            Some((Some(e), _)) => {
                quote_spanned_ext(span, quote!(__pyhost_fields.with_default(#key, || #e)?))
            }
            Some((None, _)) => quote_spanned_ext(
                span,
                quote!(__pyhost_fields.with_default(#key, ::std::default::Default::default)?),
            ),
            None if util::is_option(&f.ty) => quote_spanned_ext(
                span,
                quote!(__pyhost_fields.with_default(#key, || ::std::option::Option::None)?),
            ),
            None => quote_spanned_ext(span, quote!(__pyhost_fields.required(#key)?)),
        };
        inits.extend(quote!(#ident: #read,));
    }
    (names, inits)
}

fn quote_spanned_ext(span: Span, t: TokenStream) -> TokenStream {
    quote::quote_spanned!(span=> #t)
}

/// Writing named fields into `__pyhost_dict` (IntoPython): the destructuring pattern (fields
/// bound to `__pyhost_fN`) and the writes.
fn write_fields(
    fields: &syn::FieldsNamed,
    case: Option<Case>,
    errs: &mut Errors,
) -> (TokenStream, TokenStream) {
    let mut out = TokenStream::new();
    let mut pattern = TokenStream::new();
    let mut names = Vec::new();
    for f in &fields.named {
        let o = item_options(&f.attrs, false, errs);
        let ident = f.ident.as_ref().expect("named field");
        let key = py_name(ident, &o, case);
        if names.contains(&key) {
            errs.spanned(
                ident,
                format!("two fields are named `{key}` in Python: rename one"),
            );
        }
        names.push(key.clone());
        let binding = quote::format_ident!("__pyhost_f{}", names.len());
        pattern.extend(quote!(#ident: #binding,));
        out.extend(quote!(__pyhost_dict.set_item(#key, #binding)?;));
    }
    (pattern, out)
}

fn struct_body(
    input: &DeriveInput,
    fields: &Fields,
    opts: &ContainerOptions,
    dir: Direction,
    errs: &mut Errors,
) -> TokenStream {
    let ident = &input.ident;
    let type_name = util::unraw(ident);
    let case = opts.rename_all.map(|c| c.0);
    match (fields, dir) {
        (Fields::Named(named), Direction::From) => {
            let (_, inits) = read_fields(named, case, errs);
            quote! {
                let __pyhost_fields = ::pyhost::impl_::derive::Fields::new(obj, #type_name);
                ::std::result::Result::Ok(#ident { #inits })
            }
        }
        (Fields::Named(named), Direction::Into) => {
            let (pattern, writes) = write_fields(named, case, errs);
            quote! {
                let #ident { #pattern } = self;
                let __pyhost_dict = ::pyhost::impl_::derive::new_dict(py);
                #writes
                ::std::result::Result::Ok(__pyhost_dict.into_any())
            }
        }
        (Fields::Unnamed(u), dir) => {
            for f in &u.unnamed {
                for attr in &f.attrs {
                    if attr.path().is_ident("pyhost") {
                        errs.spanned(
                            attr,
                            "fields of a tuple struct convert by position: they take no options",
                        );
                    }
                }
            }
            let n = u.unnamed.len();
            let idx: Vec<syn::Index> = (0..n).map(syn::Index::from).collect();
            match (n, dir) {
                (1, Direction::From) => {
                    let ty = &u.unnamed[0].ty;
                    quote! {
                        ::std::result::Result::Ok(#ident(
                            <#ty as ::pyhost::FromPython<'__pyhost_a, 'py>>::from_python(obj)?
                        ))
                    }
                }
                (1, Direction::Into) => quote! {
                    ::pyhost::IntoPython::into_python(self.0, py)
                },
                (_, Direction::From) => {
                    let tys = u.unnamed.iter().map(|f| &f.ty);
                    quote! {
                        let __pyhost_t: (#(#tys,)*) = ::pyhost::FromPython::from_python(obj)?;
                        ::std::result::Result::Ok(#ident(#(__pyhost_t.#idx),*))
                    }
                }
                (_, Direction::Into) => quote! {
                    ::pyhost::IntoPython::into_python((#(self.#idx,)*), py)
                },
            }
        }
        (Fields::Unit, _) => {
            errs.spanned(
                ident,
                "a unit struct has no data to convert: give it fields, or convert `()`",
            );
            TokenStream::new()
        }
    }
}

fn enum_body(
    input: &DeriveInput,
    e: &syn::DataEnum,
    opts: &ContainerOptions,
    dir: Direction,
    errs: &mut Errors,
) -> TokenStream {
    let ident = &input.ident;
    let type_name = util::unraw(ident);
    let case = opts.rename_all.map(|c| c.0);
    if e.variants.is_empty() {
        errs.spanned(ident, "an enum without variants has no value to convert");
        return TokenStream::new();
    }
    let all_units = e.variants.iter().all(|v| matches!(v.fields, Fields::Unit));
    let mut names = Vec::new();
    for v in &e.variants {
        let o = item_options(&v.attrs, true, errs);
        let name = py_name(&v.ident, &o, case);
        if names.contains(&name) {
            errs.spanned(
                &v.ident,
                format!("two variants are named `{name}` in Python: rename one"),
            );
        }
        names.push(name);
        if let Fields::Unnamed(u) = &v.fields {
            errs.spanned(
                u,
                "tuple variants are not supported: give the variant named fields (it converts \
                 to a dict tagged with the variant name)",
            );
        }
    }

    if all_units {
        if let Some(t) = &opts.tag {
            errs.spanned(
                t,
                "an enum of unit variants converts to a `str`: `tag` does not apply, remove it",
            );
        }
        let vars: Vec<_> = e.variants.iter().map(|v| &v.ident).collect();
        return match dir {
            Direction::From => quote! {
                let __pyhost_name = ::pyhost::impl_::derive::variant_name(obj, #type_name)?;
                match __pyhost_name {
                    #(#names => ::std::result::Result::Ok(#ident::#vars),)*
                    other => ::std::result::Result::Err(
                        ::pyhost::impl_::derive::unknown_variant(#type_name, other, &[#(#names),*])
                    ),
                }
            },
            Direction::Into => quote! {
                let __pyhost_name = match self { #(#ident::#vars => #names,)* };
                ::pyhost::impl_::derive::variant_str(py, __pyhost_name)
            },
        };
    }

    let tag = opts
        .tag
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| "type".to_owned());
    let mut arms = TokenStream::new();
    for (v, name) in e.variants.iter().zip(&names) {
        let vi = &v.ident;
        match (&v.fields, dir) {
            (Fields::Unit, Direction::From) => arms.extend(quote! {
                #name => ::std::result::Result::Ok(#ident::#vi),
            }),
            (Fields::Unit, Direction::Into) => arms.extend(quote! {
                #ident::#vi => {
                    let __pyhost_dict = ::pyhost::impl_::derive::new_dict(py);
                    __pyhost_dict.set_item(#tag, #name)?;
                    ::std::result::Result::Ok(__pyhost_dict.into_any())
                }
            }),
            (Fields::Named(named), Direction::From) => {
                let (keys, inits) = read_fields(named, None, errs);
                if keys.contains(&tag) {
                    errs.spanned(
                        vi,
                        format!("a field is named `{tag}`, like the tag: rename it or set `tag`"),
                    );
                }
                arms.extend(quote! {
                    #name => ::std::result::Result::Ok(#ident::#vi { #inits }),
                });
            }
            (Fields::Named(named), Direction::Into) => {
                let (pattern, writes) = write_fields(named, None, errs);
                arms.extend(quote! {
                    #ident::#vi { #pattern } => {
                        let __pyhost_dict = ::pyhost::impl_::derive::new_dict(py);
                        __pyhost_dict.set_item(#tag, #name)?;
                        #writes
                        ::std::result::Result::Ok(__pyhost_dict.into_any())
                    }
                });
            }
            (Fields::Unnamed(_), _) => {}
        }
    }
    match dir {
        Direction::From => quote! {
            let (__pyhost_fields, __pyhost_tag) =
                ::pyhost::impl_::derive::tagged(obj, #type_name, #tag)?;
            let _ = &__pyhost_fields;
            match __pyhost_tag.as_str() {
                #arms
                other => ::std::result::Result::Err(
                    ::pyhost::impl_::derive::unknown_variant(#type_name, other, &[#(#names),*])
                ),
            }
        },
        Direction::Into => quote! {
            match self { #arms }
        },
    }
}
