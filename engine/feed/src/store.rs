//! The feed's queries on its tables in Slate's database (blocking calls
//! over the shared [`Database`], which owns the schema). Everything
//! the feed learns from is here; the in-memory state is rebuilt from it.

use std::path::Path;

use slate_store::Database;
use sqlx::Row;

use crate::error::FeedError;
use crate::model::{Consent, NewItem, Provenance, Signal, SignalKind};

pub struct Store {
    db: Database,
}

/// An item as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRow {
    pub item: NewItem,
    pub published_at: i64,
}

/// One served item, written with its slate.
#[derive(Debug, Clone, PartialEq)]
pub struct Impression {
    pub id: String,
    pub item: String,
    pub position: usize,
    pub candidates: usize,
    pub propensity: f64,
    pub explored: bool,
    pub examined: f64,
}

/// A slate as served.
#[derive(Debug, Clone, PartialEq)]
pub struct Slate {
    pub id: String,
    pub user: String,
    pub arm: String,
    pub policy: String,
    pub served_at: i64,
    pub profile: Vec<f64>,
    pub impressions: Vec<Impression>,
}

/// What an impression was, for learning from its signals.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    pub seq: i64,
    pub id: String,
    pub user: String,
    pub item: String,
    pub arm: String,
    pub position: usize,
    pub examined: f64,
    pub explored: bool,
    pub served_at: i64,
    pub profile: Vec<f64>,
    pub reward: f64,
    pub completion: f64,
}

/// A signal taken in, with what it earned.
#[derive(Debug, Clone, PartialEq)]
pub struct Taken {
    pub seq: i64,
    pub served: Served,
    pub kind: SignalKind,
    pub reward: f64,
}

/// How a batch of signals went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub taken: Vec<Taken>,
    /// Event ids already in the store: not counted again.
    pub duplicates: usize,
}

/// Per arm, what its impressions earned (for experiment metrics).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ArmLog {
    pub impressions: Vec<ImpressionOutcome>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImpressionOutcome {
    pub user: String,
    pub engaged: bool,
    pub watch_s: f64,
    pub completion: f64,
    pub skipped: bool,
}

pub fn f64_blob(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn blob_f64(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

fn f32_blob(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn blob_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect()
}

pub fn kind_name(kind: SignalKind) -> &'static str {
    match kind {
        SignalKind::Impression => "impression",
        SignalKind::Watch => "watch",
        SignalKind::Complete => "complete",
        SignalKind::Skip => "skip",
        SignalKind::Like => "like",
        SignalKind::Share => "share",
        SignalKind::Hide => "hide",
        SignalKind::Tweak => "tweak",
    }
}

fn kind_of(name: &str) -> Result<SignalKind, FeedError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| FeedError::Store(format!("unknown signal kind `{name}` in the store")))
}

fn served_of(row: &sqlx::sqlite::SqliteRow) -> Served {
    Served {
        seq: row.get("seq"),
        id: row.get("id"),
        user: row.get("user_id"),
        item: row.get("item_id"),
        arm: row.get("arm"),
        position: row.get::<i64, _>("position") as usize,
        examined: row.get("examined"),
        explored: row.get::<i64, _>("explored") != 0,
        served_at: row.get("served_at"),
        profile: blob_f64(row.get::<&[u8], _>("profile")),
        reward: row.get("reward"),
        completion: row.get("completion"),
    }
}

const SERVED: &str = "SELECT seq, id, user_id, item_id, arm, position, examined, explored, served_at, profile, reward, completion FROM feed_impressions";

impl Store {
    /// The feed's tables in the database at `path` (the registry's file),
    /// sharing the pool this process already has on it.
    pub fn open(path: &Path) -> Result<Store, FeedError> {
        Ok(Store {
            db: Database::open(path)?,
        })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn add_item(&self, item: &NewItem, published_at: i64) -> Result<(), FeedError> {
        self.db.block_on(async {
            sqlx::query(
                "INSERT INTO feed_items (id, creator, title, tags, duration_s, embedding, provenance, throttle_rate, consent, grants, published_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&item.id)
            .bind(&item.creator)
            .bind(&item.title)
            .bind(serde_json::to_string(&item.tags).unwrap_or_default())
            .bind(item.duration_s)
            .bind(f32_blob(&item.embedding))
            .bind(item.provenance.name())
            .bind(item.throttle_rate)
            .bind(if item.consent == Consent::Clear { "clear" } else { "flagged" })
            .bind(serde_json::to_string(&item.grants).unwrap_or_default())
            .bind(published_at)
            .execute(self.db.pool())
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(d) if d.is_unique_violation() => {
                    FeedError::Conflict { field: "id".into(), why: format!("`{}` is already in the feed", item.id) }
                }
                e => e.into(),
            })?;
            Ok(())
        })
    }

    /// Changes what provenance or consent say of an item.
    pub fn set_item_status(&self, id: &str, provenance: Provenance, consent: Consent) -> Result<(), FeedError> {
        let changed = self.db.block_on(async {
            sqlx::query("UPDATE feed_items SET provenance = ?, consent = ? WHERE id = ?")
                .bind(provenance.name())
                .bind(if consent == Consent::Clear { "clear" } else { "flagged" })
                .bind(id)
                .execute(self.db.pool())
                .await
        })?;
        if changed.rows_affected() == 0 {
            return Err(FeedError::Unknown {
                what: "item",
                id: id.to_owned(),
            });
        }
        Ok(())
    }

    pub fn items(&self) -> Result<Vec<ItemRow>, FeedError> {
        let rows = self.db.block_on(async {
            sqlx::query("SELECT * FROM feed_items ORDER BY seq")
                .fetch_all(self.db.pool())
                .await
        })?;
        rows.iter()
            .map(|row| {
                let json = |column: &str| -> Result<Vec<String>, FeedError> {
                    serde_json::from_str(row.get::<&str, _>(column))
                        .map_err(|e| FeedError::Store(format!("feed_items.{column}: {e}")))
                };
                let provenance: &str = row.get("provenance");
                Ok(ItemRow {
                    item: NewItem {
                        id: row.get("id"),
                        creator: row.get("creator"),
                        title: row.get("title"),
                        tags: json("tags")?,
                        duration_s: row.get("duration_s"),
                        embedding: blob_f32(row.get::<&[u8], _>("embedding")),
                        provenance: Provenance::parse(provenance)
                            .ok_or_else(|| FeedError::Store(format!("feed_items.provenance `{provenance}`")))?,
                        throttle_rate: row.get("throttle_rate"),
                        consent: if row.get::<&str, _>("consent") == "clear" {
                            Consent::Clear
                        } else {
                            Consent::Flagged
                        },
                        grants: json("grants")?,
                        published_at: None,
                    },
                    published_at: row.get("published_at"),
                })
            })
            .collect()
    }

    pub fn put_user(&self, id: &str, profile: &[f64], steering: &str, now: i64) -> Result<(), FeedError> {
        self.db.block_on(async {
            sqlx::query(
                "INSERT INTO feed_users (id, profile, steering, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4) \
                 ON CONFLICT(id) DO UPDATE SET profile = ?2, steering = ?3, updated_at = ?4",
            )
            .bind(id)
            .bind(f64_blob(profile))
            .bind(steering)
            .bind(now)
            .execute(self.db.pool())
            .await
        })?;
        Ok(())
    }

    /// Every user: id, features, steering (JSON).
    pub fn users(&self) -> Result<Vec<(String, Vec<f64>, String)>, FeedError> {
        let rows = self.db.block_on(async {
            sqlx::query("SELECT id, profile, steering FROM feed_users")
                .fetch_all(self.db.pool())
                .await
        })?;
        Ok(rows
            .iter()
            .map(|r| (r.get("id"), blob_f64(r.get::<&[u8], _>("profile")), r.get("steering")))
            .collect())
    }

    /// Writes a slate and its impressions at once.
    pub fn add_slate(&self, slate: &Slate) -> Result<Vec<i64>, FeedError> {
        self.db.block_on(async {
            let mut tx = self.db.begin_write().await?;
            sqlx::query("INSERT INTO feed_slates (id, user_id, arm, policy, served_at) VALUES (?, ?, ?, ?, ?)")
                .bind(&slate.id)
                .bind(&slate.user)
                .bind(&slate.arm)
                .bind(&slate.policy)
                .bind(slate.served_at)
                .execute(&mut *tx)
                .await?;
            let profile = f64_blob(&slate.profile);
            let mut seqs = Vec::new();
            for impression in &slate.impressions {
                let done = sqlx::query(
                    "INSERT INTO feed_impressions (id, slate_id, user_id, item_id, position, candidates, propensity, policy, arm, explored, examined, profile, served_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&impression.id)
                .bind(&slate.id)
                .bind(&slate.user)
                .bind(&impression.item)
                .bind(impression.position as i64)
                .bind(impression.candidates as i64)
                .bind(impression.propensity)
                .bind(&slate.policy)
                .bind(&slate.arm)
                .bind(impression.explored as i64)
                .bind(impression.examined)
                .bind(&profile)
                .bind(slate.served_at)
                .execute(&mut *tx)
                .await?;
                seqs.push(done.last_insert_rowid());
            }
            tx.commit().await?;
            Ok(seqs)
        })
    }

    /// Takes in a batch of signals in one transaction: each new event id
    /// is written with the reward `value` gives it (from the impression as
    /// it stands and the signal); a known event id is skipped and counted.
    /// Any error leaves the store as it was.
    pub fn add_signals(
        &self,
        signals: &[Signal],
        user: Option<&str>,
        now: i64,
        mut value: impl FnMut(&Served, &Signal) -> (f64, f64),
    ) -> Result<Batch, FeedError> {
        self.db.block_on(async {
            let mut tx = self.db.begin_write().await?;
            let mut batch = Batch::default();
            for (at, signal) in signals.iter().enumerate() {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SERVED} WHERE id = ?")))
                    .bind(&signal.impression)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else {
                    return Err(FeedError::invalid(
                        format!("signals[{at}].impression"),
                        format!("no impression `{}`; use an id /feed gave", signal.impression),
                    ));
                };
                let served = served_of(&row);
                if user.is_some_and(|user| user != served.user) {
                    return Err(FeedError::Forbidden {
                        field: format!("signals[{at}].impression"),
                        why: format!("impression `{}` was served to another user", signal.impression),
                    });
                }
                let (reward, completion) = value(&served, signal);
                let done = sqlx::query(
                    "INSERT INTO feed_signals (event_id, impression_id, kind, seconds, prompt, reward, at) VALUES (?, ?, ?, ?, ?, ?, ?) \
                     ON CONFLICT(event_id) DO NOTHING",
                )
                .bind(&signal.event)
                .bind(&signal.impression)
                .bind(kind_name(signal.kind))
                .bind(signal.seconds)
                .bind(&signal.prompt)
                .bind(reward)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    batch.duplicates += 1;
                    continue;
                }
                sqlx::query("UPDATE feed_impressions SET reward = reward + ?, completion = ? WHERE id = ?")
                    .bind(reward)
                    .bind(completion)
                    .bind(&signal.impression)
                    .execute(&mut *tx)
                    .await?;
                batch.taken.push(Taken {
                    seq: done.last_insert_rowid(),
                    served: Served { reward: served.reward + reward, completion, ..served },
                    kind: signal.kind,
                    reward,
                });
            }
            tx.commit().await?;
            Ok(batch)
        })
    }

    /// Impressions after `seq`, oldest first.
    pub fn impressions_after(&self, seq: i64) -> Result<Vec<Served>, FeedError> {
        let rows = self.db.block_on(async {
            sqlx::query(sqlx::AssertSqlSafe(format!("{SERVED} WHERE seq > ? ORDER BY seq")))
                .bind(seq)
                .fetch_all(self.db.pool())
                .await
        })?;
        Ok(rows.iter().map(served_of).collect())
    }

    /// Signals after `seq` with their impressions, oldest first.
    pub fn signals_after(&self, seq: i64) -> Result<Vec<Taken>, FeedError> {
        let rows = self.db.block_on(async {
            sqlx::query(
                "SELECT s.seq AS signal_seq, s.kind, s.reward AS signal_reward, i.seq, i.id, i.user_id, i.item_id, i.arm, i.position, i.examined, \
                 i.explored, i.served_at, i.profile, i.reward, i.completion \
                 FROM feed_signals s JOIN feed_impressions i ON i.id = s.impression_id WHERE s.seq > ? ORDER BY s.seq",
            )
            .bind(seq)
            .fetch_all(self.db.pool())
            .await
        })?;
        rows.iter()
            .map(|row| {
                Ok(Taken {
                    seq: row.get("signal_seq"),
                    kind: kind_of(row.get("kind"))?,
                    reward: row.get("signal_reward"),
                    served: served_of(row),
                })
            })
            .collect()
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, FeedError> {
        Ok(self.db.block_on(async {
            sqlx::query_scalar("SELECT value FROM feed_settings WHERE key = ?")
                .bind(key)
                .fetch_optional(self.db.pool())
                .await
        })?)
    }

    pub fn put_setting(&self, key: &str, value: &str) -> Result<(), FeedError> {
        self.db.block_on(async {
            sqlx::query(
                "INSERT INTO feed_settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
            )
            .bind(key)
            .bind(value)
            .execute(self.db.pool())
            .await
        })?;
        Ok(())
    }

    pub fn delete_setting(&self, key: &str) -> Result<(), FeedError> {
        self.db.block_on(async {
            sqlx::query("DELETE FROM feed_settings WHERE key = ?")
                .bind(key)
                .execute(self.db.pool())
                .await
        })?;
        Ok(())
    }

    /// Saves arms' states with how far into the logs they reach.
    pub fn save_snapshots(
        &self,
        states: &[(String, String)],
        impression_seq: i64,
        signal_seq: i64,
        now: i64,
    ) -> Result<(), FeedError> {
        self.db.block_on(async {
            let mut tx = self.db.begin_write().await?;
            for (arm, state) in states {
                sqlx::query(
                    "INSERT INTO feed_snapshots (arm, state, impression_seq, signal_seq, saved_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT(arm) DO UPDATE SET state = ?2, impression_seq = ?3, signal_seq = ?4, saved_at = ?5",
                )
                .bind(arm)
                .bind(state)
                .bind(impression_seq)
                .bind(signal_seq)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Arm states and the log positions they were saved at.
    pub fn snapshots(&self) -> Result<Vec<(String, String, i64, i64)>, FeedError> {
        let rows = self.db.block_on(async {
            sqlx::query("SELECT arm, state, impression_seq, signal_seq FROM feed_snapshots")
                .fetch_all(self.db.pool())
                .await
        })?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get("arm"),
                    r.get("state"),
                    r.get("impression_seq"),
                    r.get("signal_seq"),
                )
            })
            .collect())
    }

    pub fn count(&self, name: &str, by: i64) -> Result<(), FeedError> {
        self.db.block_on(async {
            sqlx::query("INSERT INTO feed_counters (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = value + ?2")
                .bind(name)
                .bind(by)
                .execute(self.db.pool())
                .await
        })?;
        Ok(())
    }

    pub fn counters(&self) -> Result<Vec<(String, i64)>, FeedError> {
        Ok(self.db.block_on(async {
            sqlx::query_as("SELECT name, value FROM feed_counters ORDER BY name")
                .fetch_all(self.db.pool())
                .await
        })?)
    }

    /// Slates served in all, and per item the slates it was in.
    pub fn slate_counts(&self) -> Result<(u64, Vec<(String, u64)>), FeedError> {
        self.db.block_on(async {
            let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM feed_slates")
                .fetch_one(self.db.pool())
                .await?;
            let per_item: Vec<(String, i64)> =
                sqlx::query_as("SELECT item_id, COUNT(DISTINCT slate_id) FROM feed_impressions GROUP BY item_id")
                    .fetch_all(self.db.pool())
                    .await?;
            Ok((total as u64, per_item.into_iter().map(|(i, n)| (i, n as u64)).collect()))
        })
    }

    /// What each impression of `arm` earned, for experiment metrics.
    pub fn arm_log(&self, arm: &str) -> Result<ArmLog, FeedError> {
        let rows = self.db.block_on(async {
            sqlx::query(
                "SELECT i.user_id, i.completion, it.duration_s, \
                 EXISTS(SELECT 1 FROM feed_signals s WHERE s.impression_id = i.id AND s.kind IN ('watch', 'complete', 'like', 'share', 'tweak')) AS engaged, \
                 EXISTS(SELECT 1 FROM feed_signals s WHERE s.impression_id = i.id AND s.kind = 'skip') AS skipped \
                 FROM feed_impressions i JOIN feed_items it ON it.id = i.item_id WHERE i.arm = ? ORDER BY i.seq",
            )
            .bind(arm)
            .fetch_all(self.db.pool())
            .await
        })?;
        Ok(ArmLog {
            impressions: rows
                .iter()
                .map(|r| {
                    let completion: f64 = r.get("completion");
                    ImpressionOutcome {
                        user: r.get("user_id"),
                        engaged: r.get::<i64, _>("engaged") != 0,
                        watch_s: completion * r.get::<f64, _>("duration_s"),
                        completion,
                        skipped: r.get::<i64, _>("skipped") != 0,
                    }
                })
                .collect(),
        })
    }

    /// The arms that served anything.
    pub fn arms(&self) -> Result<Vec<String>, FeedError> {
        Ok(self.db.block_on(async {
            sqlx::query_scalar("SELECT DISTINCT arm FROM feed_impressions ORDER BY arm")
                .fetch_all(self.db.pool())
                .await
        })?)
    }

    /// Every impression with its propensity and reward (for `slate feed
    /// export`): one JSON object per line.
    pub fn export(&self) -> Result<Vec<serde_json::Value>, FeedError> {
        let rows = self.db.block_on(async {
            sqlx::query("SELECT id, user_id, item_id, position, candidates, propensity, policy, arm, reward, served_at FROM feed_impressions ORDER BY seq")
                .fetch_all(self.db.pool())
                .await
        })?;
        Ok(rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "impression": r.get::<String, _>("id"),
                    "user": r.get::<String, _>("user_id"),
                    "item": r.get::<String, _>("item_id"),
                    "position": r.get::<i64, _>("position"),
                    "candidates": r.get::<i64, _>("candidates"),
                    "propensity": r.get::<f64, _>("propensity"),
                    "policy": r.get::<String, _>("policy"),
                    "arm": r.get::<String, _>("arm"),
                    "reward": r.get::<f64, _>("reward"),
                    "served_at": r.get::<i64, _>("served_at"),
                })
            })
            .collect())
    }
}
