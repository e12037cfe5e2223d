//! Helpers shared by the macros: doc comments, C string literals, errors, type inspection.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Attribute, Expr, ExprLit, Lit, Meta, Type};

/// The doc comment of an item, as Python shows a docstring: lines joined with `\n`, the common
/// indentation removed, blank lines at both ends dropped.
pub fn doc_string(attrs: &[Attribute]) -> String {
    let mut lines: Vec<String> = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let Meta::NameValue(nv) = &attr.meta {
            if let Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
            {
                lines.extend(s.value().split('\n').map(str::to_owned));
            }
        }
    }
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let lines: Vec<&str> = lines
        .iter()
        .map(|l| {
            if l.len() >= indent {
                &l[indent..]
            } else {
                l.trim_start()
            }
        })
        .map(str::trim_end)
        .collect();
    let start = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(start, |e| e + 1);
    lines[start..end].join("\n")
}

/// A C string literal (`c"..."`), or an error naming `what` when `text` has a NUL byte.
pub fn c_str(text: &str, span: Span, what: &str) -> syn::Result<TokenStream> {
    let c = std::ffi::CString::new(text).map_err(|_| {
        syn::Error::new(
            span,
            format!("{what} contains a NUL character, which Python cannot hold in a C string"),
        )
    })?;
    Ok(syn::LitCStr::new(&c, span).into_token_stream())
}

/// Collects errors so that one macro run reports all of them.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// The errors as `compile_error!` invocations, if any.
    pub fn to_compile_errors(&self) -> Option<TokenStream> {
        self.0.as_ref().map(syn::Error::to_compile_error)
    }

    pub fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The last path segment of a type (`Option` for `std::option::Option<T>`), if it is a path.
pub fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

/// Whether the type is spelled `Option<…>`.
pub fn is_option(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "Option")
}

/// Whether the type is spelled `Python<…>` (the GIL token).
pub fn is_python_token(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "Python")
}

/// Whether the type contains `impl Trait` anywhere.
pub fn contains_impl_trait(ty: &Type) -> bool {
    fn walk(ts: TokenStream) -> bool {
        ts.into_iter().any(|t| match t {
            TokenTree::Ident(i) => i == "impl",
            TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(ty.to_token_stream())
}

/// Replaces `Self` in `tokens` with `with` (for default expressions written inside an `impl`
/// block, evaluated by generated code where `Self` means something else).
pub fn replace_self(tokens: TokenStream, with: &TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .flat_map(|t| -> Vec<TokenTree> {
            match t {
                TokenTree::Ident(i) if i == "Self" => with.clone().into_iter().collect(),
                TokenTree::Group(g) => {
                    let mut ng =
                        proc_macro2::Group::new(g.delimiter(), replace_self(g.stream(), with));
                    ng.set_span(g.span());
                    vec![TokenTree::Group(ng)]
                }
                other => vec![other],
            }
        })
        .collect()
}

/// The Python form of a default value for `__text_signature__`, when the Rust expression is a
/// literal Python reads the same way; `...` otherwise (which `inspect` shows as `Ellipsis`).
pub fn python_default(expr: &Expr) -> String {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => python_literal(lit).unwrap_or_else(|| "...".into()),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => match &*u.expr {
            Expr::Lit(ExprLit {
                lit: lit @ (Lit::Int(_) | Lit::Float(_)),
                ..
            }) => format!("-{}", python_literal(lit).unwrap_or_default()),
            _ => "...".into(),
        },
        Expr::Path(p) if p.path.is_ident("None") => "None".into(),
        Expr::Group(g) => python_default(&g.expr),
        Expr::Paren(p) => python_default(&p.expr),
        _ => "...".into(),
    }
}

fn python_literal(lit: &Lit) -> Option<String> {
    Some(match lit {
        Lit::Int(i) => i.base10_digits().to_owned(),
        Lit::Float(f) => {
            let d = f.base10_digits();
            if d.contains(['.', 'e', 'E']) {
                d.to_owned()
            } else {
                format!("{d}.0")
            }
        }
        Lit::Bool(b) => if b.value { "True" } else { "False" }.to_owned(),
        Lit::Str(s) => python_str(&s.value()),
        Lit::Char(c) => python_str(&c.value().to_string()),
        _ => return None,
    })
}

/// A Python string literal.
fn python_str(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The default `Default::default()` value of common types, in Python, for the text signature.
pub fn python_default_of_type(ty: &Type) -> String {
    let Some(seg) = last_segment(ty) else {
        if let Type::Reference(r) = ty {
            return python_default_of_type(&r.elem);
        }
        return "...".into();
    };
    match seg.ident.to_string().as_str() {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "usize" => "0".into(),
        "f32" | "f64" => "0.0".into(),
        "bool" => "False".into(),
        "String" | "str" => "''".into(),
        "Option" => "None".into(),
        "Vec" | "VecDeque" => "[]".into(),
        "HashMap" | "BTreeMap" => "{}".into(),
        _ => "...".into(),
    }
}

/// A Rust identifier without its raw prefix (`r#type` → `type`).
pub fn unraw(ident: &syn::Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}

/// Whether `s` is a valid Python identifier (ASCII subset: what parameter and attribute names
/// need).
pub fn is_python_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// The visibility, written inside a module nested in the item's scope, that reaches as far as
/// `vis` reaches from the item's scope.
pub fn inner_visibility(vis: &syn::Visibility) -> TokenStream {
    use quote::quote;
    match vis {
        syn::Visibility::Public(_) => quote!(pub),
        syn::Visibility::Inherited => quote!(pub(super)),
        syn::Visibility::Restricted(r) => {
            let path = &r.path;
            if path.is_ident("crate") {
                quote!(pub(crate))
            } else if path.is_ident("self") {
                quote!(pub(super))
            } else if path.is_ident("super") {
                quote!(pub(in super::super))
            } else if path.segments.first().is_some_and(|s| s.ident == "crate") {
                quote!(pub(in #path))
            } else {
                quote!(pub(super))
            }
        }
    }
}
