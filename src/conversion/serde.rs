//! Any `Serialize`/`Deserialize` type to and from Python objects (feature `serde`).
//!
//! | serde | Python |
//! |---|---|
//! | bool, integers, floats | `bool`, `int`, `float` |
//! | char, string | `str` |
//! | bytes | `bytes` |
//! | unit, `None`, unit struct | `None` |
//! | sequence, tuple | `list` (a `tuple`, `set` or any iterable is accepted back) |
//! | map, struct | `dict` |
//! | enum | unit variant: `"Name"`; others: `{"Name": value}` |
//!
//! ```
//! # pyhost::initialize_once().unwrap();
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Instance {
//!     host: String,
//!     port: u16,
//!     tags: Vec<String>,
//! }
//!
//! pyhost::with_gil(|py| {
//!     let inst = Instance { host: "db".into(), port: 5432, tags: vec!["env:prod".into()] };
//!     let obj = pyhost::conversion::serde::to_python(py, &inst)?;
//!     assert_eq!(obj.repr()?.to_str()?, "{'host': 'db', 'port': 5432, 'tags': ['env:prod']}");
//!     let back: Instance = pyhost::conversion::serde::from_python(&obj)?;
//!     assert_eq!(back, inst);
//!     Ok(())
//! })?;
//! # Ok::<(), pyhost::Error>(())
//! ```

use std::fmt::Display;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};

use super::{FromPython, IntoPython};
use crate::err::capture::type_name_of;
use crate::raw::{self, Check};
use crate::types::{Any, Dict, List};
use crate::{Borrowed, Error, Object, Python, Result};

/// Converts any `Serialize` value to a Python object.
///
/// # Errors
/// What the value's `Serialize` reports, or a failure to create Python objects.
pub fn to_python<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> Result<Object<'py, Any>> {
    value.serialize(Serializer { py })
}

/// Reads any `Deserialize` value from a Python object.
///
/// # Errors
/// A `TypeError`/`ValueError` describing the mismatch.
pub fn from_python<'py, T: DeserializeOwned>(obj: &Object<'py, Any>) -> Result<T> {
    T::deserialize(Deserializer {
        obj: obj.as_borrowed(),
    })
}

/// A wrapper that converts its contents with serde, so any `Serialize`/`Deserialize` type can
/// be used where [`IntoPython`]/[`FromPython`] is expected (function arguments, `extract`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Serde<T>(pub T);

impl<'py, T: Serialize> IntoPython<'py> for Serde<T> {
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        to_python(py, &self.0)
    }
}

impl<'a, 'py, T: DeserializeOwned> FromPython<'a, 'py> for Serde<T> {
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        T::deserialize(Deserializer { obj }).map(Serde)
    }
}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::value_error(msg.to_string())
    }
}

impl de::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::value_error(msg.to_string())
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Error::type_error(format!("invalid type: {unexp}, expected {exp}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Serializer

struct Serializer<'py> {
    py: Python<'py>,
}

/// Builds a list, then a tuple/list, then wraps for variants.
struct SeqBuilder<'py> {
    py: Python<'py>,
    items: Object<'py, List>,
    variant: Option<&'static str>,
}

struct MapBuilder<'py> {
    py: Python<'py>,
    dict: Object<'py, Dict>,
    key: Option<Object<'py, Any>>,
    variant: Option<&'static str>,
}

fn wrap_variant<'py>(
    py: Python<'py>,
    variant: Option<&'static str>,
    value: Object<'py, Any>,
) -> Result<Object<'py, Any>> {
    match variant {
        None => Ok(value),
        Some(name) => {
            let d = Dict::new(py);
            d.set_item(name, value)?;
            Ok(d.into_any())
        }
    }
}

impl<'py> ser::Serializer for Serializer<'py> {
    type Ok = Object<'py, Any>;
    type Error = Error;
    type SerializeSeq = SeqBuilder<'py>;
    type SerializeTuple = SeqBuilder<'py>;
    type SerializeTupleStruct = SeqBuilder<'py>;
    type SerializeTupleVariant = SeqBuilder<'py>;
    type SerializeMap = MapBuilder<'py>;
    type SerializeStruct = MapBuilder<'py>;
    type SerializeStructVariant = MapBuilder<'py>;

    fn serialize_bool(self, v: bool) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_i8(self, v: i8) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_i16(self, v: i16) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_i32(self, v: i32) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_i64(self, v: i64) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_i128(self, v: i128) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_u8(self, v: u8) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_u16(self, v: u16) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_u32(self, v: u32) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_u64(self, v: u64) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_u128(self, v: u128) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_f32(self, v: f32) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_f64(self, v: f64) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_char(self, v: char) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_str(self, v: &str) -> Result<Self::Ok> {
        v.into_python(self.py)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Self::Ok> {
        crate::types::Bytes::new(self.py, v).map(Object::into_any)
    }
    fn serialize_none(self) -> Result<Self::Ok> {
        Ok(self.py.none().into_any())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Self::Ok> {
        Ok(self.py.none().into_any())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Self::Ok> {
        variant.into_python(self.py)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        let v = value.serialize(Serializer { py: self.py })?;
        wrap_variant(self.py, Some(variant), v)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Ok(SeqBuilder {
            py: self.py,
            items: List::new(self.py),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Ok(SeqBuilder {
            py: self.py,
            items: List::new(self.py),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Ok(MapBuilder {
            py: self.py,
            dict: Dict::new(self.py),
            key: None,
            variant: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Self::SerializeStruct> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Ok(MapBuilder {
            py: self.py,
            dict: Dict::new(self.py),
            key: None,
            variant: Some(variant),
        })
    }
}

impl<'py> SeqBuilder<'py> {
    fn push<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.items
            .append(value.serialize(Serializer { py: self.py })?)
    }
    fn finish(self) -> Result<Object<'py, Any>> {
        wrap_variant(self.py, self.variant, self.items.into_any())
    }
}

macro_rules! seq_impls {
    ($($tr:ident, $m:ident;)*) => {$(
        impl<'py> ser::$tr for SeqBuilder<'py> {
            type Ok = Object<'py, Any>;
            type Error = Error;
            fn $m<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
                self.push(value)
            }
            fn end(self) -> Result<Self::Ok> {
                self.finish()
            }
        }
    )*};
}

seq_impls! {
    SerializeSeq, serialize_element;
    SerializeTuple, serialize_element;
    SerializeTupleStruct, serialize_field;
    SerializeTupleVariant, serialize_field;
}

impl<'py> ser::SerializeMap for MapBuilder<'py> {
    type Ok = Object<'py, Any>;
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<()> {
        self.key = Some(key.serialize(Serializer { py: self.py })?);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error::value_error("serialize_value called before serialize_key"))?;
        self.dict
            .set_item(key, value.serialize(Serializer { py: self.py })?)
    }
    fn end(self) -> Result<Self::Ok> {
        wrap_variant(self.py, self.variant, self.dict.into_any())
    }
}

macro_rules! struct_impls {
    ($($tr:ident;)*) => {$(
        impl<'py> ser::$tr for MapBuilder<'py> {
            type Ok = Object<'py, Any>;
            type Error = Error;
            fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<()> {
                self.dict.set_item(key, value.serialize(Serializer { py: self.py })?)
            }
            fn end(self) -> Result<Self::Ok> {
                wrap_variant(self.py, self.variant, self.dict.into_any())
            }
        }
    )*};
}

struct_impls! {
    SerializeStruct;
    SerializeStructVariant;
}

// ---------------------------------------------------------------------------------------------
// Deserializer

struct Deserializer<'a, 'py> {
    obj: Borrowed<'a, 'py, Any>,
}

impl<'a, 'py> Deserializer<'a, 'py> {
    fn is(&self, c: Check) -> bool {
        raw::is(&self.obj, c)
    }

    fn unsupported(&self, what: &str) -> Error {
        Error::type_error(format!(
            "cannot read {what} from a Python {}",
            type_name_of(&self.obj)
        ))
    }
}

impl<'de, 'a, 'py> de::Deserializer<'de> for Deserializer<'a, 'py> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.obj.is_none() {
            return visitor.visit_unit();
        }
        if self.is(Check::Bool) {
            return visitor.visit_bool(self.obj.extract()?);
        }
        if self.is(Check::Long) {
            if let Ok(v) = self.obj.extract::<i64>() {
                return visitor.visit_i64(v);
            }
            if let Ok(v) = self.obj.extract::<u64>() {
                return visitor.visit_u64(v);
            }
            return visitor.visit_i128(self.obj.extract()?);
        }
        if self.is(Check::Float) {
            return visitor.visit_f64(self.obj.extract()?);
        }
        if self.is(Check::Unicode) {
            return visitor.visit_str(self.obj.extract::<&str>()?);
        }
        if self.is(Check::Bytes) || self.is(Check::ByteArray) {
            return visitor.visit_byte_buf(self.obj.extract::<Vec<u8>>()?);
        }
        if self.is(Check::Dict) {
            return self.deserialize_map(visitor);
        }
        if self.is(Check::List) || self.is(Check::Tuple) || self.is(Check::AnySet) {
            return self.deserialize_seq(visitor);
        }
        Err(self.unsupported("a value"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.obj.is_none() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.obj.is_none() {
            visitor.visit_unit()
        } else {
            Err(self.unsupported("None"))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.is(Check::Unicode) || self.is(Check::Dict) {
            return Err(self.unsupported("a sequence"));
        }
        let items: Vec<Object<'py, Any>> = self
            .obj
            .iter()
            .map_err(|_| self.unsupported("a sequence"))?
            .collect::<Result<_>>()?;
        visitor.visit_seq(SeqAccess {
            items: items.into_iter(),
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let d = self
            .obj
            .downcast::<Dict>()
            .map_err(|_| self.unsupported("a map"))?;
        let pairs: Vec<(Object<'py, Any>, Object<'py, Any>)> = d.iter().collect();
        visitor.visit_map(MapAccess {
            pairs: pairs.into_iter(),
            value: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        if self.is(Check::Unicode) {
            let name: String = self.obj.extract()?;
            return visitor.visit_enum(IntoDeserializer::<Error>::into_deserializer(name));
        }
        let d = self
            .obj
            .downcast::<Dict>()
            .map_err(|_| self.unsupported("an enum (a str or a one-key dict)"))?;
        if d.len() != 1 {
            return Err(Error::value_error(format!(
                "an enum as a dict needs exactly one key, got {}",
                d.len()
            )));
        }
        let (k, v) = d
            .iter()
            .next()
            .ok_or_else(|| Error::value_error("empty dict"))?;
        visitor.visit_enum(EnumAccess {
            variant: k.extract()?,
            value: v,
        })
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_byte_buf(self.obj.extract::<Vec<u8>>()?)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_str(self.obj.extract::<&str>()?)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string ignored_any
    }
}

struct SeqAccess<'py> {
    items: std::vec::IntoIter<Object<'py, Any>>,
}

impl<'de, 'py> de::SeqAccess<'de> for SeqAccess<'py> {
    type Error = Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>> {
        match self.items.next() {
            None => Ok(None),
            Some(item) => seed
                .deserialize(Deserializer {
                    obj: item.as_borrowed(),
                })
                .map(Some),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapAccess<'py> {
    pairs: std::vec::IntoIter<(Object<'py, Any>, Object<'py, Any>)>,
    value: Option<Object<'py, Any>>,
}

impl<'de, 'py> de::MapAccess<'de> for MapAccess<'py> {
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        match self.pairs.next() {
            None => Ok(None),
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(Deserializer {
                    obj: k.as_borrowed(),
                })
                .map(Some)
            }
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let v = self
            .value
            .take()
            .ok_or_else(|| Error::value_error("map value requested before its key"))?;
        seed.deserialize(Deserializer {
            obj: v.as_borrowed(),
        })
    }
}

struct EnumAccess<'py> {
    variant: String,
    value: Object<'py, Any>,
}

impl<'de, 'py> de::EnumAccess<'de> for EnumAccess<'py> {
    type Error = Error;
    type Variant = VariantAccess<'py>;

    fn variant_seed<V: de::DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant)> {
        let v = seed.deserialize(IntoDeserializer::<Error>::into_deserializer(self.variant))?;
        Ok((v, VariantAccess { value: self.value }))
    }
}

struct VariantAccess<'py> {
    value: Object<'py, Any>,
}

impl<'de, 'py> de::VariantAccess<'de> for VariantAccess<'py> {
    type Error = Error;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(Deserializer {
            obj: self.value.as_borrowed(),
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_seq(
            Deserializer {
                obj: self.value.as_borrowed(),
            },
            visitor,
        )
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_map(
            Deserializer {
                obj: self.value.as_borrowed(),
            },
            visitor,
        )
    }
}
