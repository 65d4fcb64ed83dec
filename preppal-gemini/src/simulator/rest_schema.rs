//! The simulated `generateContent`'s structured output (gemini-live-protocol notes §7):
//! the request's `generationConfig.responseSchema` (the OpenAPI subset) or
//! `responseJsonSchema` (JSON Schema) is checked for being well formed, and the answer is
//! a document that conforms to it, filled from a hint document where the hint fits and
//! from the request's transcript where the schema asks for quotes.

use serde_json::{json, Map, Value};

/// Keywords of a `responseSchema` (the OpenAPI 3.0 subset of the `Schema` message, §7).
const OPENAPI_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

/// Keywords of a `responseJsonSchema` (§7).
const JSON_SCHEMA_KEYWORDS: &[&str] = &[
    "$id",
    "$defs",
    "$ref",
    "$anchor",
    "$schema",
    "type",
    "format",
    "title",
    "description",
    "enum",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "anyOf",
    "oneOf",
    "properties",
    "additionalProperties",
    "required",
    "propertyOrdering",
];

const TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "array", "object", "null",
];

/// The schema dialect of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    OpenApi,
    JsonSchema,
}

/// `schema` with its keywords in camelCase: the proto JSON parser takes snake_case too
/// (gemini-live-protocol notes §2), and the Python SDK sends `property_ordering`. Property
/// names are kept as they are.
pub(super) fn normalise(schema: &Value) -> Value {
    let Some(object) = schema.as_object() else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in object {
        let key = camel(key);
        let value = match key.as_str() {
            "properties" | "$defs" => match value.as_object() {
                Some(map) => Value::Object(
                    map.iter()
                        .map(|(name, inner)| (name.clone(), normalise(inner)))
                        .collect(),
                ),
                None => value.clone(),
            },
            "items" | "additionalProperties" => normalise(value),
            "anyOf" | "oneOf" | "prefixItems" => match value.as_array() {
                Some(list) => list.iter().map(normalise).collect(),
                None => value.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key, value);
    }
    Value::Object(out)
}

fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Why `schema` is not well formed, at the first fault (a JSON pointer-like path).
pub(super) fn schema_fault(schema: &Value, dialect: Dialect, path: &str) -> Option<String> {
    let Some(object) = schema.as_object() else {
        return Some(format!("{path}: a schema is an object"));
    };
    let keywords = match dialect {
        Dialect::OpenApi => OPENAPI_KEYWORDS,
        Dialect::JsonSchema => JSON_SCHEMA_KEYWORDS,
    };
    if let Some(unknown) = object.keys().find(|k| !keywords.contains(&k.as_str())) {
        return Some(format!("{path}: unknown keyword {unknown:?}"));
    }
    let types: Vec<String> = match object.get("type") {
        None => Vec::new(),
        Some(Value::String(t)) => vec![t.to_lowercase()],
        Some(Value::Array(ts)) if dialect == Dialect::JsonSchema => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect(),
        Some(_) => return Some(format!("{path}.type: not a type name")),
    };
    if let Some(bad) = types.iter().find(|t| !TYPES.contains(&t.as_str())) {
        return Some(format!("{path}.type: unknown type {bad:?}"));
    }
    if dialect == Dialect::OpenApi && object.contains_key("type") && types.is_empty() {
        return Some(format!("{path}.type: empty"));
    }
    let properties = object.get("properties");
    if let Some(properties) = properties {
        let Some(properties) = properties.as_object() else {
            return Some(format!("{path}.properties: not an object"));
        };
        for (name, inner) in properties {
            if let Some(fault) = schema_fault(inner, dialect, &format!("{path}.properties.{name}"))
            {
                return Some(fault);
            }
        }
    }
    for list in ["required", "propertyOrdering"] {
        let Some(names) = object.get(list) else {
            continue;
        };
        let Some(names) = names.as_array() else {
            return Some(format!("{path}.{list}: not a list"));
        };
        for name in names {
            let known = name
                .as_str()
                .is_some_and(|n| properties.and_then(|p| p.get(n)).is_some());
            if !known {
                return Some(format!("{path}.{list}: {name} is not a property"));
            }
        }
    }
    if let Some(values) = object.get("enum") {
        if values.as_array().is_none_or(Vec::is_empty) {
            return Some(format!("{path}.enum: not a non-empty list"));
        }
    }
    if types.iter().any(|t| t == "array")
        && dialect == Dialect::OpenApi
        && !object.contains_key("items")
    {
        return Some(format!("{path}: an ARRAY needs items"));
    }
    if let Some(items) = object.get("items") {
        if let Some(fault) = schema_fault(items, dialect, &format!("{path}.items")) {
            return Some(fault);
        }
    }
    for list in ["anyOf", "oneOf", "prefixItems"] {
        if let Some(options) = object.get(list) {
            let Some(options) = options.as_array() else {
                return Some(format!("{path}.{list}: not a list"));
            };
            for (i, option) in options.iter().enumerate() {
                if let Some(fault) = schema_fault(option, dialect, &format!("{path}.{list}[{i}]")) {
                    return Some(fault);
                }
            }
        }
    }
    if let Some(defs) = object.get("$defs").and_then(Value::as_object) {
        for (name, inner) in defs {
            if let Some(fault) = schema_fault(inner, dialect, &format!("{path}.$defs.{name}")) {
                return Some(fault);
            }
        }
    }
    None
}

/// What the generator fills strings from: the transcript's answered questions.
#[derive(Debug, Default)]
pub(super) struct Material {
    /// `(question, answer)` pairs, answered ones only.
    pub(super) answers: Vec<(String, String)>,
    /// Words a quote takes from the start of an answer.
    pub(super) quote_words: usize,
}

impl Material {
    fn quote(&self, i: usize) -> String {
        self.answers
            .get(i)
            .map(|(_, a)| {
                a.split_whitespace()
                    .take(self.quote_words)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    }
}

fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let mut schema = schema;
    for _ in 0..8 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let target = reference
            .strip_prefix("#/$defs/")
            .and_then(|name| root.get("$defs")?.get(name));
        match target {
            Some(t) => schema = t,
            None => break,
        }
    }
    schema
}

fn schema_type(schema: &Value) -> String {
    match schema.get("type") {
        Some(Value::String(t)) => t.to_lowercase(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .find(|t| t != "null")
            .unwrap_or_else(|| "null".to_owned()),
        _ if schema.get("properties").is_some() => "object".to_owned(),
        _ if schema.get("items").is_some() => "array".to_owned(),
        _ => "string".to_owned(),
    }
}

fn looks_like(name: &str, word: &str) -> bool {
    name.to_lowercase().contains(word)
}

/// A document that conforms to `schema` (with `root` for `$ref`s): `hint` where it fits,
/// generated values where not. `name` is the property the value is for; `item` the index
/// of the array element being generated, for quotes.
pub(super) fn conform(
    schema: &Value,
    root: &Value,
    hint: Option<&Value>,
    material: &Material,
    name: &str,
    item: usize,
) -> Value {
    let schema = resolve(schema, root);
    if let Some(first) = ["anyOf", "oneOf"]
        .iter()
        .find_map(|k| schema.get(*k)?.as_array()?.first())
    {
        return conform(first, root, hint, material, name, item);
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return match hint {
            Some(h) if values.contains(h) => h.clone(),
            _ => values.first().cloned().unwrap_or(Value::Null),
        };
    }
    match schema_type(schema).as_str() {
        "object" => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let mut order: Vec<&str> = schema
                .get("propertyOrdering")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for key in properties.into_iter().flat_map(|p| p.keys()) {
                if !order.contains(&key.as_str()) {
                    order.push(key);
                }
            }
            let mut out = Map::new();
            for key in order {
                if let Some(inner) = properties.and_then(|p| p.get(key)) {
                    let hint = hint.and_then(|h| h.get(key));
                    out.insert(
                        key.to_owned(),
                        conform(inner, root, hint, material, key, item),
                    );
                }
            }
            Value::Object(out)
        }
        "array" => {
            let items = schema.get("items").cloned().unwrap_or_else(|| json!({}));
            let min = schema.get("minItems").and_then(as_count).unwrap_or(0);
            let max = schema
                .get("maxItems")
                .and_then(as_count)
                .unwrap_or(usize::MAX);
            let hinted = hint.and_then(Value::as_array);
            let per_answer = resolve(&items, root)
                .get("properties")
                .and_then(Value::as_object)
                .is_some_and(|p| p.keys().any(|k| looks_like(k, "quote")));
            let count = match hinted {
                Some(h) => h.len(),
                None if per_answer => material.answers.len(),
                None => 1,
            }
            .clamp(min, max.max(min));
            (0..count)
                .map(|i| {
                    let hint = hinted.and_then(|h| h.get(i));
                    conform(&items, root, hint, material, name, i)
                })
                .collect()
        }
        "integer" => {
            let (lo, hi) = bounds(schema);
            let v = hint.and_then(Value::as_i64).unwrap_or(3);
            json!((v as f64).clamp(lo, hi).round() as i64)
        }
        "number" => {
            let (lo, hi) = bounds(schema);
            let v = hint.and_then(Value::as_f64).unwrap_or(3.0);
            json!(v.clamp(lo, hi))
        }
        "boolean" => hint
            .filter(|h| h.is_boolean())
            .cloned()
            .unwrap_or(Value::Bool(false)),
        "null" => Value::Null,
        _ => match hint.and_then(Value::as_str) {
            Some(s) => Value::String(s.to_owned()),
            None if looks_like(name, "quote") => Value::String(material.quote(item)),
            None if looks_like(name, "question") => Value::String(
                material
                    .answers
                    .get(item)
                    .map(|(q, _)| q.clone())
                    .unwrap_or_default(),
            ),
            None => Value::String(format!(
                "Simulated {name} (offline simulator, no language model)."
            )),
        },
    }
}

fn as_count(v: &Value) -> Option<usize> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .and_then(|n| usize::try_from(n).ok())
}

fn bounds(schema: &Value) -> (f64, f64) {
    let lo = schema
        .get("minimum")
        .and_then(Value::as_f64)
        .unwrap_or(f64::MIN);
    let hi = schema
        .get("maximum")
        .and_then(Value::as_f64)
        .unwrap_or(f64::MAX);
    (lo, hi.max(lo))
}

/// Whether `value` conforms to `schema` (types, enums, required properties, item counts,
/// bounds): what the tests check of a generated document.
pub fn conforms(value: &Value, schema: &Value) -> bool {
    conforms_in(value, schema, schema)
}

fn conforms_in(value: &Value, schema: &Value, root: &Value) -> bool {
    let schema = resolve(schema, root);
    if let Some(first) = ["anyOf", "oneOf"]
        .iter()
        .find_map(|k| schema.get(*k)?.as_array())
    {
        return first.iter().any(|s| conforms_in(value, s, root));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        if !values.contains(value) {
            return false;
        }
    }
    match schema_type(schema).as_str() {
        "object" => {
            let Some(object) = value.as_object() else {
                return false;
            };
            let required_ok = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .all(|r| object.contains_key(r));
            let properties_ok = schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .all(|(k, s)| object.get(k).is_none_or(|v| conforms_in(v, s, root)));
            required_ok && properties_ok
        }
        "array" => {
            let Some(items) = value.as_array() else {
                return false;
            };
            let min = schema.get("minItems").and_then(as_count).unwrap_or(0);
            let max = schema
                .get("maxItems")
                .and_then(as_count)
                .unwrap_or(usize::MAX);
            (min..=max).contains(&items.len())
                && schema
                    .get("items")
                    .is_none_or(|s| items.iter().all(|i| conforms_in(i, s, root)))
        }
        "integer" | "number" => {
            let (lo, hi) = bounds(schema);
            let integral = schema_type(schema) != "integer" || value.is_i64() || value.is_u64();
            value.as_f64().is_some_and(|v| v >= lo && v <= hi) && integral
        }
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => value.is_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_found_and_documents_conform() {
        let schema = json!({
            "type": "OBJECT",
            "properties": {
                "verdict": { "type": "STRING", "enum": ["hire", "no_hire"] },
                "notes": { "type": "ARRAY", "maxItems": 1, "items": { "type": "OBJECT",
                    "properties": { "quote": { "type": "STRING" }, "score": { "type": "INTEGER", "minimum": 1, "maximum": 5 } },
                    "required": ["quote", "score"] } }
            },
            "required": ["verdict", "notes"]
        });
        assert_eq!(schema_fault(&schema, Dialect::OpenApi, "s"), None);
        let snake = json!({ "type": "OBJECT", "properties": { "max_items": { "type": "STRING" } },
            "property_ordering": ["max_items"] });
        assert!(schema_fault(&snake, Dialect::OpenApi, "s").is_some());
        let normalised = normalise(&snake);
        assert_eq!(schema_fault(&normalised, Dialect::OpenApi, "s"), None);
        assert_eq!(normalised["propertyOrdering"], json!(["max_items"]));
        let material = Material {
            answers: vec![
                ("Q1".into(), "one two three four".into()),
                ("Q2".into(), "five six".into()),
            ],
            quote_words: 3,
        };
        let doc = conform(
            &schema,
            &schema,
            Some(&json!({"verdict": "maybe"})),
            &material,
            "",
            0,
        );
        assert!(conforms(&doc, &schema), "{doc}");
        assert_eq!(doc["verdict"], "hire");
        assert_eq!(doc["notes"][0]["quote"], "one two three");
        assert_eq!(doc["notes"].as_array().unwrap().len(), 1);
        let mut bad = schema.clone();
        bad["required"] = json!(["verdict", "nope"]);
        assert!(schema_fault(&bad, Dialect::OpenApi, "s")
            .unwrap()
            .contains("nope"));
        let mut bad = schema;
        bad["properties"]["notes"]["type"] = json!("LIST");
        assert!(schema_fault(&bad, Dialect::OpenApi, "s").is_some());
    }
}
