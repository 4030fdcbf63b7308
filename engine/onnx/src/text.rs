//! Sentence embeddings: BERT's WordPiece tokeniser (uncased) and MiniLM
//! with mean pooling, the way sentence-transformers' all-MiniLM-L6-v2
//! turns text into a 384-d unit vector.

use std::collections::HashMap;
use std::sync::Arc;

use unicode_normalization::UnicodeNormalization;

use crate::error::OnnxError;
use crate::manifest;
use crate::session::{Model, Options, file_sha256, open};
use crate::tensor::{TensorView, ViewData};

/// The uncased WordPiece tokeniser of BERT.
#[derive(Debug)]
pub struct WordPiece {
    ids: HashMap<String, i64>,
    unknown: i64,
    start: i64,
    end: i64,
}

/// Longest word WordPiece splits; longer ones are unknown.
const MAX_WORD: usize = 100;

impl WordPiece {
    /// The pinned vocabulary `name` (`[vocab.NAME]` in models.toml).
    pub fn load(name: &str) -> Result<WordPiece, OnnxError> {
        let (path, expected) = manifest::vocab(name)?;
        let load = |why: String| OnnxError::Load {
            path: path.clone(),
            why,
        };
        if !path.exists() {
            return Err(OnnxError::MissingModel {
                path,
                hint: "; run .ci/setup to fetch the pinned models".into(),
            });
        }
        let actual = file_sha256(&path).map_err(load)?;
        if actual != expected {
            return Err(OnnxError::Corrupt { path, actual, expected });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| load(e.to_string()))?;
        WordPiece::from_lines(&text).map_err(load)
    }

    /// From a word list, one token per line, id = line number.
    pub fn from_lines(text: &str) -> Result<WordPiece, String> {
        let ids: HashMap<String, i64> = text
            .lines()
            .enumerate()
            .map(|(i, t)| (t.to_owned(), i as i64))
            .collect();
        let id = |token: &str| {
            ids.get(token)
                .copied()
                .ok_or_else(|| format!("the vocabulary has no {token}"))
        };
        Ok(WordPiece {
            unknown: id("[UNK]")?,
            start: id("[CLS]")?,
            end: id("[SEP]")?,
            ids,
        })
    }

    /// Token ids of `text`: [CLS], the word pieces, [SEP]; at most `limit`.
    pub fn encode(&self, text: &str, limit: usize) -> Vec<i64> {
        let mut ids = vec![self.start];
        for word in basic_words(text) {
            self.pieces(&word, &mut ids);
        }
        ids.truncate(limit.saturating_sub(1).max(1));
        ids.push(self.end);
        ids
    }

    /// Greedy longest-match-first pieces of one word.
    fn pieces(&self, word: &str, out: &mut Vec<i64>) {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() > MAX_WORD {
            out.push(self.unknown);
            return;
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while start < end {
                let piece: String = chars[start..end].iter().collect();
                let piece = if start > 0 { format!("##{piece}") } else { piece };
                if let Some(id) = self.ids.get(&piece) {
                    found = Some(*id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => pieces.push(id),
                None => {
                    out.push(self.unknown);
                    return;
                }
            }
            start = end;
        }
        out.extend(pieces);
    }
}

/// BERT's basic tokenisation, uncased: lower case, accents stripped, split
/// on white space and around punctuation and CJK ideographs.
fn basic_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, words: &mut Vec<String>| {
        if !current.is_empty() {
            words.push(std::mem::take(current));
        }
    };
    for c in text.to_lowercase().nfd() {
        if unicode_normalization::char::is_combining_mark(c)
            || c == '\u{0}'
            || c == '\u{fffd}'
            || (c.is_control() && !c.is_whitespace())
        {
            continue;
        }
        if c.is_whitespace() {
            flush(&mut current, &mut words);
        } else if is_punctuation(c) || is_cjk(c) {
            flush(&mut current, &mut words);
            words.push(c.to_string());
        } else {
            current.push(c);
        }
    }
    flush(&mut current, &mut words);
    words
}

/// ASCII punctuation and the punctuation of the common Unicode blocks
/// (Latin-1, general punctuation, CJK and full-width forms).
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '\u{a1}' | '\u{a7}' | '\u{ab}' | '\u{b6}' | '\u{b7}' | '\u{bb}' | '\u{bf}'
                | '\u{2010}'..='\u{2027}'
                | '\u{2030}'..='\u{205e}'
                | '\u{3001}'..='\u{3003}'
                | '\u{3008}'..='\u{3011}'
                | '\u{ff01}'..='\u{ff0f}'
                | '\u{ff1a}'..='\u{ff20}'
        )
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// Text to a unit vector with MiniLM.
pub struct TextEmbedder {
    pub model: Arc<Model>,
    words: WordPiece,
}

/// Tokens MiniLM reads at most.
const MAX_TOKENS: usize = 256;

impl TextEmbedder {
    /// The pinned `minilm` model and `bert-uncased` vocabulary.
    pub fn open(session_id: Option<String>) -> Result<TextEmbedder, OnnxError> {
        Ok(TextEmbedder {
            model: open(&Options {
                session_id,
                ..Options::new("minilm")
            })?,
            words: WordPiece::load("bert-uncased")?,
        })
    }

    /// The mean of the token states (padding left out), L2-normalised.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, OnnxError> {
        let ids = self.words.encode(text, MAX_TOKENS);
        let n = ids.len();
        let mask = vec![1i64; n];
        let types = vec![0i64; n];
        let shape = [1, n as i64];
        let view = |data| TensorView {
            shape: &shape,
            data: ViewData::I64(data),
        };
        let inputs = [
            ("input_ids", view(&ids)),
            ("attention_mask", view(&mask)),
            ("token_type_ids", view(&types)),
        ];
        let mut vector = self
            .model
            .run(&inputs, |outputs| match outputs.first().map(|o| o.1) {
                Some(TensorView {
                    shape: [_, tokens, width],
                    data: ViewData::F32(states),
                }) => {
                    let (tokens, width) = (*tokens as usize, *width as usize);
                    let mut mean = vec![0.0f32; width];
                    for token in states.chunks_exact(width).take(tokens) {
                        mean.iter_mut().zip(token).for_each(|(m, v)| *m += v / tokens as f32);
                    }
                    Ok(mean)
                }
                other => Err(format!(
                    "MiniLM's first output is 1 x tokens x width floats, not {other:?}"
                )),
            })?
            .map_err(|why| OnnxError::Mismatch {
                model: self.model.spec.name.clone(),
                why,
            })?;
        crate::postprocess::l2_normalise(&mut vector);
        Ok(vector)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> WordPiece {
        WordPiece::from_lines("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n,\nworld\n!\nun\n##aff\n##able\ncafe").unwrap()
    }

    #[test]
    fn words_split_into_the_longest_known_pieces() {
        let w = tiny();
        assert_eq!(w.encode("Hello, World!", 64), [2, 4, 5, 6, 7, 3]);
        assert_eq!(w.encode("unaffable", 64), [2, 8, 9, 10, 3]);
        assert_eq!(
            w.encode("Café xyz", 64),
            [2, 11, 1, 3],
            "accents stripped, unknown words [UNK]"
        );
        assert_eq!(w.encode("hello hello hello", 3), [2, 4, 3], "truncated, still ended");
    }
}
