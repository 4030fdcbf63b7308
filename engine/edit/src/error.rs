//! What the edit step refuses, each naming where.

/// A refused timeline.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    /// An OTIO document Slate cannot read as it is: `path` is the OTIO
    /// path of the object at fault (`tracks[1].children[4].effects[0]`),
    /// empty for the document as a whole.
    #[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
    Otio { path: String, message: String },
    /// A batch index (`slate generate`'s `index.json`) that cannot be
    /// assembled: `path` is the field at fault (`takes[3].fps`).
    #[error("{path}: {message}")]
    Index { path: String, message: String },
}

impl EditError {
    pub(crate) fn at(path: &str, message: impl Into<String>) -> EditError {
        EditError::Otio {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    /// Where in its document the refusal is about.
    pub fn path(&self) -> &str {
        match self {
            EditError::Otio { path, .. } | EditError::Index { path, .. } => path,
        }
    }
}

/// `path.key`, or `key` at the top of a document.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}
