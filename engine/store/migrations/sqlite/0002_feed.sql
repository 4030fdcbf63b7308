-- The feed, in the same file as the consent registry (its tables are
-- prefixed feed_).

CREATE TABLE IF NOT EXISTS feed_items (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    creator       TEXT NOT NULL,
    title         TEXT NOT NULL,
    tags          TEXT NOT NULL,              -- JSON array
    duration_s    REAL NOT NULL CHECK (duration_s > 0),
    embedding     BLOB NOT NULL,              -- little-endian f32
    provenance    TEXT NOT NULL CHECK (provenance IN ('trust', 'label', 'throttle', 'reject')),
    throttle_rate REAL,
    consent       TEXT NOT NULL CHECK (consent IN ('clear', 'flagged')),
    grants        TEXT NOT NULL,              -- JSON array of consent grant ids
    published_at  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS feed_users (
    id          TEXT PRIMARY KEY,
    profile     BLOB NOT NULL,                -- little-endian f64: the user's features
    steering    TEXT NOT NULL,                -- JSON dials
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- One row per answer of /feed.
CREATE TABLE IF NOT EXISTS feed_slates (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    user_id     TEXT NOT NULL,
    arm         TEXT NOT NULL,
    policy      TEXT NOT NULL,
    served_at   INTEGER NOT NULL
);

-- One row per item served: with the policy, its propensity and position,
-- and what it has earned so far.
CREATE TABLE IF NOT EXISTS feed_impressions (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    slate_id    TEXT NOT NULL REFERENCES feed_slates(id),
    user_id     TEXT NOT NULL,
    item_id     TEXT NOT NULL REFERENCES feed_items(id),
    position    INTEGER NOT NULL,
    candidates  INTEGER NOT NULL,
    propensity  REAL NOT NULL CHECK (propensity > 0 AND propensity <= 1),
    policy      TEXT NOT NULL,
    arm         TEXT NOT NULL,
    explored    INTEGER NOT NULL,
    examined    REAL NOT NULL,
    profile     BLOB NOT NULL,                -- the user's features when served
    served_at   INTEGER NOT NULL,
    reward      REAL NOT NULL DEFAULT 0,
    completion  REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS feed_impressions_by_user ON feed_impressions(user_id, seq);
CREATE INDEX IF NOT EXISTS feed_impressions_by_item ON feed_impressions(item_id);
CREATE INDEX IF NOT EXISTS feed_impressions_by_arm ON feed_impressions(arm);

CREATE TABLE IF NOT EXISTS feed_signals (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id      TEXT NOT NULL UNIQUE,
    impression_id TEXT NOT NULL REFERENCES feed_impressions(id),
    kind          TEXT NOT NULL,
    seconds       REAL,
    prompt        TEXT,
    reward        REAL NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_signals_by_impression ON feed_signals(impression_id);

-- The objective, the learning settings, the experiment: JSON by key.
CREATE TABLE IF NOT EXISTS feed_settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);

-- Each arm's learned state, and how far into the logs it reaches; on
-- open, what came after is replayed.
CREATE TABLE IF NOT EXISTS feed_snapshots (
    arm             TEXT PRIMARY KEY,
    state           TEXT NOT NULL,
    impression_seq  INTEGER NOT NULL,
    signal_seq      INTEGER NOT NULL,
    saved_at        INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS feed_counters (
    name        TEXT PRIMARY KEY,
    value       INTEGER NOT NULL
);
