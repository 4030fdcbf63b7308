//! `slate.pipeline{...}`: a pipeline described as a Lua table with the
//! same shape as a pipeline file, written out as TOML and read by the
//! same reader, so both forms accept and refuse the same things.
//!
//! ```lua
//! slate.pipeline {
//!   pipeline = { links = { "camera ! log ! out" } },
//!   source = { camera = { element = "videotestsrc", properties = { ["is-live"] = true } } },
//!   stage = { log = { element = "metalog", properties = { location = "out/log.jsonl" } } },
//!   sink = { out = { element = "fakesink" } },
//! }
//! ```

use mlua::{Table, Value};

use super::objects::runtime;

/// The pipeline-file sections whose entries are themselves tables.
const ROLES: [&str; 3] = ["source", "stage", "sink"];

/// TOML text of a pipeline table; keys in name order.
pub(crate) fn to_toml(table: &Table) -> mlua::Result<String> {
    let mut out = String::new();
    for (key, value) in sorted(table)? {
        match value {
            Value::Table(section) if ROLES.contains(&key.as_str()) => {
                for (name, element) in sorted(&section)? {
                    let Value::Table(element) = element else {
                        return Err(runtime(format!(
                            "slate.pipeline: `{key}.{name}` must be a table like {{ element = \"videotestsrc\" }}"
                        )));
                    };
                    out.push_str(&format!("[{key}.{}]\n", quote(&name)));
                    entries(&element, &mut out, &format!("{key}.{name}"))?;
                }
            }
            Value::Table(section) => {
                out.push_str(&format!("[{}]\n", quote(&key)));
                entries(&section, &mut out, &key)?;
            }
            other => out.push_str(&format!("{} = {}\n", quote(&key), inline(&other, &key)?)),
        }
    }
    Ok(out)
}

fn entries(table: &Table, out: &mut String, path: &str) -> mlua::Result<()> {
    for (key, value) in sorted(table)? {
        out.push_str(&format!(
            "{} = {}\n",
            quote(&key),
            inline(&value, &format!("{path}.{key}"))?
        ));
    }
    Ok(())
}

fn sorted(table: &Table) -> mlua::Result<Vec<(String, Value)>> {
    let mut pairs = Vec::new();
    for pair in table.pairs::<Value, Value>() {
        let (key, value) = pair?;
        let key = match key {
            Value::String(s) => s.to_str()?.to_owned(),
            Value::Integer(i) => i.to_string(),
            other => {
                return Err(runtime(format!(
                    "slate.pipeline: a key cannot be a {}",
                    other.type_name()
                )));
            }
        };
        pairs.push((key, value));
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(pairs)
}

fn inline(value: &Value, path: &str) -> mlua::Result<String> {
    Ok(match value {
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Number(n) if n.is_finite() => format!("{n:?}"),
        Value::String(s) => quote_string(&s.to_str()?),
        Value::Table(t) if t.raw_len() > 0 => {
            let items: mlua::Result<Vec<String>> = t.sequence_values::<Value>().map(|v| inline(&v?, path)).collect();
            format!("[{}]", items?.join(", "))
        }
        Value::Table(t) => {
            let mut items = Vec::new();
            for (key, value) in sorted(t)? {
                items.push(format!(
                    "{} = {}",
                    quote(&key),
                    inline(&value, &format!("{path}.{key}"))?
                ));
            }
            format!("{{ {} }}", items.join(", "))
        }
        other => {
            return Err(runtime(format!(
                "slate.pipeline: `{path}` cannot be a {}; use a string, number, boolean or table",
                other.type_name()
            )));
        }
    })
}

fn quote(key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        key.to_owned()
    } else {
        quote_string(key)
    }
}

fn quote_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_reads_like_the_same_pipeline_file() {
        let lua = mlua::Lua::new();
        let table: Table = lua
            .load(
                r#"{ pipeline = { links = { "cam ! out" }, duration = "2s" },
                     source = { cam = { element = "videotestsrc", caps = "video/x-raw,width=64",
                                        properties = { ["is-live"] = true, pattern = "ball", num = 3, ratio = 0.5 } } },
                     sink = { out = { element = "fakesink" } } }"#,
            )
            .eval()
            .unwrap();
        let text = to_toml(&table).unwrap();
        let file = slate_pipeline::PipelineFile::parse(&text, "table").unwrap();
        assert_eq!(file.elements.len(), 2);
        assert_eq!(file.links[0].text, "cam ! out");
        assert_eq!(file.duration, Some(std::time::Duration::from_secs(2)));
        let cam = file.element("cam").unwrap();
        assert_eq!(cam.caps.as_deref(), Some("video/x-raw,width=64"));
        assert_eq!(cam.properties.len(), 4);
    }

    #[test]
    fn quoting_survives_hostile_strings() {
        let lua = mlua::Lua::new();
        let table: Table = lua
            .load(r#"{ pipeline = { links = { "a ! b" }, description = "say \"hi\"\n\\ \t ]]" } }"#)
            .eval()
            .unwrap();
        let file = slate_pipeline::PipelineFile::parse(&to_toml(&table).unwrap(), "table").unwrap();
        assert_eq!(file.description.as_deref(), Some("say \"hi\"\n\\ \t ]]"));
    }

    #[test]
    fn functions_are_refused_with_their_path() {
        let lua = mlua::Lua::new();
        let table: Table = lua
            .load(r#"{ source = { cam = { element = "videotestsrc", properties = { pattern = print } } } }"#)
            .eval()
            .unwrap();
        let error = to_toml(&table).unwrap_err().to_string();
        assert!(
            error.contains("`source.cam.properties.pattern` cannot be a function"),
            "{error}"
        );
    }
}
