-- Invite-only access: accounts, the invites that brought them, their API
-- tokens (kept as SHA-256 only), quota usage, who owns what, and an
-- append-only log of every change.

CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'member')),
    invited_by      TEXT REFERENCES accounts(id),
    invite_id       TEXT,
    limits          TEXT,                   -- JSON: this account's own quota limits, or NULL for its role's
    disabled_at     INTEGER,
    disabled_reason TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX accounts_by_inviter ON accounts(invited_by);

CREATE TABLE invites (
    id           TEXT PRIMARY KEY,
    code_hash    BLOB NOT NULL UNIQUE CHECK (length(code_hash) = 32),
    role         TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'member')),
    uses_allowed INTEGER NOT NULL CHECK (uses_allowed > 0),
    uses         INTEGER NOT NULL DEFAULT 0,
    expires_at   INTEGER,
    created_by   TEXT NOT NULL REFERENCES accounts(id),
    created_at   INTEGER NOT NULL,
    CHECK (uses <= uses_allowed)
);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    name         TEXT NOT NULL,
    hash         BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    prefix       TEXT NOT NULL,             -- the secret's first characters, to recognise it
    scopes       TEXT NOT NULL,             -- space-separated
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE INDEX tokens_by_account ON tokens(account_id);

-- What each account has used of each quota in each period (a day number
-- for daily quotas, 0 for totals). Charged with one conditional UPDATE, so
-- racing requests cannot overrun a limit.
CREATE TABLE quota_usage (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    quota      TEXT NOT NULL,
    period     INTEGER NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (account_id, quota, period)
);

-- Who owns what: identities, feed items, uploads.
CREATE TABLE owners (
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX owners_by_account ON owners(account_id, kind);

CREATE TABLE access_audit (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT,                           -- the account that did it; NULL for the installer
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL                   -- JSON
);
CREATE TRIGGER access_audit_no_update BEFORE UPDATE ON access_audit BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TRIGGER access_audit_no_delete BEFORE DELETE ON access_audit BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
