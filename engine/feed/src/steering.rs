//! What a user asks of their feed: more like an item, less of a tag, more
//! of a tag, novelty or familiarity, creators they follow. Each dial adds
//! a named term to an item's score, so the explanation can say which.

use serde::{Deserialize, Serialize};

/// A user's dials. Empty means the feed decides alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Steering {
    /// Items whose like they want more of.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::dials))]
    pub more_like: Vec<String>,
    /// Tags they want less of.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::dials))]
    pub less_tags: Vec<String>,
    /// Tags they want more of.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::dials))]
    pub more_tags: Vec<String>,
    /// From -1 (what they know) to 1 (what is new to them); 0 is neutral.
    #[cfg_attr(feature = "openapi", schema(minimum = -1.0, maximum = 1.0))]
    pub novelty: f64,
    /// Creators they follow.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::dials))]
    pub follow: Vec<String>,
}

/// Named parts of a score, as the explanation shows them.
pub type Terms = Vec<(&'static str, f64)>;

/// Most dials one user may set, per list.
pub const MAX_DIALS: usize = 64;

/// What each dial is worth in score (rewards are in [0, 1]).
const LESS_TAG: f64 = 0.6;
const MORE_TAG: f64 = 0.15;
const FOLLOWED: f64 = 0.15;
const MORE_LIKE: f64 = 0.25;
const NOVELTY: f64 = 0.15;

/// An item as the dials see it.
pub struct Seen<'a> {
    pub tags: &'a [String],
    pub creator: &'a str,
    /// How alike this item is to the ones the user asked more like (best
    /// cosine, 0 when none).
    pub like: f64,
    /// How alike it is to what the user has watched (0 new, 1 the same).
    pub familiarity: f64,
}

impl Steering {
    pub fn is_empty(&self) -> bool {
        *self == Steering::default()
    }

    /// Checks the dials, naming the one that is wrong.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(-1.0..=1.0).contains(&self.novelty) {
            return Err(("novelty", format!("{} is outside -1..1", self.novelty)));
        }
        for (field, list) in [
            ("more_like", &self.more_like),
            ("less_tags", &self.less_tags),
            ("more_tags", &self.more_tags),
            ("follow", &self.follow),
        ] {
            if list.len() > MAX_DIALS {
                return Err((field, format!("{} entries; at most {MAX_DIALS}", list.len())));
            }
            if let Some(bad) = list.iter().find(|s| crate::model::check_name(field, s).is_err()) {
                return Err((
                    field,
                    format!("{bad:?} is empty, longer than 200 characters or has control characters"),
                ));
            }
        }
        if let Some(tag) = self.less_tags.iter().find(|t| self.more_tags.contains(t)) {
            return Err(("less_tags", format!("`{tag}` is also in more_tags")));
        }
        Ok(())
    }

    /// The named score terms the dials give `item`.
    pub fn terms(&self, item: &Seen) -> Terms {
        let mut terms = Vec::new();
        self.add_terms(item, &mut terms);
        terms
    }

    /// The same, added to `terms` (a ranker scores every item of the
    /// catalogue with one buffer).
    pub fn add_terms(&self, item: &Seen, terms: &mut Terms) {
        let has = |list: &[String]| item.tags.iter().any(|t| list.contains(t));
        if has(&self.less_tags) {
            terms.push(("less-of-tag", -LESS_TAG));
        }
        if has(&self.more_tags) {
            terms.push(("more-of-tag", MORE_TAG));
        }
        if self.follow.iter().any(|c| c == item.creator) {
            terms.push(("followed-creator", FOLLOWED));
        }
        if !self.more_like.is_empty() && item.like > 0.0 {
            terms.push(("more-like-this", MORE_LIKE * item.like));
        }
        if self.novelty != 0.0 {
            // Novelty rewards the unfamiliar, familiarity the familiar.
            terms.push((
                "novelty",
                NOVELTY * self.novelty * (1.0 - 2.0 * item.familiarity.clamp(0.0, 1.0)),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dial_moves_the_items_it_names() {
        let steering = Steering {
            less_tags: vec!["cats".into()],
            follow: vec!["ada".into()],
            novelty: 1.0,
            ..Steering::default()
        };
        let cats = ["cats".to_owned()];
        let sum = |seen: &Seen| steering.terms(seen).iter().map(|t| t.1).sum::<f64>();
        let cat = Seen {
            tags: &cats,
            creator: "bo",
            like: 0.0,
            familiarity: 0.0,
        };
        let ada = Seen {
            tags: &[],
            creator: "ada",
            like: 0.0,
            familiarity: 1.0,
        };
        assert!(sum(&cat) < -0.4);
        assert!(steering.terms(&ada).iter().any(|t| t.0 == "followed-creator"));
        assert!(steering.terms(&ada).iter().any(|t| t.0 == "novelty" && t.1 < 0.0));
        assert_eq!(
            Steering {
                novelty: 2.0,
                ..Steering::default()
            }
            .validate()
            .unwrap_err()
            .0,
            "novelty"
        );
    }
}
