//! What the control plane refuses, each naming the field to fix.

/// A refused control request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControlError {
    /// The request is wrong: `field` says where.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// No pipeline has this id.
    #[error("no pipeline `{0}`; GET /v1/pipelines lists them")]
    NotFound(String),
    /// The pipeline is in a state that does not allow this.
    #[error("{message}")]
    Conflict { field: String, message: String },
}

pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> ControlError {
    ControlError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

pub(crate) fn conflict(field: impl Into<String>, message: impl Into<String>) -> ControlError {
    ControlError::Conflict {
        field: field.into(),
        message: message.into(),
    }
}

impl ControlError {
    /// The field the refusal is about.
    pub fn field(&self) -> &str {
        match self {
            ControlError::Invalid { field, .. } | ControlError::Conflict { field, .. } => field,
            ControlError::NotFound(_) => "id",
        }
    }
}
