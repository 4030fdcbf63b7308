//! Reading a pipeline file: TOML text to a [`PipelineFile`] whose every
//! piece remembers its line, so later errors can point at it.
//!
//! ```toml
//! [pipeline]
//! description = "camera to file"
//! duration = "12s"                      # optional: stop (EOS) after this long
//! links = ["camera ! tag ! enc ! mux ! file"]
//!
//! [source.camera]
//! element = "videotestsrc"
//! caps = "video/x-raw,width=1280,height=720,framerate=30/1"
//! properties = { is-live = true }
//! ```
//! A link step that is no declared name is an anonymous element of that
//! factory (`queue`, `videoconvert`), or a caps filter if it contains `/`.

use std::time::Duration;

use toml_edit::{Item, Table, Value};

use crate::error::{Location, PipelineError, did_you_mean};

/// Where an element sits in the pipeline, which decides the pads it must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Source,
    Stage,
    Sink,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Source, Role::Stage, Role::Sink];

    /// The table name in pipeline files.
    pub fn section(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Stage => "stage",
            Role::Sink => "sink",
        }
    }
}

/// A property value as written in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<PropertyValue>),
    Table(Vec<(String, PropertyValue)>),
}

impl PropertyValue {
    /// What kind of value this is, in the words a TOML user knows.
    pub fn kind(&self) -> &'static str {
        match self {
            PropertyValue::Bool(_) => "a boolean",
            PropertyValue::Int(_) => "an integer",
            PropertyValue::Float(_) => "a float",
            PropertyValue::Text(_) => "a string",
            PropertyValue::List(_) => "an array",
            PropertyValue::Table(_) => "a table",
        }
    }

    /// Reads a value from a `--set` override: TOML syntax when it parses,
    /// otherwise the raw text as a string.
    pub fn from_override(text: &str) -> PropertyValue {
        text.parse::<Value>()
            .ok()
            .and_then(|v| convert_value(&v).ok())
            .unwrap_or_else(|| PropertyValue::Text(text.to_owned()))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PropertyDecl {
    pub name: String,
    pub value: PropertyValue,
    /// None when the value came from the command line.
    pub at: Option<Location>,
}

/// One `[source.NAME]`, `[stage.NAME]` or `[sink.NAME]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementDecl {
    pub name: String,
    pub role: Role,
    pub factory: String,
    /// Caps forced on this element's output(s).
    pub caps: Option<String>,
    pub properties: Vec<PropertyDecl>,
    pub at: Option<Location>,
}

/// One step of a link chain.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A declared element (optionally one of its pads) or an anonymous
    /// element of the factory of that name.
    Element { name: String, pad: Option<String> },
    /// An inline caps filter.
    Caps(String),
}

/// One string of `links`: `a ! b.pad ! video/x-raw ! c`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkChain {
    pub text: String,
    pub steps: Vec<Step>,
    pub at: Option<Location>,
}

/// A whole pipeline file, read and checked for shape (not yet for elements).
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineFile {
    /// The file path, or what else the text came from.
    pub origin: String,
    pub description: Option<String>,
    /// Stop (send EOS) after this much running time.
    pub duration: Option<Duration>,
    pub elements: Vec<ElementDecl>,
    pub links: Vec<LinkChain>,
}

impl PipelineFile {
    /// Reads a pipeline file from disk.
    pub fn load(path: &std::path::Path) -> Result<PipelineFile, PipelineError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| {
            let hint = match err.kind() {
                std::io::ErrorKind::NotFound => "; check the path",
                _ => "",
            };
            PipelineError::new(&origin, None, format!("cannot read the pipeline file: {err}{hint}"))
        })?;
        PipelineFile::parse(&text, &origin)
    }

    /// Reads a pipeline file from `text`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<PipelineFile, PipelineError> {
        Reader { text, origin }.read()
    }

    pub fn element(&self, name: &str) -> Option<&ElementDecl> {
        self.elements.iter().find(|e| e.name == name)
    }

    /// Sets (or replaces) a property from the command line: `NAME.PROP=VALUE`.
    pub fn apply_override(&mut self, assignment: &str) -> Result<(), PipelineError> {
        let fail = |message: String| PipelineError::new("--set", None, message);
        let (target, value) = assignment
            .split_once('=')
            .ok_or_else(|| fail(format!("`{assignment}` is not `ELEMENT.PROPERTY=VALUE`")))?;
        let (element, property) = target
            .split_once('.')
            .ok_or_else(|| fail(format!("`{target}` is not `ELEMENT.PROPERTY`")))?;
        let names: Vec<&str> = self.elements.iter().map(|e| e.name.as_str()).collect();
        let suggestion = did_you_mean(element, names);
        let decl = self
            .elements
            .iter_mut()
            .find(|e| e.name == element)
            .ok_or_else(|| fail(format!("no element named `{element}` in {}{suggestion}", self.origin)))?;
        let value = PropertyValue::from_override(value);
        // `caps` is the declaration's caps unless the element itself has a
        // property of that name (capsfilter) set in the file.
        if property == "caps"
            && decl.properties.iter().all(|p| p.name != "caps")
            && let PropertyValue::Text(caps) = &value
        {
            decl.caps = Some(caps.clone());
            return Ok(());
        }
        decl.properties.retain(|p| p.name != property);
        decl.properties.push(PropertyDecl {
            name: property.to_owned(),
            value,
            at: None,
        });
        Ok(())
    }
}

/// What [pipeline] holds.
struct PipelineSection {
    description: Option<String>,
    duration: Option<Duration>,
    links: Vec<LinkChain>,
}

struct Reader<'t> {
    text: &'t str,
    origin: &'t str,
}

impl Reader<'_> {
    fn at(&self, span: Option<std::ops::Range<usize>>) -> Option<Location> {
        span.map(|s| Location::of_offset(self.text, s.start))
    }

    fn error(&self, span: Option<std::ops::Range<usize>>, message: impl Into<String>) -> PipelineError {
        PipelineError::new(self.origin, self.at(span), message)
    }

    fn read(&self) -> Result<PipelineFile, PipelineError> {
        let doc = toml_edit::Document::parse(self.text)
            .map_err(|e| self.error(e.span(), format!("TOML syntax error: {}", e.message().trim())))?;
        let root = doc.as_table();
        for (key, item) in root.iter() {
            if !["pipeline", "source", "stage", "sink"].contains(&key) {
                let hint = did_you_mean(key, ["pipeline", "source", "stage", "sink"]);
                return Err(self.error(
                    root.key(key).and_then(|k| k.span()).or(item.span()),
                    format!("unknown section `{key}`{hint}; a pipeline file has [pipeline], [source.NAME], [stage.NAME] and [sink.NAME]"),
                ));
            }
        }
        // Elements first: a `links` line typed under an element's table is
        // reported there, not as missing from [pipeline].
        let mut elements = Vec::new();
        for role in Role::ALL {
            self.element_section(root, role, &mut elements)?;
        }
        let pipeline = match root.get("pipeline") {
            Some(Item::Table(t)) => t,
            Some(other) => return Err(self.error(other.span(), "`pipeline` must be a table: write [pipeline]")),
            None => {
                return Err(self.error(
                    None,
                    "no [pipeline] section; it holds `links`, the order elements connect in",
                ));
            }
        };
        let PipelineSection {
            description,
            duration,
            links,
        } = self.pipeline_section(pipeline)?;
        Ok(PipelineFile {
            origin: self.origin.to_owned(),
            description,
            duration,
            elements,
            links,
        })
    }

    fn pipeline_section(&self, table: &Table) -> Result<PipelineSection, PipelineError> {
        let mut description = None;
        let mut duration = None;
        let mut links = None;
        for (key, item) in table.iter() {
            let span = item.span().or_else(|| table.key(key).and_then(|k| k.span()));
            match key {
                "description" => description = Some(self.string(item, "pipeline.description")?.to_owned()),
                "duration" => {
                    let text = self.string(item, "pipeline.duration")?;
                    duration = Some(
                        slate_meta::parse_time(text)
                            .map_err(|why| self.error(span, format!("pipeline.duration: {why}")))?,
                    );
                }
                "links" => links = Some(self.links(item)?),
                other => {
                    let hint = did_you_mean(other, ["description", "duration", "links"]);
                    return Err(self.error(
                        table.key(other).and_then(|k| k.span()),
                        format!("unknown key `{other}` in [pipeline]{hint}; allowed: description, duration, links"),
                    ));
                }
            }
        }
        let links = links.ok_or_else(|| {
            self.error(
                table.span(),
                "[pipeline] has no `links`; write e.g. links = [\"camera ! encoder ! file\"]",
            )
        })?;
        Ok(PipelineSection {
            description,
            duration,
            links,
        })
    }

    fn string<'i>(&self, item: &'i Item, what: &str) -> Result<&'i str, PipelineError> {
        item.as_str().ok_or_else(|| {
            self.error(
                item.span(),
                format!("`{what}` must be a string, not {}", item_kind(item)),
            )
        })
    }

    fn links(&self, item: &Item) -> Result<Vec<LinkChain>, PipelineError> {
        let array = item.as_array().ok_or_else(|| {
            self.error(
                item.span(),
                format!("`links` must be an array of strings, not {}", item_kind(item)),
            )
        })?;
        if array.is_empty() {
            return Err(self.error(
                item.span(),
                "`links` is empty; a pipeline needs at least one link chain",
            ));
        }
        array
            .iter()
            .map(|value| {
                let text = value.as_str().ok_or_else(|| {
                    self.error(
                        value.span(),
                        "each entry of `links` must be a string like \"a ! b ! c\"",
                    )
                })?;
                let steps = parse_chain(text).map_err(|why| self.error(value.span(), why))?;
                Ok(LinkChain {
                    text: text.to_owned(),
                    steps,
                    at: self.at(value.span()),
                })
            })
            .collect()
    }

    fn element_section(&self, root: &Table, role: Role, out: &mut Vec<ElementDecl>) -> Result<(), PipelineError> {
        let section = role.section();
        let Some(item) = root.get(section) else { return Ok(()) };
        let table = item.as_table().ok_or_else(|| {
            self.error(
                item.span(),
                format!("`{section}` must hold named elements, e.g. [{section}.NAME]"),
            )
        })?;
        for (name, item) in table.iter() {
            let key_span = table.key(name).and_then(|k| k.span());
            let span = item.span().or(key_span.clone());
            check_name(name).map_err(|why| self.error(key_span.clone(), why))?;
            if let Some(previous) = out.iter().find(|e| e.name == name) {
                return Err(self.error(
                    span,
                    format!(
                        "element name `{name}` is used twice ([{}.{name}] and [{section}.{name}]); names must be unique",
                        previous.role.section()
                    ),
                ));
            }
            let body = item.as_table_like().ok_or_else(|| {
                self.error(
                    span.clone(),
                    format!("[{section}.{name}] must be a table with `element = \"...\"`"),
                )
            })?;
            out.push(self.element(name, role, body, span)?);
        }
        Ok(())
    }

    fn element(
        &self,
        name: &str,
        role: Role,
        body: &dyn toml_edit::TableLike,
        span: Option<std::ops::Range<usize>>,
    ) -> Result<ElementDecl, PipelineError> {
        let section = format!("{}.{name}", role.section());
        let mut factory = None;
        let mut caps = None;
        let mut properties = Vec::new();
        for (key, item) in body.iter() {
            match key {
                "element" => factory = Some(self.string(item, &format!("{section}.element"))?.to_owned()),
                "caps" => caps = Some(self.string(item, &format!("{section}.caps"))?.to_owned()),
                "properties" => {
                    let props = item.as_table_like().ok_or_else(|| {
                        self.error(
                            item.span(),
                            format!("`{section}.properties` must be a table, e.g. {{ is-live = true }}"),
                        )
                    })?;
                    for (prop, value) in props.iter() {
                        let at = self.at(props.key(prop).and_then(|k| k.span()).or(value.span()));
                        let value = convert_item(value).map_err(|why| {
                            PipelineError::new(self.origin, at, format!("property `{prop}` of `{name}`: {why}"))
                        })?;
                        properties.push(PropertyDecl {
                            name: prop.to_owned(),
                            value,
                            at,
                        });
                    }
                }
                other => {
                    let hint = if other == "links" {
                        "; `links` belongs in [pipeline]".to_owned()
                    } else {
                        did_you_mean(other, ["element", "caps", "properties"])
                    };
                    return Err(self.error(
                        body.key(other).and_then(|k| k.span()),
                        format!("unknown key `{other}` in [{section}]{hint}; allowed: element, caps, properties"),
                    ));
                }
            }
        }
        let factory = factory.ok_or_else(|| {
            self.error(
                span.clone(),
                format!("[{section}] has no `element`; say which GStreamer element it is, e.g. element = \"queue\""),
            )
        })?;
        Ok(ElementDecl {
            name: name.to_owned(),
            role,
            factory,
            caps,
            properties,
            at: self.at(span),
        })
    }
}

fn item_kind(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) | Item::Value(Value::InlineTable(_)) => "a table",
        Item::ArrayOfTables(_) | Item::Value(Value::Array(_)) => "an array",
        Item::Value(Value::String(_)) => "a string",
        Item::Value(Value::Integer(_)) => "an integer",
        Item::Value(Value::Float(_)) => "a float",
        Item::Value(Value::Boolean(_)) => "a boolean",
        Item::Value(Value::Datetime(_)) => "a date-time",
    }
}

fn convert_item(item: &Item) -> Result<PropertyValue, String> {
    match item {
        Item::Value(value) => convert_value(value),
        Item::Table(table) => table
            .iter()
            .map(|(k, v)| Ok((k.to_owned(), convert_item(v)?)))
            .collect::<Result<_, String>>()
            .map(PropertyValue::Table),
        other => Err(format!("{} cannot be a property value", item_kind(other))),
    }
}

fn convert_value(value: &Value) -> Result<PropertyValue, String> {
    Ok(match value {
        Value::String(s) => PropertyValue::Text(s.value().clone()),
        Value::Integer(i) => PropertyValue::Int(*i.value()),
        Value::Float(f) => PropertyValue::Float(*f.value()),
        Value::Boolean(b) => PropertyValue::Bool(*b.value()),
        Value::Datetime(_) => return Err("date-times are not property values; write the time as a string".into()),
        Value::Array(a) => PropertyValue::List(a.iter().map(convert_value).collect::<Result<_, _>>()?),
        Value::InlineTable(t) => PropertyValue::Table(
            t.iter()
                .map(|(k, v)| Ok((k.to_owned(), convert_value(v)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a usable element name; use letters, digits, `_` and `-`"
        ))
    }
}

/// Splits `a ! b.pad ! video/x-raw ! c` into its steps.
fn parse_chain(text: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for (index, raw) in text.split('!').enumerate() {
        let token = raw.trim();
        if token.is_empty() {
            return Err(format!(
                "link `{text}` has an empty step (#{}); write `a ! b`",
                index + 1
            ));
        }
        if token.contains('/') {
            steps.push(Step::Caps(token.to_owned()));
            continue;
        }
        let (name, pad) = match token.split_once('.') {
            Some((name, pad)) => (name, Some(pad)),
            None => (token, None),
        };
        check_name(name).map_err(|why| format!("link `{text}`: {why}"))?;
        if pad.is_some_and(|p| p.is_empty() || p.chars().any(char::is_whitespace)) {
            return Err(format!("link `{text}`: `{token}` names no pad; write `element.pad`"));
        }
        steps.push(Step::Element {
            name: name.to_owned(),
            pad: pad.map(str::to_owned),
        });
    }
    if steps.len() < 2 {
        return Err(format!("link `{text}` has one step; write at least `a ! b`"));
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[pipeline]
description = "test"
duration = "2.5s"
links = ["cam ! video/x-raw,width=64 ! queue ! out.sink"]

[source.cam]
element = "videotestsrc"
caps = "video/x-raw,framerate=30/1"
properties = { is-live = true, pattern = "ball", num-buffers = 10, fields = { a = 1 } }

[sink.out]
element = "fakesink"
[sink.out.properties]
sync = false
"#;

    #[test]
    fn reads_every_part_with_locations() {
        let file = PipelineFile::parse(GOOD, "good.toml").unwrap();
        assert_eq!(file.duration, Some(Duration::from_millis(2500)));
        assert_eq!(file.elements.len(), 2);
        let cam = file.element("cam").unwrap();
        assert_eq!((cam.role, cam.factory.as_str()), (Role::Source, "videotestsrc"));
        assert_eq!(cam.at.unwrap().line, 7);
        assert_eq!(cam.properties[1].value, PropertyValue::Text("ball".into()));
        assert_eq!(
            cam.properties[3].value,
            PropertyValue::Table(vec![("a".into(), PropertyValue::Int(1))])
        );
        assert_eq!(file.element("out").unwrap().properties[0].at.unwrap().line, 15);
        let chain = &file.links[0];
        assert_eq!(chain.at.unwrap().line, 5);
        assert_eq!(chain.steps[1], Step::Caps("video/x-raw,width=64".into()));
        assert_eq!(
            chain.steps[3],
            Step::Element {
                name: "out".into(),
                pad: Some("sink".into())
            }
        );
    }

    #[test]
    fn overrides_replace_properties_and_caps() {
        let mut file = PipelineFile::parse(GOOD, "good.toml").unwrap();
        file.apply_override("cam.num-buffers=99").unwrap();
        file.apply_override("cam.caps=video/x-raw,width=8").unwrap();
        file.apply_override("cam.pattern=snow").unwrap();
        let cam = file.element("cam").unwrap();
        assert!(cam.properties.contains(&PropertyDecl {
            name: "num-buffers".into(),
            value: PropertyValue::Int(99),
            at: None
        }));
        assert_eq!(cam.caps.as_deref(), Some("video/x-raw,width=8"));
        let err = file.apply_override("camm.x=1").unwrap_err().to_string();
        assert!(
            err.contains("no element named `camm`") && err.contains("did you mean `cam`"),
            "{err}"
        );
        assert!(file.apply_override("cam").is_err());
    }

    #[test]
    fn chains_refuse_empty_or_single_steps() {
        assert!(parse_chain("a ! ! b").unwrap_err().contains("empty step (#2)"));
        assert!(parse_chain("a").unwrap_err().contains("one step"));
        assert!(parse_chain("a ! b. ").unwrap_err().contains("names no pad"));
        assert!(
            parse_chain("a ! b c")
                .unwrap_err()
                .contains("not a usable element name")
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        /// Any text at all, or a valid file with bytes changed, reads to a
        /// file or to an error; never a panic.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}", at in 0usize..400, byte in 0u8..128) {
            let _ = PipelineFile::parse(&text, "fuzz.toml");
            let mut bytes = GOOD.as_bytes().to_vec();
            let at = at % bytes.len();
            bytes[at] = byte;
            if let Ok(mutated) = String::from_utf8(bytes) {
                let _ = PipelineFile::parse(&mutated, "fuzz.toml");
            }
        }
    }
}
