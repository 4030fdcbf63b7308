//! The one error type for bad pipeline input, always naming where.

use std::fmt;

/// A 1-based line and column in a pipeline file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let before = &text[..offset.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Location { line, column }
    }
}

/// Bad input: a pipeline file, a launch line or an override that cannot
/// become a pipeline. Displays as `origin:line:column: message`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct PipelineError {
    /// The file path, `<launch>` or `--set`.
    pub origin: String,
    pub at: Option<Location>,
    pub message: String,
}

impl PipelineError {
    pub fn new(origin: &str, at: Option<Location>, message: impl Into<String>) -> Self {
        PipelineError {
            origin: origin.to_owned(),
            at,
            message: message.into(),
        }
    }
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(at) = self.at {
            write!(f, ":{}:{}", at.line, at.column)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// ` (did you mean `a`, `b`?)` for the candidates closest to `wrong`, or
/// nothing when none is close.
pub fn did_you_mean<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(wrong, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    match scored.len() {
        0 => String::new(),
        _ => {
            let names: Vec<String> = scored.iter().take(3).map(|(_, c)| format!("`{c}`")).collect();
            format!(" (did you mean {}?)", names.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_columns_from_one() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(Location::of_offset(text, 0), Location { line: 1, column: 1 });
        assert_eq!(Location::of_offset(text, 7), Location { line: 2, column: 2 });
        assert_eq!(Location::of_offset(text, 999), Location { line: 3, column: 1 });
    }

    #[test]
    fn suggestions_name_close_candidates_only() {
        let names = ["x264enc", "x265enc", "queue", "videoconvert"];
        assert_eq!(did_you_mean("x264nec", names), " (did you mean `x264enc`, `x265enc`?)");
        assert_eq!(did_you_mean("videoconvrt", names), " (did you mean `videoconvert`?)");
        assert_eq!(did_you_mean("zzz", names), "");
    }
}
