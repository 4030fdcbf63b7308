//! Schemas for the feed's names, as [`crate::model::check_name`] checks
//! them: 1 to 200 characters, not blank, no control characters.

use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, Type};

use crate::model::MAX_NAME;
use crate::steering::MAX_DIALS;

/// Not blank (Rust's `char::is_whitespace`), no control characters (`char::is_control`).
const NAME: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*\
[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]\
[^\\u0000-\\u001f\\u007f-\\u009f]*$";

pub fn name() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_NAME))
        .pattern(Some(NAME))
        .build()
}

fn names(most: usize) -> ArrayBuilder {
    ArrayBuilder::new().items(name()).max_items(Some(most))
}

pub fn tags() -> utoipa::openapi::schema::Array {
    names(64).build()
}

pub fn grants() -> utoipa::openapi::schema::Array {
    ArrayBuilder::new().items(name()).build()
}

pub fn dials() -> utoipa::openapi::schema::Array {
    names(MAX_DIALS).build()
}
