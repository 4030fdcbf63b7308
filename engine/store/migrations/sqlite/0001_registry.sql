-- The identity-rights registry. Grants and revocations keep the exact
-- bytes that were signed, so a signature can be checked again at any time.
--
-- 0001 and 0002 say IF NOT EXISTS because files made before slate-store
-- already hold these tables (their versions were kept in PRAGMA
-- user_version and feed_schema): on such a file they change nothing, and
-- 0003 retires the old markers.

CREATE TABLE IF NOT EXISTS identities (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    public_key  BLOB NOT NULL CHECK (length(public_key) = 32),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Reference face embeddings (little-endian f32), one row per photo.
CREATE TABLE IF NOT EXISTS embeddings (
    identity_id TEXT NOT NULL REFERENCES identities(id),
    source      TEXT NOT NULL,
    vector      BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS embeddings_by_identity ON embeddings(identity_id);

CREATE TABLE IF NOT EXISTS grants (
    id          TEXT PRIMARY KEY,
    identity_id TEXT NOT NULL REFERENCES identities(id),
    grantee     TEXT NOT NULL,
    valid_from  INTEGER NOT NULL,
    valid_until INTEGER NOT NULL,
    body        TEXT NOT NULL,
    signature   BLOB NOT NULL CHECK (length(signature) = 64),
    created_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS grants_by_identity ON grants(identity_id, grantee);

CREATE TABLE IF NOT EXISTS revocations (
    grant_id    TEXT PRIMARY KEY REFERENCES grants(id),
    revoked_at  INTEGER NOT NULL,
    body        TEXT NOT NULL,
    signature   BLOB NOT NULL CHECK (length(signature) = 64),
    created_at  INTEGER NOT NULL
);

-- Append-only: every check, with what it decided. Triggers refuse changes.
CREATE TABLE IF NOT EXISTS audit (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    checker     TEXT NOT NULL,
    media       TEXT NOT NULL,
    frames      TEXT NOT NULL,
    identity_id TEXT,
    grant_id    TEXT,
    allowed     INTEGER NOT NULL,
    reason      TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
