//! Quotas: what an account may use per day or in all, and what it has used.

use serde::{Deserialize, Serialize};

use crate::scope::Role;

/// Seconds in a day: daily quotas reset at midnight UTC.
pub const DAY: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Quota {
    /// Seconds of video generated per day.
    GenerationSeconds,
    /// Bytes of uploads kept, in all.
    StoredBytes,
    /// Uploads per day.
    Uploads,
    /// Items published into the feed, in all.
    FeedItems,
}

impl Quota {
    pub const ALL: [Quota; 4] = [
        Quota::GenerationSeconds,
        Quota::StoredBytes,
        Quota::Uploads,
        Quota::FeedItems,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Quota::GenerationSeconds => "generation_seconds",
            Quota::StoredBytes => "stored_bytes",
            Quota::Uploads => "uploads",
            Quota::FeedItems => "feed_items",
        }
    }

    pub fn daily(self) -> bool {
        matches!(self, Quota::GenerationSeconds | Quota::Uploads)
    }

    /// The period a use at `at` counts in: its day, or 0 for totals.
    pub fn period(self, at: i64) -> i64 {
        if self.daily() { at.div_euclid(DAY) } else { 0 }
    }

    /// When the period of `period` ends, for daily quotas.
    pub fn resets_at(self, period: i64) -> Option<i64> {
        self.daily().then(|| (period + 1) * DAY)
    }
}

/// An account's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limits {
    pub generation_seconds: i64,
    pub stored_bytes: i64,
    pub uploads: i64,
    pub feed_items: i64,
}

/// Changes to an account's limits; what is left out stays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LimitsPatch {
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub generation_seconds: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub stored_bytes: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub uploads: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub feed_items: Option<i64>,
}

impl Limits {
    /// What an account of `role` gets unless an admin says otherwise.
    pub fn of(role: Role) -> Limits {
        const GIB: i64 = 1 << 30;
        match role {
            Role::Admin => Limits {
                generation_seconds: i64::MAX,
                stored_bytes: i64::MAX,
                uploads: i64::MAX,
                feed_items: i64::MAX,
            },
            Role::Operator => Limits {
                generation_seconds: 6 * 3600,
                stored_bytes: 50 * GIB,
                uploads: 2_000,
                feed_items: 100_000,
            },
            Role::Member => Limits {
                generation_seconds: 600,
                stored_bytes: 2 * GIB,
                uploads: 100,
                feed_items: 1_000,
            },
        }
    }

    pub fn get(&self, quota: Quota) -> i64 {
        match quota {
            Quota::GenerationSeconds => self.generation_seconds,
            Quota::StoredBytes => self.stored_bytes,
            Quota::Uploads => self.uploads,
            Quota::FeedItems => self.feed_items,
        }
    }

    pub fn patched(mut self, patch: LimitsPatch) -> Limits {
        let fields = [
            (&mut self.generation_seconds, patch.generation_seconds),
            (&mut self.stored_bytes, patch.stored_bytes),
            (&mut self.uploads, patch.uploads),
            (&mut self.feed_items, patch.feed_items),
        ];
        for (limit, new) in fields {
            if let Some(new) = new {
                *limit = new;
            }
        }
        self
    }
}

/// What an account has used of one quota in the current period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    pub quota: Quota,
    pub used: i64,
    pub limit: i64,
    /// When a daily quota starts again (seconds since the epoch).
    pub resets_at: Option<i64>,
}

/// A charge that went through, to hand back if the work fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub quota: Quota,
    pub period: i64,
    pub amount: i64,
}

/// A charge that would overrun a quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuotaExceeded {
    pub quota: Quota,
    pub limit: i64,
    pub used: i64,
    pub asked: i64,
    pub resets_at: Option<i64>,
}

impl std::fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "quota `{}`: {} of {} used and this needs {} more; ",
            self.quota.as_str(),
            self.used,
            self.limit,
            self.asked
        )?;
        match self.resets_at {
            Some(at) => write!(f, "it resets at {at} (seconds since the epoch, midnight UTC)"),
            None => write!(f, "it does not reset: ask an admin for more"),
        }
    }
}
