//! The registry's queries, through sqlx (blocking calls, for elements and
//! the CLI alike: [`Database`]).

use std::path::Path;

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use slate_store::Database;
use sqlx::Row;

use crate::error::{ConsentError, invalid};
use crate::model::{
    AuditEntry, GRANT_KIND, Grant, GrantRecord, Identity, REVOCATION_KIND, Request, Revocation, Signed, Terms, Verdict,
    hex,
};

pub struct Registry {
    db: Database,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

/// When a grant is in force: from `valid_from` to `valid_until` (seconds
/// since the epoch), unless revoked from `revoked_at` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantWindow {
    pub id: String,
    pub valid_from: i64,
    pub valid_until: i64,
    pub revoked_at: Option<i64>,
}

impl GrantWindow {
    pub fn in_force(&self, at: i64) -> bool {
        self.valid_from <= at && at < self.valid_until && self.revoked_at.is_none_or(|r| at < r)
    }
}

/// Where a check happens, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    pub checker: &'a str,
    pub media: &'a str,
    pub frames: &'a str,
}

impl Registry {
    /// Opens (making it if need be) the registry file, sharing the pool this
    /// process already has on it.
    pub fn open(path: &Path) -> Result<Registry, ConsentError> {
        Ok(Registry::with(Database::open(path)?))
    }

    /// The registry in an open database.
    pub fn with(db: Database) -> Registry {
        Registry { db }
    }

    /// The database the registry lives in, for the stores that share it.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Registers a person: a name, their public key, and reference face
    /// embeddings with where each came from. Returns the new id.
    pub fn register(
        &self,
        name: &str,
        public_key: [u8; 32],
        embeddings: &[(String, Vec<f32>)],
    ) -> Result<String, ConsentError> {
        if name.trim().is_empty() {
            return Err(invalid("name", "empty; give the person's display name"));
        }
        VerifyingKey::from_bytes(&public_key).map_err(|_| invalid("public_key", "not an Ed25519 public key"))?;
        if let Some((source, _)) = embeddings
            .iter()
            .find(|(_, v)| v.is_empty() || v.iter().any(|x| !x.is_finite()))
        {
            return Err(invalid(
                "embeddings",
                format!("the one from {source} is empty or not finite"),
            ));
        }
        let id = format!("id-{}", &hex(&public_key)[..16]);
        let now = crate::now();
        self.db.block_on(async {
            let mut tx = self.db.begin_write().await?;
            sqlx::query("INSERT INTO identities (id, name, public_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?)")
                .bind(&id)
                .bind(name)
                .bind(&public_key[..])
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| match e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => {
                        invalid("public_key", format!("already registered as `{id}`"))
                    }
                    e => e.into(),
                })?;
            for (source, vector) in embeddings {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                sqlx::query("INSERT INTO embeddings (identity_id, source, vector, created_at) VALUES (?, ?, ?, ?)")
                    .bind(&id)
                    .bind(source)
                    .bind(bytes)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    pub fn identity(&self, id: &str) -> Result<Identity, ConsentError> {
        self.load_identities(Some(id))?
            .pop()
            .ok_or_else(|| ConsentError::UnknownIdentity(id.to_owned()))
    }

    pub fn identities(&self) -> Result<Vec<Identity>, ConsentError> {
        self.load_identities(None)
    }

    /// Changes whenever a person or a reference face is added: a gate
    /// holding the faces in memory reloads them when it changes.
    pub fn faces_version(&self) -> Result<(i64, i64), ConsentError> {
        self.db.block_on(async {
            Ok(sqlx::query_as(
                "SELECT (SELECT count(*) FROM identities), (SELECT coalesce(max(rowid), 0) FROM embeddings)",
            )
            .fetch_one(self.db.pool())
            .await?)
        })
    }

    /// One identity (`only`) or all, with their embeddings.
    fn load_identities(&self, only: Option<&str>) -> Result<Vec<Identity>, ConsentError> {
        self.db.block_on(async {
            let rows = sqlx::query(
                "SELECT id, name, public_key, created_at, updated_at FROM identities \
                 WHERE ?1 IS NULL OR id = ?1 ORDER BY id",
            )
            .bind(only)
            .fetch_all(self.db.pool())
            .await?;
            let mut identities = Vec::new();
            for row in rows {
                let id: String = row.get("id");
                let key: Vec<u8> = row.get("public_key");
                let vectors: Vec<Vec<u8>> =
                    sqlx::query_scalar("SELECT vector FROM embeddings WHERE identity_id = ? ORDER BY rowid")
                        .bind(&id)
                        .fetch_all(self.db.pool())
                        .await?;
                identities.push(Identity {
                    name: row.get("name"),
                    public_key: key
                        .try_into()
                        .map_err(|_| ConsentError::Store(format!("{id}: a stored key is not 32 bytes")))?,
                    embeddings: vectors
                        .iter()
                        .map(|b| {
                            b.chunks_exact(4)
                                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                                .collect()
                        })
                        .collect(),
                    created_at: row.get("created_at"),
                    updated_at: row.get("updated_at"),
                    id,
                });
            }
            Ok(identities)
        })
    }

    /// Checks `signed` was made by `identity`'s key.
    fn verify_signature(&self, signed: &Signed, identity: &str, what: &str) -> Result<(), ConsentError> {
        let key = VerifyingKey::from_bytes(&self.identity(identity)?.public_key)
            .map_err(|_| ConsentError::Store(format!("{identity}: its stored key is not valid")))?;
        let signature = Signature::from_bytes(&signed.signature_bytes()?);
        key.verify(signed.body.as_bytes(), &signature)
            .map_err(|_| ConsentError::BadSignature {
                what: what.to_owned(),
                whose: identity.to_owned(),
            })
    }

    /// Adds a grant its identity signed. Refused: a bad signature, bad
    /// terms, an id already used, or a grant that was revoked (replay).
    pub fn add_grant(&self, signed: &Signed) -> Result<Grant, ConsentError> {
        let grant: Grant =
            serde_json::from_str(&signed.body).map_err(|e| invalid("body", format!("not a grant: {e}")))?;
        if grant.kind != GRANT_KIND {
            return Err(invalid(
                "kind",
                format!("`{}` where a grant says `{GRANT_KIND}`", grant.kind),
            ));
        }
        if grant.id.trim().is_empty() {
            return Err(invalid("id", "empty"));
        }
        grant.terms.check()?;
        self.verify_signature(signed, &grant.identity, &format!("grant `{}`", grant.id))?;
        if let Some(at) = self.revoked_at(&grant.id)? {
            return Err(ConsentError::Revoked { id: grant.id, at });
        }
        let signature = signed.signature_bytes()?;
        self.db.block_on(async {
            sqlx::query(
                "INSERT INTO grants (id, identity_id, grantee, valid_from, valid_until, body, signature, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&grant.id)
            .bind(&grant.identity)
            .bind(&grant.terms.grantee)
            .bind(grant.terms.valid_from)
            .bind(grant.terms.valid_until)
            .bind(&signed.body)
            .bind(&signature[..])
            .bind(crate::now())
            .execute(self.db.pool())
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(d) if d.is_unique_violation() => ConsentError::Duplicate(grant.id.clone()),
                e => e.into(),
            })
        })?;
        Ok(grant)
    }

    /// Fails with `UnknownIdentity` unless `id` is registered (without
    /// loading its embeddings).
    fn require_identity(&self, id: &str) -> Result<(), ConsentError> {
        let known: Option<i64> = self.db.block_on(async {
            sqlx::query_scalar("SELECT 1 FROM identities WHERE id = ?")
                .bind(id)
                .fetch_optional(self.db.pool())
                .await
        })?;
        known
            .map(|_| ())
            .ok_or_else(|| ConsentError::UnknownIdentity(id.to_owned()))
    }

    /// An identity's grants, each with when it was revoked, if it was.
    pub fn grants(&self, identity: &str) -> Result<Vec<GrantRecord>, ConsentError> {
        self.require_identity(identity)?;
        Ok(self
            .load_grants(identity, None)?
            .into_iter()
            .map(|(grant, revoked_at)| GrantRecord { grant, revoked_at })
            .collect())
    }

    /// Every grant's window and revocation: what a feed needs to hold back
    /// media that relies on a grant no longer in force.
    pub fn grant_windows(&self) -> Result<Vec<GrantWindow>, ConsentError> {
        let rows: Vec<(String, i64, i64, Option<i64>)> = self.db.block_on(async {
            sqlx::query_as(
                "SELECT g.id, g.valid_from, g.valid_until, r.revoked_at \
                 FROM grants g LEFT JOIN revocations r ON r.grant_id = g.id",
            )
            .fetch_all(self.db.pool())
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, valid_from, valid_until, revoked_at)| GrantWindow {
                id,
                valid_from,
                valid_until,
                revoked_at,
            })
            .collect())
    }

    /// Checks the signature of every grant and revocation in the registry
    /// again, against its person's key as stored (after a restore, say):
    /// how many were checked, or the first that does not verify.
    pub fn verify_signatures(&self) -> Result<usize, ConsentError> {
        let rows: Vec<(String, String, String, Vec<u8>)> = self.db.block_on(async {
            sqlx::query_as(
                "SELECT 'grant `' || id || '`', identity_id, body, signature FROM grants \
                 UNION ALL \
                 SELECT 'the revocation of `' || r.grant_id || '`', g.identity_id, r.body, r.signature \
                 FROM revocations r JOIN grants g ON g.id = r.grant_id",
            )
            .fetch_all(self.db.pool())
            .await
        })?;
        for (what, identity, body, signature) in &rows {
            let signed = Signed {
                body: body.clone(),
                signature: hex(signature),
            };
            self.verify_signature(&signed, identity, what)?;
        }
        Ok(rows.len())
    }

    /// Changes whenever a grant or a revocation is added: a cheap way to
    /// know whether [`Registry::grant_windows`] must be read again.
    pub fn grants_version(&self) -> Result<(i64, i64), ConsentError> {
        Ok(self.db.block_on(async {
            sqlx::query_as("SELECT (SELECT COUNT(*) FROM grants), (SELECT COUNT(*) FROM revocations)")
                .fetch_one(self.db.pool())
                .await
        })?)
    }

    /// An identity's grants (to `grantee` only, if given), in the order
    /// they start, each with when it was revoked, if it was.
    fn load_grants(&self, identity: &str, grantee: Option<&str>) -> Result<Vec<(Grant, Option<i64>)>, ConsentError> {
        let rows: Vec<(String, String, Option<i64>)> = self.db.block_on(async {
            sqlx::query_as(
                "SELECT g.id, g.body, r.revoked_at FROM grants g LEFT JOIN revocations r ON r.grant_id = g.id \
                 WHERE g.identity_id = ?1 AND (?2 IS NULL OR g.grantee = ?2) ORDER BY g.valid_from, g.id",
            )
            .bind(identity)
            .bind(grantee)
            .fetch_all(self.db.pool())
            .await
        })?;
        rows.into_iter()
            .map(|(id, body, revoked)| {
                let grant = serde_json::from_str(&body).map_err(|e| ConsentError::Store(format!("{id}: {e}")))?;
                Ok((grant, revoked))
            })
            .collect()
    }

    fn revoked_at(&self, grant: &str) -> Result<Option<i64>, ConsentError> {
        self.db.block_on(async {
            Ok(
                sqlx::query_scalar("SELECT revoked_at FROM revocations WHERE grant_id = ?")
                    .bind(grant)
                    .fetch_optional(self.db.pool())
                    .await?,
            )
        })
    }

    /// Records a revocation the grant's identity signed; it wins over the
    /// grant from `revoked_at` on.
    pub fn revoke(&self, signed: &Signed) -> Result<Revocation, ConsentError> {
        let revocation: Revocation =
            serde_json::from_str(&signed.body).map_err(|e| invalid("body", format!("not a revocation: {e}")))?;
        if revocation.kind != REVOCATION_KIND {
            return Err(invalid(
                "kind",
                format!("`{}` where a revocation says `{REVOCATION_KIND}`", revocation.kind),
            ));
        }
        let owner: Option<String> = self.db.block_on(async {
            sqlx::query_scalar("SELECT identity_id FROM grants WHERE id = ?")
                .bind(&revocation.grant)
                .fetch_optional(self.db.pool())
                .await
        })?;
        let owner = owner.ok_or_else(|| ConsentError::UnknownGrant(revocation.grant.clone()))?;
        if owner != revocation.identity {
            return Err(invalid(
                "identity",
                format!("grant `{}` belongs to `{owner}`", revocation.grant),
            ));
        }
        self.verify_signature(signed, &owner, &format!("the revocation of `{}`", revocation.grant))?;
        if let Some(at) = self.revoked_at(&revocation.grant)? {
            return Err(ConsentError::Revoked {
                id: revocation.grant,
                at,
            });
        }
        let signature = signed.signature_bytes()?;
        self.db.block_on(async {
            sqlx::query(
                "INSERT INTO revocations (grant_id, revoked_at, body, signature, created_at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&revocation.grant)
            .bind(revocation.revoked_at)
            .bind(&signed.body)
            .bind(&signature[..])
            .bind(crate::now())
            .execute(self.db.pool())
            .await
        })?;
        Ok(revocation)
    }

    /// May `request.identity` be shown for this grantee, channel, use and
    /// context at `request.at`? Every answer is written to the audit log;
    /// an identity that is not registered is an error, not a refusal.
    pub fn check(&self, request: &Request, context: &Context) -> Result<Verdict, ConsentError> {
        self.require_identity(&request.identity)?;
        let grants = self.load_grants(&request.identity, Some(&request.grantee))?;
        // Allowed by the first grant that allows it; else refused for the
        // reason of the grant that came closest (a refusal names no grant).
        let mut verdict = Verdict {
            allowed: false,
            grant: None,
            reason: format!("no grant to `{}`", request.grantee),
        };
        let mut closest = None;
        for (grant, revoked_at) in grants {
            match refusal(&grant.terms, revoked_at, request) {
                None => {
                    verdict = Verdict {
                        allowed: true,
                        grant: Some(grant.id),
                        reason: "granted".into(),
                    };
                    break;
                }
                Some((stage, why)) if closest.is_none_or(|c| stage >= c) => {
                    closest = Some(stage);
                    verdict.reason = why;
                }
                Some(_) => {}
            }
        }
        self.log(context, Some(&request.identity), &verdict)?;
        Ok(verdict)
    }

    /// Logs a face that matched nobody in the registry, refused for
    /// `reason`.
    pub fn log_unknown(&self, context: &Context, reason: &str) -> Result<(), ConsentError> {
        let verdict = Verdict {
            allowed: false,
            grant: None,
            reason: reason.to_owned(),
        };
        self.log(context, None, &verdict)
    }

    fn log(&self, context: &Context, identity: Option<&str>, verdict: &Verdict) -> Result<(), ConsentError> {
        self.db.block_on(async {
            sqlx::query(
                "INSERT INTO audit (at, checker, media, frames, identity_id, grant_id, allowed, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(crate::now())
            .bind(context.checker)
            .bind(context.media)
            .bind(context.frames)
            .bind(identity)
            .bind(&verdict.grant)
            .bind(verdict.allowed)
            .bind(&verdict.reason)
            .execute(self.db.pool())
            .await
        })?;
        Ok(())
    }

    /// The last `limit` audit entries, oldest first.
    pub fn audit(&self, limit: i64) -> Result<Vec<AuditEntry>, ConsentError> {
        self.db.block_on(async {
            let rows = sqlx::query(
                "SELECT * FROM (SELECT seq, at, checker, media, frames, identity_id, grant_id, allowed, reason \
                 FROM audit ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            )
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?;
            Ok(rows
                .into_iter()
                .map(|row| AuditEntry {
                    seq: row.get("seq"),
                    at: row.get("at"),
                    checker: row.get("checker"),
                    media: row.get("media"),
                    frames: row.get("frames"),
                    identity: row.get("identity_id"),
                    grant: row.get("grant_id"),
                    allowed: row.get("allowed"),
                    reason: row.get("reason"),
                })
                .collect())
        })
    }
}

/// Why `terms` (revoked at `revoked_at`, if ever) do not allow `request`,
/// with how far it got: scope (channel, use, context) first, then time,
/// then revocation, so a refusal names what stopped the closest grant.
fn refusal(terms: &Terms, revoked_at: Option<i64>, request: &Request) -> Option<(u8, String)> {
    if !terms.channels.iter().any(|c| c == "*" || *c == request.channel) {
        return Some((0, format!("channel `{}` not granted", request.channel)));
    }
    if !terms.uses.contains(&request.use_) {
        return Some((1, format!("use `{}` not granted", request.use_)));
    }
    if let Some(tag) = request.context.iter().find(|tag| terms.forbidden.contains(tag)) {
        return Some((2, format!("context `{tag}` forbidden")));
    }
    if request.at < terms.valid_from {
        return Some((3, format!("not valid before {}", terms.valid_from)));
    }
    if request.at >= terms.valid_until {
        return Some((4, format!("expired at {}", terms.valid_until)));
    }
    if let Some(at) = revoked_at.filter(|&at| at <= request.at) {
        return Some((5, format!("revoked at {at}")));
    }
    None
}
