//! The plugin's saved state as a CLAP host holds it (nice-plug's format): a little-endian u64
//! length, then a JSON document whose `fields` are the `#[persist]` fields. Tests edit it to
//! restore a project the way a host does.

use serde_json::Value;

/// The JSON document in `saved`.
pub fn parse(saved: &[u8]) -> Value {
    let len = u64::from_le_bytes(saved[..8].try_into().expect("an 8-byte length")) as usize;
    serde_json::from_slice(&saved[8..8 + len]).expect("state is JSON")
}

/// `doc` as state bytes a plugin loads.
pub fn to_bytes(doc: &Value) -> Vec<u8> {
    let json = serde_json::to_vec(doc).expect("JSON");
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend(json);
    bytes
}

/// The value of a persisted `String` field (nice-plug saves it as the JSON of a JSON string).
pub fn field(doc: &Value, key: &str) -> String {
    serde_json::from_str(doc["fields"][key].as_str().expect("a string field")).expect("a string")
}

/// Sets a persisted `String` field.
pub fn set_field(doc: &mut Value, key: &str, value: &str) {
    doc["fields"][key] = Value::String(serde_json::to_string(value).expect("JSON"));
}
