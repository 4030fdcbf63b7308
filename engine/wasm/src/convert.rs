//! Between Slate's metadata model and the WIT types.

use slate_meta::{BoundingBox, Object, Record, Relation, RelationKind, Value};

use crate::bindings::types as wit;

pub(crate) fn field_to_meta(field: wit::Field) -> (String, Value) {
    let value = match field.value {
        wit::Value::Boolean(v) => Value::Bool(v),
        wit::Value::Integer(v) => Value::Int(v),
        wit::Value::Float(v) => Value::Float(v),
        wit::Value::Text(v) => Value::Text(v),
        wit::Value::TextList(v) => Value::TextList(v),
        wit::Value::FloatList(v) => Value::FloatList(v),
    };
    (field.key, value)
}

fn field_to_wit(key: &str, value: &Value) -> wit::Field {
    let value = match value {
        Value::Bool(v) => wit::Value::Boolean(*v),
        Value::Int(v) => wit::Value::Integer(*v),
        Value::Float(v) => wit::Value::Float(*v),
        Value::Text(v) => wit::Value::Text(v.clone()),
        Value::TextList(v) => wit::Value::TextList(v.clone()),
        Value::FloatList(v) => wit::Value::FloatList(v.clone()),
    };
    wit::Field {
        key: key.to_owned(),
        value,
    }
}

pub(crate) fn metadata_to_wit(record: &Record) -> wit::Metadata {
    wit::Metadata {
        fields: record.fields().iter().map(|(k, v)| field_to_wit(k, v)).collect(),
        objects: record
            .objects()
            .iter()
            .map(|o| wit::Object {
                id: o.id,
                label: o.label.clone(),
                bbox: o.bbox.map(|b| wit::Bbox {
                    x: b.x,
                    y: b.y,
                    w: b.w,
                    h: b.h,
                }),
                confidence: o.confidence,
                fields: o.fields.iter().map(|(k, v)| field_to_wit(k, v)).collect(),
            })
            .collect(),
        relations: record
            .relations()
            .iter()
            .map(|r| wit::Relation {
                from: r.from,
                kind: match r.kind {
                    RelationKind::IsPartOf => wit::RelationKind::IsPartOf,
                    RelationKind::Contains => wit::RelationKind::Contains,
                    RelationKind::RelatesTo => wit::RelationKind::RelatesTo,
                },
                to: r.to,
            })
            .collect(),
    }
}

/// Checks what a plugin returned, like any other untrusted input: the same
/// rules as metadata read from JSON (unique ids, relations between existing
/// objects, sane boxes).
pub(crate) fn metadata_from_wit(meta: wit::Metadata) -> Result<Record, slate_meta::MetaError> {
    let objects: Vec<Object> = meta
        .objects
        .into_iter()
        .map(|o| Object {
            id: o.id,
            label: o.label,
            bbox: o.bbox.map(|b| BoundingBox {
                x: b.x,
                y: b.y,
                w: b.w,
                h: b.h,
            }),
            confidence: o.confidence,
            fields: o.fields.into_iter().map(field_to_meta).collect(),
        })
        .collect();
    let relations: Vec<Relation> = meta
        .relations
        .into_iter()
        .map(|r| Relation {
            from: r.from,
            kind: match r.kind {
                wit::RelationKind::IsPartOf => RelationKind::IsPartOf,
                wit::RelationKind::Contains => RelationKind::Contains,
                wit::RelationKind::RelatesTo => RelationKind::RelatesTo,
            },
            to: r.to,
        })
        .collect();
    let fields: std::collections::BTreeMap<String, Value> = meta.fields.into_iter().map(field_to_meta).collect();
    Record::from_parts(fields, objects, relations)
}
