//! Binding call arguments to parameters: the static description of a function's Python
//! signature ([`FunctionDescription`]) and the matching of positional and keyword arguments to
//! its parameter slots, with CPython's error messages.
//!
//! Nothing here touches the interpreter: the matching is generic over the argument value type,
//! so unit tests (and miri) exercise it with plain integers.

use std::fmt;

/// A keyword-only parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeywordOnly {
    /// Its Python name.
    pub name: &'static str,
    /// Whether the call must supply it (it has no default).
    pub required: bool,
}

/// The Python signature of a function written in Rust, as `#[pyhost::function]` generates it:
/// `name(p0, p1=…, /, p2, *args, k0, k1=…, **kwargs)`.
///
/// Parameters that take values from the call are numbered in one sequence: the positional ones
/// first (positional-only, then positional-or-keyword), then the keyword-only ones. The slot of
/// parameter `i` holds its argument after [`FunctionDescription::bind`].
#[derive(Debug, Clone, Copy)]
pub struct FunctionDescription {
    /// The name used in error messages: `add`, or `Counter.incr` for a method.
    pub name: &'static str,
    /// The positional parameters (positional-only first), in order.
    pub positional: &'static [&'static str],
    /// How many of `positional` are positional-only (cannot be passed by keyword).
    pub positional_only: usize,
    /// How many of `positional` are required: the first `required_positional`; the rest have
    /// defaults (as in Python, defaults are trailing).
    pub required_positional: usize,
    /// The keyword-only parameters.
    pub keyword_only: &'static [KeywordOnly],
    /// Whether extra positional arguments are accepted (`*args`).
    pub varargs: bool,
    /// Whether unknown keyword arguments are accepted (`**kwargs`).
    pub varkw: bool,
}

/// Why a call's arguments do not fit a [`FunctionDescription`]. `Display` gives CPython's
/// message for the same situation in a function defined in Python.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgError {
    /// More positional arguments than positional parameters, and no `*args`.
    TooManyPositional {
        /// The function.
        function: &'static str,
        /// How many positional parameters it has.
        max: usize,
        /// How many of them are required (`max` when none has a default).
        required: usize,
        /// How many positional arguments were given.
        given: usize,
        /// How many keyword-only arguments were given too.
        keyword_only_given: usize,
    },
    /// Required parameters without an argument.
    Missing {
        /// The function.
        function: &'static str,
        /// `"positional"` or `"keyword-only"`.
        kind: &'static str,
        /// The parameters, in order.
        names: Vec<&'static str>,
    },
    /// A keyword argument that names no parameter, and no `**kwargs`.
    UnexpectedKeyword {
        /// The function.
        function: &'static str,
        /// The keyword.
        name: String,
    },
    /// An argument given both by position and by keyword.
    MultipleValues {
        /// The function.
        function: &'static str,
        /// The parameter.
        name: &'static str,
    },
    /// Positional-only parameters passed by keyword, and no `**kwargs`.
    PositionalOnlyAsKeyword {
        /// The function.
        function: &'static str,
        /// The parameters.
        names: Vec<&'static str>,
    },
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::TooManyPositional {
                function,
                max,
                required,
                given,
                keyword_only_given,
            } => {
                let (sig, plural) = if required < max {
                    (format!("from {required} to {max}"), true)
                } else {
                    (max.to_string(), *max != 1)
                };
                let kw = if *keyword_only_given > 0 {
                    format!(
                        " positional argument{} (and {} keyword-only argument{})",
                        if *given != 1 { "s" } else { "" },
                        keyword_only_given,
                        if *keyword_only_given != 1 { "s" } else { "" }
                    )
                } else {
                    String::new()
                };
                write!(
                    f,
                    "{function}() takes {sig} positional argument{} but {given}{kw} {} given",
                    if plural { "s" } else { "" },
                    if *given == 1 && *keyword_only_given == 0 {
                        "was"
                    } else {
                        "were"
                    }
                )
            }
            ArgError::Missing {
                function,
                kind,
                names,
            } => write!(
                f,
                "{function}() missing {} required {kind} argument{}: {}",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                name_list(names)
            ),
            ArgError::UnexpectedKeyword { function, name } => {
                write!(
                    f,
                    "{function}() got an unexpected keyword argument '{name}'"
                )
            }
            ArgError::MultipleValues { function, name } => {
                write!(f, "{function}() got multiple values for argument '{name}'")
            }
            ArgError::PositionalOnlyAsKeyword { function, names } => write!(
                f,
                "{function}() got some positional-only arguments passed as keyword arguments: \
                 '{}'",
                names.join(", ")
            ),
        }
    }
}

impl std::error::Error for ArgError {}

/// `'a'`, `'a' and 'b'`, `'a', 'b', and 'c'`: CPython's list of missing parameters.
fn name_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => format!("'{one}'"),
        [a, b] => format!("'{a}' and '{b}'"),
        [init @ .., last] => {
            let mut s = String::new();
            for n in init {
                s.push_str(&format!("'{n}', "));
            }
            s.push_str(&format!("and '{last}'"));
            s
        }
    }
}

impl FunctionDescription {
    /// How many slots [`FunctionDescription::bind`] fills: positional plus keyword-only
    /// parameters.
    pub const fn slot_count(&self) -> usize {
        self.positional.len() + self.keyword_only.len()
    }

    /// The Python name of parameter `index` (in slot order).
    pub fn parameter_name(&self, index: usize) -> &'static str {
        if index < self.positional.len() {
            self.positional[index]
        } else {
            self.keyword_only
                .get(index - self.positional.len())
                .map_or("?", |k| k.name)
        }
    }

    /// Binds a call's arguments to the parameter slots, as CPython binds a call to a function
    /// defined in Python, and returns the positional arguments left for `*args`.
    ///
    /// `keyword_names[i]` names `keyword_values[i]`; a name that is `None` (not valid UTF-8
    /// text) matches no parameter. Keyword arguments that match no parameter go to `varkw`
    /// when the function has `**kwargs` (and are an error otherwise), as do positional-only
    /// parameters passed by keyword.
    ///
    /// # Errors
    /// [`ArgError`] (through `E: From<ArgError>`) when the arguments do not fit, in CPython's
    /// order of checks: keywords (unexpected, multiple values, positional-only), then too many
    /// positional arguments, then missing arguments. An error returned by `varkw` is passed on.
    ///
    /// # Panics
    /// If `slots` has fewer than [`FunctionDescription::slot_count`] entries or the keyword
    /// slices differ in length (a bug in the caller).
    #[inline]
    pub fn bind<'v, K, V, E>(
        &self,
        positional: &'v [V],
        keyword_names: &[K],
        keyword_values: &[V],
        slots: &mut [Option<V>],
        mut varkw: impl FnMut(&K, V) -> Result<(), E>,
    ) -> Result<&'v [V], E>
    where
        K: KeywordName,
        V: Copy,
        E: From<ArgError>,
    {
        let npos = self.positional.len();
        let (slots, _) = slots.split_at_mut(self.slot_count());
        // The common call: positional arguments only, as many as the signature takes. Nothing
        // to look up or report.
        // `required <= len <= npos` as one comparison (`required <= npos` always holds): this
        // check runs on every call.
        debug_assert!(self.required_positional <= npos);
        let optional = npos - self.required_positional;
        if keyword_names.is_empty()
            && positional.len().wrapping_sub(self.required_positional) <= optional
            && !self.keyword_only.iter().any(|k| k.required)
        {
            for (slot, v) in slots.iter_mut().zip(positional) {
                *slot = Some(*v);
            }
            return Ok(&positional[positional.len()..]);
        }
        let taken = positional.len().min(npos);
        for (slot, v) in slots.iter_mut().zip(&positional[..taken]) {
            *slot = Some(*v);
        }
        let extra = &positional[taken..];
        assert_eq!(keyword_names.len(), keyword_values.len());

        for (k, v) in keyword_names.iter().zip(keyword_values) {
            let name = k.as_str();
            match name.and_then(|n| self.find_keyword(n)) {
                Some(i) => {
                    if slots[i].is_some() {
                        return Err(ArgError::MultipleValues {
                            function: self.name,
                            name: self.parameter_name(i),
                        }
                        .into());
                    }
                    slots[i] = Some(*v);
                }
                None if self.varkw => varkw(k, *v)?,
                None => {
                    return Err(self.unexpected_keyword(name, keyword_names).into());
                }
            }
        }

        if !extra.is_empty() && !self.varargs {
            return Err(ArgError::TooManyPositional {
                function: self.name,
                max: npos,
                required: self.required_positional,
                given: positional.len(),
                keyword_only_given: slots[npos..].iter().filter(|s| s.is_some()).count(),
            }
            .into());
        }

        if slots[..self.required_positional]
            .iter()
            .any(|s| s.is_none())
        {
            return Err(self.missing_positional(slots).into());
        }
        if self
            .keyword_only
            .iter()
            .zip(&slots[npos..])
            .any(|(k, s)| k.required && s.is_none())
        {
            return Err(self.missing_keyword_only(slots).into());
        }
        Ok(extra)
    }

    /// The slot a keyword argument fills: a positional-or-keyword or keyword-only parameter
    /// (never a positional-only one).
    #[inline]
    fn find_keyword(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.positional[self.positional_only..]
            .iter()
            .position(|p| *p == name)
        {
            return Some(self.positional_only + i);
        }
        self.keyword_only
            .iter()
            .position(|k| k.name == name)
            .map(|i| self.positional.len() + i)
    }

    #[cold]
    fn unexpected_keyword<K: KeywordName>(&self, name: Option<&str>, all: &[K]) -> ArgError {
        let posonly = &self.positional[..self.positional_only];
        let passed: Vec<&'static str> = posonly
            .iter()
            .copied()
            .filter(|p| all.iter().any(|k| k.as_str() == Some(*p)))
            .collect();
        if !passed.is_empty() {
            return ArgError::PositionalOnlyAsKeyword {
                function: self.name,
                names: passed,
            };
        }
        ArgError::UnexpectedKeyword {
            function: self.name,
            name: name.unwrap_or("<invalid text>").to_owned(),
        }
    }

    #[cold]
    fn missing_positional<V>(&self, slots: &[Option<V>]) -> ArgError {
        ArgError::Missing {
            function: self.name,
            kind: "positional",
            names: self.positional[..self.required_positional]
                .iter()
                .zip(slots)
                .filter(|(_, s)| s.is_none())
                .map(|(n, _)| *n)
                .collect(),
        }
    }

    #[cold]
    fn missing_keyword_only<V>(&self, slots: &[Option<V>]) -> ArgError {
        ArgError::Missing {
            function: self.name,
            kind: "keyword-only",
            names: self
                .keyword_only
                .iter()
                .zip(&slots[self.positional.len()..])
                .filter(|(k, s)| k.required && s.is_none())
                .map(|(k, _)| k.name)
                .collect(),
        }
    }
}

/// The name of a keyword argument, as text when it is valid text.
pub trait KeywordName {
    /// The name, or `None` when it is not valid UTF-8 (it then matches no parameter).
    fn as_str(&self) -> Option<&str>;
}

impl KeywordName for &str {
    fn as_str(&self) -> Option<&str> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: FunctionDescription = FunctionDescription {
        name: "f",
        positional: &["a", "b"],
        positional_only: 0,
        required_positional: 1,
        keyword_only: &[
            KeywordOnly {
                name: "c",
                required: true,
            },
            KeywordOnly {
                name: "d",
                required: false,
            },
        ],
        varargs: false,
        varkw: false,
    };

    const G: FunctionDescription = FunctionDescription {
        name: "g",
        positional: &["a", "b", "c"],
        positional_only: 2,
        required_positional: 3,
        keyword_only: &[],
        varargs: false,
        varkw: false,
    };

    const H: FunctionDescription = FunctionDescription {
        name: "h",
        positional: &["a", "b", "c"],
        positional_only: 0,
        required_positional: 3,
        keyword_only: &[],
        varargs: false,
        varkw: false,
    };

    type Slots = [Option<i32>; 4];
    /// The slots, the extra positional arguments and the extra keyword arguments.
    type Bound = (Slots, Vec<i32>, Vec<(String, i32)>);

    /// Binds and returns the slots and the extra positional arguments, or the message.
    fn bind(d: &FunctionDescription, pos: &[i32], kw: &[(&str, i32)]) -> Result<Bound, String> {
        let names: Vec<&str> = kw.iter().map(|(k, _)| *k).collect();
        let values: Vec<i32> = kw.iter().map(|(_, v)| *v).collect();
        let mut slots = [None; 4];
        let mut rest = Vec::new();
        let extra = d
            .bind::<_, _, ArgError>(pos, &names, &values, &mut slots, |k, v| {
                rest.push((k.to_string(), v));
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        Ok((slots, extra.to_vec(), rest))
    }

    fn err(d: &FunctionDescription, pos: &[i32], kw: &[(&str, i32)]) -> String {
        bind(d, pos, kw).unwrap_err()
    }

    #[test]
    fn binds_positional_and_keyword() {
        let (slots, extra, _) = bind(&F, &[1, 2], &[("c", 3)]).unwrap();
        assert_eq!(slots, [Some(1), Some(2), Some(3), None]);
        assert!(extra.is_empty());
        let (slots, _, _) = bind(&F, &[], &[("d", 4), ("a", 1), ("c", 3)]).unwrap();
        assert_eq!(slots, [Some(1), None, Some(3), Some(4)]);
    }

    // The messages below are CPython's for `def f(a, b=1, *, c, d=2)`, `def g(a, b, /, c)` and
    // `def h(a, b, c)` (identical on 3.8 to 3.13).

    #[test]
    fn missing_arguments() {
        assert_eq!(
            err(&F, &[], &[]),
            "f() missing 1 required positional argument: 'a'"
        );
        assert_eq!(
            err(&F, &[1], &[]),
            "f() missing 1 required keyword-only argument: 'c'"
        );
        assert_eq!(
            err(&H, &[], &[]),
            "h() missing 3 required positional arguments: 'a', 'b', and 'c'"
        );
        assert_eq!(
            err(&H, &[1], &[]),
            "h() missing 2 required positional arguments: 'b' and 'c'"
        );
        assert_eq!(
            err(&H, &[], &[("b", 2)]),
            "h() missing 2 required positional arguments: 'a' and 'c'"
        );
    }

    #[test]
    fn too_many_positional() {
        assert_eq!(
            err(&F, &[1, 2, 3], &[]),
            "f() takes from 1 to 2 positional arguments but 3 were given"
        );
        assert_eq!(
            err(&F, &[1, 2, 3], &[("c", 1)]),
            "f() takes from 1 to 2 positional arguments but 3 positional arguments (and 1 \
             keyword-only argument) were given"
        );
        assert_eq!(
            err(&F, &[1, 2, 3, 4], &[("c", 5), ("d", 3)]),
            "f() takes from 1 to 2 positional arguments but 4 positional arguments (and 2 \
             keyword-only arguments) were given"
        );
        assert_eq!(
            err(&G, &[1, 2, 3, 4], &[]),
            "g() takes 3 positional arguments but 4 were given"
        );
        let one = FunctionDescription {
            positional: &["a"],
            required_positional: 1,
            ..H
        };
        assert_eq!(
            err(&one, &[1, 2], &[]),
            "h() takes 1 positional argument but 2 were given"
        );
        let none = FunctionDescription {
            positional: &[],
            required_positional: 0,
            ..H
        };
        assert_eq!(
            err(&none, &[1], &[]),
            "h() takes 0 positional arguments but 1 was given"
        );
    }

    #[test]
    fn keyword_errors() {
        assert_eq!(
            err(&F, &[1], &[("z", 2), ("c", 1)]),
            "f() got an unexpected keyword argument 'z'"
        );
        assert_eq!(
            err(&F, &[1], &[("a", 2), ("c", 1)]),
            "f() got multiple values for argument 'a'"
        );
        assert_eq!(
            err(&G, &[1, 2], &[("c", 3), ("a", 1), ("b", 2)]),
            "g() got some positional-only arguments passed as keyword arguments: 'a, b'"
        );
        // Keyword errors come before the positional count, as in CPython.
        assert_eq!(
            err(&F, &[1, 2, 3], &[("z", 1)]),
            "f() got an unexpected keyword argument 'z'"
        );
    }

    #[test]
    fn varargs_and_varkw() {
        let d = FunctionDescription {
            varargs: true,
            varkw: true,
            ..G
        };
        let (slots, extra, rest) = bind(&d, &[1, 2, 3, 4, 5], &[("a", 9), ("z", 8)]).unwrap();
        assert_eq!(slots, [Some(1), Some(2), Some(3), None]);
        assert_eq!(extra, [4, 5]);
        // A positional-only name passed by keyword goes to **kwargs, as in Python.
        assert_eq!(rest, [("a".to_string(), 9), ("z".to_string(), 8)]);
    }

    #[test]
    fn parameter_names() {
        assert_eq!(F.slot_count(), 4);
        assert_eq!(F.parameter_name(1), "b");
        assert_eq!(F.parameter_name(3), "d");
    }
}
