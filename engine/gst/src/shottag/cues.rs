//! The timed cue list of `shottag`.
//!
//! Grammar, one cue per `;`: `TIME: key=value, key=value`, for example
//! `0s: shot=s1; 4s: shot=s2, take=2; 00:00:08.5: shot=s3, lens=35`.
//! TIME is `4`, `4.5s`, `1500ms` or `HH:MM:SS(.frac)`, measured in stream
//! time. `scene` and `shot` are text, `take` an integer; other values are
//! typed by their look (`true`, `3`, `0.5`, `"quoted text"`, plain text).

use gst::ClockTime;
use slate_meta::{Value, keys};

/// One cue: from `at` on, these fields apply until the next cue.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub at: ClockTime,
    pub fields: Vec<(String, Value)>,
}

/// A parsed, time-ordered cue list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CueList(Vec<Cue>);

impl CueList {
    pub fn parse(text: &str) -> Result<CueList, String> {
        let mut cues = Vec::new();
        for (index, entry) in text.split(';').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let cue = parse_cue(entry).map_err(|why| format!("cue {} (`{entry}`): {why}", index + 1))?;
            if let Some(previous) = cues.last().map(|c: &Cue| c.at)
                && cue.at <= previous
            {
                return Err(format!(
                    "cue {} (`{entry}`) starts at {} but the cue before it starts at {previous}; list cues in time order",
                    index + 1,
                    cue.at
                ));
            }
            cues.push(cue);
        }
        Ok(CueList(cues))
    }

    /// The cue in force at `time`, if any has started.
    pub fn active(&self, time: ClockTime) -> Option<&Cue> {
        let started = self.0.partition_point(|cue| cue.at <= time);
        started.checked_sub(1).map(|i| &self.0[i])
    }
}

fn parse_cue(entry: &str) -> Result<Cue, String> {
    let (time, fields) = entry
        .split_once(": ")
        .or_else(|| {
            entry
                .split_once(':')
                .filter(|(t, _)| !t.contains(':') && parse_time(t).is_ok())
        })
        .ok_or("expected `TIME: key=value, ...`")?;
    let at = parse_time(time.trim())?;
    let fields = fields
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(parse_field)
        .collect::<Result<Vec<_>, _>>()?;
    if fields.is_empty() {
        return Err("a cue needs at least one `key=value`".into());
    }
    Ok(Cue { at, fields })
}

/// Parses a cue time in any notation [`slate_meta::parse_time`] accepts.
fn parse_time(text: &str) -> Result<ClockTime, String> {
    slate_meta::parse_time(text).map(|d| ClockTime::from_nseconds(d.as_nanos() as u64))
}

fn parse_field(field: &str) -> Result<(String, Value), String> {
    let (key, raw) = field
        .split_once('=')
        .ok_or_else(|| format!("`{field}` is not `key=value`"))?;
    let (key, raw) = (key.trim(), raw.trim());
    if key.is_empty() {
        return Err(format!("`{field}` has an empty key"));
    }
    let value = match key {
        keys::SCENE | keys::SHOT => Value::Text(unquote(raw).to_owned()),
        keys::TAKE => Value::Int(
            raw.parse()
                .map_err(|_| format!("take must be a whole number, not `{raw}`"))?,
        ),
        _ => typed(raw),
    };
    Ok((key.to_owned(), value))
}

fn unquote(raw: &str) -> &str {
    raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(raw)
}

fn typed(raw: &str) -> Value {
    if raw.starts_with('"') {
        return Value::Text(unquote(raw).to_owned());
    }
    if let Ok(b) = raw.parse::<bool>() {
        Value::Bool(b)
    } else if let Ok(i) = raw.parse::<i64>() {
        Value::Int(i)
    } else if let Some(f) = raw.parse::<f64>().ok().filter(|f| f.is_finite()) {
        Value::Float(f)
    } else {
        Value::Text(raw.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_cue_in_force() {
        let cues = CueList::parse("0s: shot=s1; 4s: shot=s2, take=2; 00:00:08: shot=s3, lens=35, hero=true").unwrap();
        let shot = |t| cues.active(ClockTime::from_mseconds(t)).unwrap().fields[0].1.clone();
        assert_eq!(shot(0), Value::from("s1"));
        assert_eq!(shot(3999), Value::from("s1"));
        assert_eq!(shot(4000), Value::from("s2"));
        assert_eq!(shot(60_000), Value::from("s3"));
        let last = cues.active(ClockTime::from_seconds(9)).unwrap();
        assert_eq!(last.fields[1], ("lens".into(), Value::Int(35)));
        assert_eq!(last.fields[2], ("hero".into(), Value::Bool(true)));
        let late = CueList::parse("2s: shot=a").unwrap();
        assert!(late.active(ClockTime::from_seconds(1)).is_none());
    }

    #[test]
    fn shot_ids_stay_text_and_take_must_be_a_number() {
        let cues = CueList::parse("0: shot=1, scene=\"two words\"").unwrap();
        let cue = cues.active(ClockTime::ZERO).unwrap();
        assert_eq!(cue.fields[0].1, Value::from("1"));
        assert_eq!(cue.fields[1].1, Value::from("two words"));
        let err = CueList::parse("0s: take=first").unwrap_err();
        assert!(err.contains("take must be a whole number"), "{err}");
    }

    #[test]
    fn refuses_unordered_or_malformed_cues_naming_the_cue() {
        let err = CueList::parse("4s: shot=b; 2s: shot=a").unwrap_err();
        assert!(
            err.starts_with("cue 2 (`2s: shot=a`)") && err.contains("time order"),
            "{err}"
        );
        assert!(CueList::parse("4s shot=b").unwrap_err().contains("expected `TIME"));
        assert!(CueList::parse("4s: shot").unwrap_err().contains("not `key=value`"));
        assert!(CueList::parse("4s: ").unwrap_err().contains("at least one"));
        assert_eq!(CueList::parse("  ;  ").unwrap(), CueList::default());
    }
}
