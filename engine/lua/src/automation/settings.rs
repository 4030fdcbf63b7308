//! `slate.settings{...}`: the options a script declares, with defaults and
//! help, so a UI can render them and a user can override them
//! (`slate script FILE --setting name=value`).
//!
//! ```lua
//! local settings = slate.settings {
//!   interval_ms = { default = 1000, help = "time between cuts", min = 100 },
//!   start = { default = "21:00:00", help = "when to start recording" },
//!   camera = { default = "ball", choices = { "ball", "smpte" } },
//! }
//! ```

use std::collections::BTreeMap;

use mlua::{Lua, Table};
use serde::Serialize;

use super::objects::runtime;

/// One declared setting and the value the script got.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    pub name: String,
    /// `integer`, `number`, `boolean` or `string`: the default's type.
    pub kind: &'static str,
    pub default: serde_json::Value,
    pub value: serde_json::Value,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub help: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

const KEYS: [&str; 5] = ["default", "help", "min", "max", "choices"];

/// Reads a `slate.settings` table, applies the user's overrides (text, as
/// typed on a command line), checks every value and returns the settings
/// in name order with the table of values the script gets.
pub(crate) fn declare(
    lua: &Lua,
    table: Table,
    overrides: &BTreeMap<String, String>,
) -> mlua::Result<(Vec<Setting>, Table)> {
    let mut settings = Vec::new();
    for pair in table.pairs::<String, Table>() {
        let (name, spec) = pair.map_err(|e| {
            runtime(format!(
                "slate.settings: each entry must be `name = {{ default = ..., help = \"...\" }}` ({e})"
            ))
        })?;
        settings.push(read_one(&name, &spec, overrides.get(&name))?);
    }
    settings.sort_by(|a, b| a.name.cmp(&b.name));
    let values = lua.create_table()?;
    for setting in &settings {
        values.set(setting.name.as_str(), to_lua(lua, &setting.value)?)?;
    }
    Ok((settings, values))
}

fn read_one(name: &str, spec: &Table, text: Option<&String>) -> mlua::Result<Setting> {
    let fail = |why: String| runtime(format!("slate.settings: `{name}`: {why}"));
    for key in spec.clone().pairs::<String, mlua::Value>() {
        let (key, _) = key?;
        if !KEYS.contains(&key.as_str()) {
            return Err(fail(format!(
                "unknown key `{key}`{}; a setting has {}",
                slate_pipeline::did_you_mean(&key, KEYS),
                KEYS.join(", ")
            )));
        }
    }
    let default: mlua::Value = spec.get("default")?;
    let (kind, default) = match default {
        mlua::Value::Integer(i) => ("integer", serde_json::json!(i)),
        mlua::Value::Number(n) => ("number", serde_json::json!(n)),
        mlua::Value::Boolean(b) => ("boolean", serde_json::json!(b)),
        mlua::Value::String(s) => ("string", serde_json::json!(s.to_str()?.to_owned())),
        mlua::Value::Nil => return Err(fail("needs a `default` (a number, boolean or string)".into())),
        other => {
            return Err(fail(format!(
                "`default` must be a number, boolean or string, not a {}",
                other.type_name()
            )));
        }
    };
    let choices: Vec<String> = spec.get::<Option<Vec<String>>>("choices")?.unwrap_or_default();
    let setting = Setting {
        name: name.to_owned(),
        kind,
        value: default.clone(),
        default,
        help: spec.get::<Option<String>>("help")?.unwrap_or_default(),
        min: spec.get("min")?,
        max: spec.get("max")?,
        choices,
    };
    check(&setting, &setting.default).map_err(|why| fail(format!("the default {why}")))?;
    let Some(text) = text else {
        return Ok(setting);
    };
    let value = parse(kind, text).map_err(|why| runtime(format!("setting `{name}`: `{text}` is not {why}")))?;
    check(&setting, &value).map_err(|why| runtime(format!("setting `{name}`: {text} {why}")))?;
    Ok(Setting { value, ..setting })
}

fn parse(kind: &str, text: &str) -> Result<serde_json::Value, &'static str> {
    let text = text.trim();
    Ok(match kind {
        "integer" => serde_json::json!(text.parse::<i64>().map_err(|_| "an integer")?),
        "number" => serde_json::json!(text.parse::<f64>().ok().filter(|n| n.is_finite()).ok_or("a number")?),
        "boolean" => serde_json::json!(match text {
            "true" | "yes" | "on" | "1" => true,
            "false" | "no" | "off" | "0" => false,
            _ => return Err("a boolean (true or false)"),
        }),
        _ => serde_json::json!(text),
    })
}

fn check(setting: &Setting, value: &serde_json::Value) -> Result<(), String> {
    if let Some(n) = value.as_f64() {
        if let Some(min) = setting.min.filter(|min| n < *min) {
            return Err(format!("is below the minimum {min}"));
        }
        if let Some(max) = setting.max.filter(|max| n > *max) {
            return Err(format!("is above the maximum {max}"));
        }
    }
    if let Some(text) = value.as_str()
        && !setting.choices.is_empty()
        && !setting.choices.iter().any(|c| c == text)
    {
        return Err(format!("`{text}` is not one of {}", setting.choices.join(", ")));
    }
    Ok(())
}

fn to_lua(lua: &Lua, value: &serde_json::Value) -> mlua::Result<mlua::Value> {
    Ok(match value {
        serde_json::Value::Bool(b) => mlua::Value::Boolean(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => mlua::Value::Integer(i),
            None => mlua::Value::Number(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => mlua::Value::String(lua.create_string(s)?),
        _ => mlua::Nil,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declare_with(source: &str, overrides: &[(&str, &str)]) -> mlua::Result<Vec<Setting>> {
        let lua = Lua::new();
        let table: Table = lua.load(source).eval()?;
        let overrides = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        declare(&lua, table, &overrides).map(|(settings, _)| settings)
    }

    #[test]
    fn defaults_types_and_overrides() {
        let source = r#"{ every = { default = 1000, min = 1, help = "ms" }, gain = { default = 0.5 },
                          on = { default = true }, camera = { default = "ball", choices = { "ball", "smpte" } } }"#;
        let settings = declare_with(source, &[("every", "250"), ("camera", "smpte"), ("on", "no")]).unwrap();
        let by_name: BTreeMap<_, _> = settings.iter().map(|s| (s.name.as_str(), s)).collect();
        assert_eq!(by_name["every"].kind, "integer");
        assert_eq!(by_name["every"].value, serde_json::json!(250));
        assert_eq!(by_name["every"].default, serde_json::json!(1000));
        assert_eq!(by_name["gain"].kind, "number");
        assert_eq!(by_name["on"].value, serde_json::json!(false));
        assert_eq!(by_name["camera"].value, serde_json::json!("smpte"));
    }

    #[test]
    fn bad_declarations_and_values_name_the_setting() {
        let cases = [
            ("{ x = { help = 'no default' } }", vec![], "`x`: needs a `default`"),
            (
                "{ x = { default = 1, hlep = '?' } }",
                vec![],
                "unknown key `hlep` (did you mean `help`?)",
            ),
            (
                "{ x = { default = 5, max = 3 } }",
                vec![],
                "the default is above the maximum 3",
            ),
            (
                "{ x = { default = 1 } }",
                vec![("x", "fast")],
                "setting `x`: `fast` is not an integer",
            ),
            (
                "{ x = { default = 1, min = 0 } }",
                vec![("x", "-4")],
                "setting `x`: -4 is below the minimum 0",
            ),
            (
                "{ x = { default = 'a', choices = {'a','b'} } }",
                vec![("x", "c")],
                "`c` is not one of a, b",
            ),
        ];
        for (source, overrides, expected) in cases {
            let error = declare_with(source, &overrides).unwrap_err().to_string();
            assert!(error.contains(expected), "{source}: {error}");
        }
    }
}
