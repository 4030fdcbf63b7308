//! What a stage script sees of a buffer: its timing, its metadata, a drop
//! flag, and its bytes only when it asks for them.

use mlua::{UserData, UserDataFields, UserDataMethods};
use slate_meta::{Record, Value};

/// One buffer, as handed to `process(buf)`. The caller copies the changes
/// back onto the real buffer.
pub struct Buffer {
    /// Presentation time and duration in nanoseconds.
    pub pts: Option<u64>,
    pub duration: Option<u64>,
    pub record: Record,
    /// Set by `buf:drop()`.
    pub dropped: bool,
    bytes: Bytes,
}

/// The buffer's bytes, read only if the script asks.
enum Bytes {
    Unreadable,
    OnDemand(Box<dyn FnMut() -> Vec<u8> + Send>),
    Read(Vec<u8>),
}

impl std::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buffer")
            .field("pts", &self.pts)
            .field("duration", &self.duration)
            .field("record", &self.record)
            .field("dropped", &self.dropped)
            .finish()
    }
}

impl Buffer {
    pub fn new(pts: Option<u64>, duration: Option<u64>, record: Record) -> Buffer {
        Buffer {
            pts,
            duration,
            record,
            dropped: false,
            bytes: Bytes::Unreadable,
        }
    }

    /// Lets the script read the bytes with `buf:bytes()`; `read` runs only
    /// if it does, so frames are not copied into Lua otherwise.
    pub fn with_bytes(mut self, read: impl FnMut() -> Vec<u8> + Send + 'static) -> Buffer {
        self.bytes = Bytes::OnDemand(Box::new(read));
        self
    }
}

fn seconds(ns: Option<u64>) -> Option<f64> {
    ns.map(|ns| ns as f64 / 1e9)
}

fn nanoseconds(seconds: Option<f64>) -> mlua::Result<Option<u64>> {
    match seconds {
        None => Ok(None),
        Some(s) if s.is_finite() && s >= 0.0 => Ok(Some((s * 1e9).round() as u64)),
        Some(s) => Err(mlua::Error::runtime(format!(
            "a time must be a number of seconds >= 0, not {s}"
        ))),
    }
}

fn to_lua(lua: &mlua::Lua, value: &Value) -> mlua::Result<mlua::Value> {
    Ok(match value {
        Value::Bool(v) => mlua::Value::Boolean(*v),
        Value::Int(v) => mlua::Value::Integer(*v),
        Value::Float(v) => mlua::Value::Number(*v),
        Value::Text(v) => mlua::Value::String(lua.create_string(v)?),
        Value::TextList(v) => mlua::Value::Table(lua.create_sequence_from(v.iter().map(String::as_str))?),
        Value::FloatList(v) => mlua::Value::Table(lua.create_sequence_from(v.iter().copied())?),
    })
}

fn from_lua(key: &str, value: mlua::Value) -> mlua::Result<Option<Value>> {
    Ok(Some(match value {
        mlua::Value::Nil => return Ok(None),
        mlua::Value::Boolean(v) => Value::Bool(v),
        mlua::Value::Integer(v) => Value::Int(v),
        mlua::Value::Number(v) => Value::Float(v),
        mlua::Value::String(v) => Value::Text(v.to_str()?.to_owned()),
        mlua::Value::Table(t) => {
            let items: Vec<mlua::Value> = t.sequence_values().collect::<mlua::Result<_>>()?;
            if items.iter().all(|v| v.is_string()) {
                Value::TextList(items.iter().map(|v| v.to_string()).collect::<mlua::Result<_>>()?)
            } else if items.iter().all(|v| v.is_number() || v.is_integer()) {
                Value::FloatList(items.iter().map(|v| v.as_f64().unwrap_or_default()).collect())
            } else {
                return Err(mlua::Error::runtime(format!(
                    "buf:set(\"{key}\", ...): a list must hold only strings or only numbers"
                )));
            }
        }
        other => {
            return Err(mlua::Error::runtime(format!(
                "buf:set(\"{key}\", ...): a field holds a boolean, number, string or list, not a {}",
                other.type_name()
            )));
        }
    }))
}

impl UserData for Buffer {
    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        fields.add_field_method_get("pts", |_, b| Ok(seconds(b.pts)));
        fields.add_field_method_set("pts", |_, b, s: Option<f64>| {
            b.pts = nanoseconds(s)?;
            Ok(())
        });
        fields.add_field_method_get("duration", |_, b| Ok(seconds(b.duration)));
        fields.add_field_method_set("duration", |_, b, s: Option<f64>| {
            b.duration = nanoseconds(s)?;
            Ok(())
        });
        fields.add_field_method_get("dropped", |_, b| Ok(b.dropped));
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("get", |lua, b, key: String| match b.record.get(&key) {
            Some(value) => to_lua(lua, value),
            None => Ok(mlua::Nil),
        });
        methods.add_method_mut("set", |lua, b, (key, value): (String, mlua::Value)| {
            let value = from_lua(&key, value).map_err(|e| {
                mlua::Error::runtime(format!(
                    "{}{}",
                    crate::sandbox::caller(lua),
                    e.to_string().trim_start_matches("runtime error: ")
                ))
            })?;
            match value {
                Some(value) => b.record.set(key, value),
                None => {
                    b.record.remove(&key);
                }
            }
            Ok(())
        });
        methods.add_method("fields", |lua, b, ()| {
            let table = lua.create_table()?;
            for (key, value) in b.record.fields() {
                table.set(key.as_str(), to_lua(lua, value)?)?;
            }
            Ok(table)
        });
        methods.add_method("objects", |lua, b, ()| {
            let list = lua.create_table()?;
            for object in b.record.objects() {
                let entry = lua.create_table()?;
                entry.set("id", object.id)?;
                entry.set("label", object.label.as_str())?;
                entry.set("confidence", object.confidence)?;
                if let Some(bbox) = object.bbox {
                    entry.set("x", bbox.x)?;
                    entry.set("y", bbox.y)?;
                    entry.set("w", bbox.w)?;
                    entry.set("h", bbox.h)?;
                }
                list.push(entry)?;
            }
            Ok(list)
        });
        methods.add_method_mut("drop", |_, b, ()| {
            b.dropped = true;
            Ok(())
        });
        methods.add_method_mut("bytes", |lua, b, ()| {
            if let Bytes::OnDemand(read) = &mut b.bytes {
                b.bytes = Bytes::Read(read());
            }
            match &b.bytes {
                Bytes::Read(bytes) => lua.create_string(bytes),
                _ => Err(mlua::Error::runtime("this buffer's bytes are not readable")),
            }
        });
    }
}
