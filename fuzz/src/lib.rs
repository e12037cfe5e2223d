//! What the fuzz targets share: the fuzzer's bytes read as a recipe for Python values
//! (ints of any size, floats with NaN and infinities, text with lone surrogates, bytes,
//! nested containers, subclasses, objects whose `__index__` or `__float__` misbehave).

use pyhost::prelude::*;

/// The fuzzer's bytes, read front to back; past the end, zeros.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for (i, x) in self.take(8).iter().enumerate() {
            b[i] = *x;
        }
        u64::from_le_bytes(b)
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Python helpers for values awkward to build from Rust.
const HELPERS: &str = r#"
class Index:
    def __init__(self, v): self.v = v
    def __index__(self): return self.v
class BadIndex:
    def __index__(self): raise ValueError("no index")
class Float:
    def __init__(self, v): self.v = v
    def __float__(self): return self.v
class WrongFloat:
    def __float__(self): return "not a float"
class LyingLen(list):
    def __len__(self): return 10 ** 6
class StrSub(str): pass
class IntSub(int): pass
class DictSub(dict): pass
def text(points):
    return ''.join(map(chr, points))
def big(b, signed):
    return int.from_bytes(b, 'little', signed=signed)
def mkdict(pairs, sub):
    d = DictSub() if sub else {}
    for k, v in pairs:
        try:
            d[k] = v
        except TypeError:
            pass
    return d
def mkset(items, frozen):
    s = set()
    for x in items:
        try:
            s.add(x)
        except TypeError:
            pass
    return frozenset(s) if frozen else s
"#;

/// Builds Python values from an [`Input`].
pub struct Values<'py> {
    ns: Object<'py, Dict>,
}

impl<'py> Values<'py> {
    pub fn new(py: Python<'py>) -> Result<Self> {
        let ns = py.new_namespace()?;
        py.exec_with(HELPERS, &ns, None)?;
        Ok(Values { ns })
    }

    /// A helper (or builtin) by name.
    pub fn helper(&self, name: &str) -> Result<Object<'py, Any>> {
        match self.ns.get_item(name)? {
            Some(f) => Ok(f),
            None => self.ns.py().import("builtins")?.getattr(name),
        }
    }

    /// Text from code points, lone surrogates included.
    pub fn text(&self, input: &mut Input<'_>, max: u8) -> Result<Object<'py, Any>> {
        let n = input.byte() % max.max(1);
        let points: Vec<u32> = (0..n)
            .map(|_| {
                let plane = u32::from(input.byte() % 17);
                let hi = u32::from(input.byte());
                let lo = u32::from(input.byte());
                (plane << 16) | (hi << 8) | lo
            })
            .collect();
        self.helper("text")?.call1((points,))
    }

    /// One value, nested at most a few levels.
    pub fn value(&self, input: &mut Input<'_>, depth: u32) -> Result<Object<'py, Any>> {
        let py = self.ns.py();
        let kinds = if depth >= 3 { 9 } else { 16 };
        Ok(match input.byte() % kinds {
            0 => py.none().into_any(),
            1 => (input.byte() & 1 == 1).into_python(py)?,
            2 => i64::from(input.byte() as i8).into_python(py)?,
            3 => (input.u64() as i64).into_python(py)?,
            4 => {
                let n = usize::from(input.byte() % 24);
                let bytes: Vec<u8> = input.take(n).to_vec();
                let signed = input.byte() & 1 == 1;
                let bytes = self.helper("bytes")?.call1((bytes,))?;
                self.helper("big")?.call1((bytes, signed))?
            }
            5 => f64::from_bits(input.u64()).into_python(py)?,
            6 => self.text(input, 12)?,
            7 => {
                let n = usize::from(input.byte() % 16);
                let bytes: Vec<u8> = input.take(n).to_vec();
                self.helper("bytes")?.call1((bytes,))?
            }
            8 => match input.byte() % 7 {
                0 => self.helper("Index")?.call1(((input.u64() as i64),))?,
                1 => self.helper("BadIndex")?.call0()?,
                2 => self
                    .helper("Float")?
                    .call1((f64::from_bits(input.u64()),))?,
                3 => self.helper("WrongFloat")?.call0()?,
                4 => {
                    let t = self.text(input, 6)?;
                    self.helper("StrSub")?.call1((t,))?
                }
                5 => self
                    .helper("IntSub")?
                    .call1((i64::from(input.byte() as i8),))?,
                _ => self.helper("object")?.call0()?,
            },
            tag => {
                let n = input.byte() % 6;
                let mut items = Vec::with_capacity(usize::from(n));
                for _ in 0..n {
                    items.push(self.value(input, depth + 1)?);
                }
                match tag {
                    9 => items.into_python(py)?,
                    10 => self.helper("tuple")?.call1((items,))?,
                    11 | 12 => {
                        let pairs: Vec<(Object<'py, Any>, Object<'py, Any>)> = items
                            .chunks(2)
                            .filter(|c| c.len() == 2)
                            .map(|c| (c[0].clone(), c[1].clone()))
                            .collect();
                        self.helper("mkdict")?.call1((pairs, tag == 12))?
                    }
                    13 | 14 => self.helper("mkset")?.call1((items, tag == 14))?,
                    _ => self.helper("LyingLen")?.call1((items,))?,
                }
            }
        })
    }
}

/// Whether an exception is set: a conversion that returned must have left none behind.
pub fn exception_pending(_py: Python<'_>) -> bool {
    // PyErr_Occurred only reads the thread state, and the GIL is held (`_py`).
    // SAFETY: for the reason above.
    unsafe { !pyhost::ffi::PyErr_Occurred().is_null() }
}

/// Fails the run on errors that mean a bug rather than bad input: a Rust panic that
/// reached Python, CPython's `SystemError` (a C call that failed without an exception, or
/// raised one while returning a value), or any error that is not a Python exception.
pub fn assert_ordinary(what: &str, e: &Error) {
    let Some(p) = e.as_python() else {
        panic!("{what}: an error that is not a Python exception: {e:?}");
    };
    assert!(
        p.kind() == pyhost::ExceptionKind::Exception,
        "{what}: not an ordinary exception: {e:#}"
    );
    assert_ne!(p.type_name(), "SystemError", "{what}: {e:#}");
}
