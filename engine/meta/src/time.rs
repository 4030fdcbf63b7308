//! The one notation for times and durations in Slate's text formats
//! (pipeline files, cue lists, command-line options).

use std::time::Duration;

/// Parses `4`, `4.5s`, `1500ms` or `HH:MM:SS(.frac)`.
pub fn parse_time(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad = || format!("`{text}` is not a time; write e.g. `4s`, `1500ms` or `00:00:04.5`");
    let seconds = if let Some(ms) = text.strip_suffix("ms") {
        ms.trim().parse::<f64>().map_err(|_| bad())? / 1000.0
    } else if text.contains(':') {
        let parts: Vec<&str> = text.split(':').collect();
        let [h, m, s] = parts.as_slice() else { return Err(bad()) };
        let h: u64 = h.parse().map_err(|_| bad())?;
        let m: u64 = m.parse().map_err(|_| bad())?;
        let s: f64 = s.parse().map_err(|_| bad())?;
        if m >= 60 || !(0.0..60.0).contains(&s) {
            return Err(bad());
        }
        (h * 3600 + m * 60) as f64 + s
    } else {
        text.strip_suffix('s')
            .unwrap_or(text)
            .trim()
            .parse::<f64>()
            .map_err(|_| bad())?
    };
    if !seconds.is_finite() || !(0.0..=1e9).contains(&seconds) {
        return Err(bad());
    }
    Ok(Duration::from_nanos((seconds * 1e9).round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_times_in_every_form() {
        assert_eq!(parse_time("4").unwrap(), Duration::from_secs(4));
        assert_eq!(parse_time("4.5s").unwrap(), Duration::from_millis(4500));
        assert_eq!(parse_time(" 1500ms").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_time("01:02:03.25").unwrap(), Duration::from_millis(3_723_250));
        for bad in ["", "x", "-1s", "1:99:00", "1:00:-1", "nan", "inf", "1e99"] {
            assert!(parse_time(bad).is_err(), "{bad} should be refused");
        }
    }
}
