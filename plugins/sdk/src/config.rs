//! The one way plugins read their config: a JSON object (empty text is an
//! empty object), with lookups that refuse a wrong value by its key.

use crate::prelude::PluginError;

/// A plugin's config, as the stage's `config` property gave it.
#[derive(Debug, Clone, Default)]
pub struct Config(serde_json::Map<String, serde_json::Value>);

fn bad(why: String) -> PluginError {
    PluginError::BadConfig(why)
}

impl Config {
    /// Parses `text`; `example` shows a right config in the error.
    pub fn parse(text: &str, example: &str) -> Result<Config, PluginError> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        match serde_json::from_str(text) {
            Ok(serde_json::Value::Object(map)) => Ok(Config(map)),
            Ok(_) => Err(bad(format!("the config must be a JSON object, e.g. {example}"))),
            Err(e) => Err(bad(format!("the config is not JSON ({e}); e.g. {example}"))),
        }
    }

    /// Refuses a key that is not one of `known`.
    pub fn only(&self, known: &[&str]) -> Result<(), PluginError> {
        match self.0.keys().find(|key| !known.contains(&key.as_str())) {
            Some(key) => Err(bad(format!("unknown key `{key}`; the keys are {}", known.join(", ")))),
            None => Ok(()),
        }
    }

    /// The value of `key`, if given.
    pub fn value(&self, key: &str) -> Option<&serde_json::Value> {
        self.0.get(key)
    }

    /// Every key with its value.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &serde_json::Value)> {
        self.0.iter().map(|(key, value)| (key.as_str(), value))
    }

    /// A number, if given.
    pub fn number(&self, key: &str) -> Result<Option<f64>, PluginError> {
        self.value(key)
            .map(|value| {
                value.as_f64().ok_or_else(|| {
                    bad(format!(
                        "`{key}` must be a number, e.g. {{\"{key}\": 1.5}}, not {value}"
                    ))
                })
            })
            .transpose()
    }

    /// A number from `min` to `max`, `default` when not given.
    pub fn number_in(&self, key: &str, default: f64, min: f64, max: f64) -> Result<f64, PluginError> {
        let value = self.number(key)?.unwrap_or(default);
        if !(min..=max).contains(&value) {
            return Err(bad(format!("`{key}` must be from {min} to {max}, got {value}")));
        }
        Ok(value)
    }

    /// Text, if given.
    pub fn text(&self, key: &str) -> Result<Option<&str>, PluginError> {
        self.value(key)
            .map(|value| {
                value
                    .as_str()
                    .ok_or_else(|| bad(format!("`{key}` must be text, not {value}")))
            })
            .transpose()
    }

    /// true or false, `default` when not given.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, PluginError> {
        match self.value(key) {
            None => Ok(default),
            Some(value) => value
                .as_bool()
                .ok_or_else(|| bad(format!("`{key}` must be true or false, not {value}"))),
        }
    }
}
