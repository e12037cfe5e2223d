//! YAML documents as JSON values (the shape checks receive their configuration in).

use serde_json::{Map, Number, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// Parses the first document of `text`; an empty text is `null`.
pub fn parse(text: &str) -> Result<Value, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    match docs.into_iter().next() {
        None => Ok(Value::Null),
        Some(doc) => convert(doc),
    }
}

fn convert(y: Yaml) -> Result<Value, String> {
    Ok(match y {
        Yaml::Null | Yaml::BadValue => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::from(i),
        Yaml::Real(s) => match s.parse::<f64>() {
            Ok(f) => Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::String(s)),
            Err(_) => Value::String(s),
        },
        Yaml::String(s) => Value::String(s),
        Yaml::Array(a) => Value::Array(a.into_iter().map(convert).collect::<Result<_, _>>()?),
        Yaml::Hash(h) => {
            let mut m = Map::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) => s,
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    Yaml::Real(r) => r,
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                m.insert(key, convert(v)?);
            }
            Value::Object(m)
        }
        Yaml::Alias(_) => return Err("YAML aliases are not supported".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_documents() {
        let v = parse("a: 1\nb: [x, 2.5, true, null]\nc:\n  d: e\n").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": 1, "b": ["x", 2.5, true, null], "c": {"d": "e"}})
        );
        assert_eq!(parse("").unwrap(), Value::Null);
        assert!(parse("a: [1\n").is_err());
    }
}
