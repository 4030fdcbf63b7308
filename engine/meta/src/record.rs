//! [`Record`]: fields, objects and relations of one buffer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Value;

/// Identifies an object within one record.
pub type ObjectId = u32;

/// Why a record could not be built or read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MetaError {
    #[error("relation names object {0}, but the record has no object with that id")]
    UnknownObject(ObjectId),
    #[error("object id {0} is used twice; object ids must be unique within a record")]
    DuplicateObject(ObjectId),
    #[error("object {0} has a box with a negative or non-finite size")]
    BadBox(ObjectId),
    #[error("metadata JSON is not valid: {0}")]
    Json(String),
}

/// A box in pixel coordinates of the frame it was found in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl BoundingBox {
    fn is_valid(&self) -> bool {
        [self.x, self.y, self.w, self.h].iter().all(|v| v.is_finite()) && self.w >= 0.0 && self.h >= 0.0
    }
}

/// Something found in, or placed into, the frame: a face, a prop, a character.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Object {
    pub id: ObjectId,
    /// What the object is, in the user's words: `face`, `cup`, `table`.
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bbox: Option<BoundingBox>,
    /// Detection confidence in 0..=1, when a detector made the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Value>,
}

/// How two objects relate; the same types as `GstAnalyticsRelTypes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelationKind {
    /// `from` is part of `to` (an eye of a face).
    IsPartOf,
    /// `from` contains `to` (a table holds a cup).
    Contains,
    /// Any other relation.
    RelatesTo,
}

/// A typed edge between two objects of the same record.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    pub from: ObjectId,
    pub kind: RelationKind,
    pub to: ObjectId,
}

/// The metadata of one buffer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Record {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    fields: BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    objects: Vec<Object>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    relations: Vec<Relation>,
}

/// The unchecked JSON shape; [`Record`] only exists once it is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordJson {
    #[serde(default)]
    fields: BTreeMap<String, Value>,
    #[serde(default)]
    objects: Vec<Object>,
    #[serde(default)]
    relations: Vec<Relation>,
}

impl Record {
    /// True when the record carries nothing.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.objects.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    pub fn set(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.fields.insert(key.into(), value.into());
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.fields.remove(key)
    }

    pub fn fields(&self) -> &BTreeMap<String, Value> {
        &self.fields
    }

    pub fn objects(&self) -> &[Object] {
        &self.objects
    }

    pub fn relations(&self) -> &[Relation] {
        &self.relations
    }

    pub fn object(&self, id: ObjectId) -> Option<&Object> {
        self.objects.iter().find(|o| o.id == id)
    }

    pub fn object_mut(&mut self, id: ObjectId) -> Option<&mut Object> {
        self.objects.iter_mut().find(|o| o.id == id)
    }

    /// Adds an object with a fresh id and returns that id.
    pub fn add_object(&mut self, label: impl Into<String>) -> ObjectId {
        let id = self.objects.iter().map(|o| o.id + 1).max().unwrap_or(0);
        self.objects.push(Object {
            id,
            label: label.into(),
            bbox: None,
            confidence: None,
            fields: BTreeMap::new(),
        });
        id
    }

    /// Records that `from` relates to `to` as `kind`; both must exist.
    pub fn relate(&mut self, from: ObjectId, kind: RelationKind, to: ObjectId) -> Result<(), MetaError> {
        for id in [from, to] {
            if self.object(id).is_none() {
                return Err(MetaError::UnknownObject(id));
            }
        }
        let relation = Relation { from, kind, to };
        if !self.relations.contains(&relation) {
            self.relations.push(relation);
        }
        Ok(())
    }

    /// Objects that `id` has a relation of `kind` to.
    pub fn related(&self, id: ObjectId, kind: RelationKind) -> impl Iterator<Item = &Object> {
        self.relations
            .iter()
            .filter(move |r| r.from == id && r.kind == kind)
            .filter_map(|r| self.object(r.to))
    }

    /// Merges `other` into `self`: its fields win, its objects are appended
    /// under fresh ids and its relations follow them.
    pub fn merge(&mut self, other: &Record) {
        self.fields
            .extend(other.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        let offset = self.objects.iter().map(|o| o.id + 1).max().unwrap_or(0);
        self.objects.extend(other.objects.iter().map(|o| Object {
            id: o.id + offset,
            ..o.clone()
        }));
        self.relations.extend(other.relations.iter().map(|r| Relation {
            from: r.from + offset,
            to: r.to + offset,
            kind: r.kind,
        }));
    }

    /// Rescales every box, for when the frame is scaled by (`sx`, `sy`).
    pub fn scale_boxes(&mut self, sx: f32, sy: f32) {
        for bbox in self.objects.iter_mut().filter_map(|o| o.bbox.as_mut()) {
            *bbox = BoundingBox {
                x: bbox.x * sx,
                y: bbox.y * sy,
                w: bbox.w * sx,
                h: bbox.h * sy,
            };
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self)
            .expect("a record always serialises: its keys are strings (non-finite floats become null)")
    }

    /// Reads and checks a record from its JSON form.
    pub fn from_json(json: &serde_json::Value) -> Result<Record, MetaError> {
        let raw: RecordJson = serde_json::from_value(json.clone()).map_err(|e| MetaError::Json(e.to_string()))?;
        Record::checked(raw)
    }

    /// Reads and checks a record from JSON text.
    pub fn from_json_str(text: &str) -> Result<Record, MetaError> {
        let raw: RecordJson = serde_json::from_str(text).map_err(|e| MetaError::Json(e.to_string()))?;
        Record::checked(raw)
    }

    fn checked(raw: RecordJson) -> Result<Record, MetaError> {
        Record::from_parts(raw.fields, raw.objects, raw.relations)
    }

    /// Builds a record from untrusted parts (a plugin, a script), with the
    /// same checks as [`Record::from_json`].
    pub fn from_parts(
        fields: BTreeMap<String, Value>,
        objects: Vec<Object>,
        relations: Vec<Relation>,
    ) -> Result<Record, MetaError> {
        let mut seen = std::collections::BTreeSet::new();
        for object in &objects {
            if !seen.insert(object.id) {
                return Err(MetaError::DuplicateObject(object.id));
            }
            if object.bbox.is_some_and(|b| !b.is_valid()) {
                return Err(MetaError::BadBox(object.id));
            }
        }
        if let Some(bad) = relations
            .iter()
            .flat_map(|r| [r.from, r.to])
            .find(|id| !seen.contains(id))
        {
            return Err(MetaError::UnknownObject(bad));
        }
        Ok(Record {
            fields,
            objects,
            relations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fields_and_objects_round_trip_through_json() {
        let mut record = Record::default();
        record.set("shot", "s1");
        record.set("take", 3i64);
        record.set("exposure", 0.5);
        record.set("consent.grants", vec!["g1".to_string(), "g2".to_string()]);
        let face = record.add_object("face");
        record.object_mut(face).unwrap().bbox = Some(BoundingBox {
            x: 1.0,
            y: 2.0,
            w: 30.0,
            h: 40.0,
        });
        let eye = record.add_object("eye");
        record.relate(eye, RelationKind::IsPartOf, face).unwrap();

        let json = record.to_json();
        assert_eq!(json["fields"]["take"], 3);
        assert_eq!(json["relations"][0]["kind"], "is-part-of");
        assert_eq!(Record::from_json(&json).unwrap(), record);
        assert_eq!(
            record.related(eye, RelationKind::IsPartOf).next().unwrap().label,
            "face"
        );
    }

    #[test]
    fn relations_need_existing_objects() {
        let mut record = Record::default();
        let a = record.add_object("a");
        assert_eq!(
            record.relate(a, RelationKind::Contains, 7),
            Err(MetaError::UnknownObject(7))
        );
        let json = serde_json::json!({"objects": [{"id": 0, "label": "a"}], "relations": [{"from": 0, "kind": "contains", "to": 9}]});
        assert_eq!(Record::from_json(&json), Err(MetaError::UnknownObject(9)));
    }

    #[test]
    fn bad_json_is_refused_with_a_reason() {
        let dup = serde_json::json!({"objects": [{"id": 1, "label": "a"}, {"id": 1, "label": "b"}]});
        assert_eq!(Record::from_json(&dup), Err(MetaError::DuplicateObject(1)));
        let neg = serde_json::json!({"objects": [{"id": 1, "label": "a", "bbox": {"x": 0, "y": 0, "w": -1, "h": 2}}]});
        assert_eq!(Record::from_json(&neg), Err(MetaError::BadBox(1)));
        let unknown = Record::from_json_str(r#"{"feilds": {}}"#).unwrap_err();
        assert!(unknown.to_string().contains("feilds"), "{unknown}");
    }

    #[test]
    fn merge_keeps_relations_pointing_at_the_same_objects() {
        let mut left = Record::default();
        left.add_object("table");
        let mut right = Record::default();
        let cup = right.add_object("cup");
        let saucer = right.add_object("saucer");
        right.relate(saucer, RelationKind::Contains, cup).unwrap();
        right.set("shot", "s9");
        left.merge(&right);
        assert_eq!(left.get("shot"), Some(&Value::from("s9")));
        let saucer = left.objects().iter().find(|o| o.label == "saucer").unwrap().id;
        assert_eq!(
            left.related(saucer, RelationKind::Contains).next().unwrap().label,
            "cup"
        );
    }

    #[test]
    fn scaling_moves_boxes() {
        let mut record = Record::default();
        let id = record.add_object("face");
        record.object_mut(id).unwrap().bbox = Some(BoundingBox {
            x: 10.0,
            y: 20.0,
            w: 100.0,
            h: 50.0,
        });
        record.scale_boxes(0.5, 2.0);
        assert_eq!(
            record.object(id).unwrap().bbox,
            Some(BoundingBox {
                x: 5.0,
                y: 40.0,
                w: 50.0,
                h: 100.0
            })
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Whatever JSON arrives (from a plugin, a file, the network), reading
        /// it either succeeds with a record that survives a round trip or
        /// fails with an error; it never panics.
        #[test]
        fn arbitrary_json_never_panics(text in "\\PC{0,200}", ids in proptest::collection::vec(0u32..4, 0..4)) {
            let _ = Record::from_json_str(&text);
            let objects: Vec<_> = ids.iter().map(|id| serde_json::json!({"id": id, "label": "x"})).collect();
            let relations: Vec<_> = ids.windows(2).map(|w| serde_json::json!({"from": w[0], "kind": "relates-to", "to": w[1] + 1})).collect();
            if let Ok(record) = Record::from_json(&serde_json::json!({"objects": objects, "relations": relations})) {
                prop_assert_eq!(Record::from_json(&record.to_json()).unwrap(), record);
            }
        }
    }
}
