//! What a token may do: scopes, and the roles that bound them.

use serde::{Deserialize, Serialize};

use crate::error::{AccessError, invalid};

/// One permission a token can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    #[serde(rename = "consent:read")]
    ConsentRead,
    #[serde(rename = "consent:write")]
    ConsentWrite,
    #[serde(rename = "feed:read")]
    FeedRead,
    #[serde(rename = "feed:signal")]
    FeedSignal,
    #[serde(rename = "feed:publish")]
    FeedPublish,
    /// The feed's settings, and other users' slates, signals and steering.
    #[serde(rename = "feed:operate")]
    FeedOperate,
    #[serde(rename = "ingest:upload")]
    IngestUpload,
    #[serde(rename = "jobs:submit")]
    JobsSubmit,
    #[serde(rename = "pipelines:operate")]
    PipelinesOperate,
    /// Everything, and accounts, invites and the access log.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 10] = [
        Scope::ConsentRead,
        Scope::ConsentWrite,
        Scope::FeedRead,
        Scope::FeedSignal,
        Scope::FeedPublish,
        Scope::FeedOperate,
        Scope::IngestUpload,
        Scope::JobsSubmit,
        Scope::PipelinesOperate,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ConsentRead => "consent:read",
            Scope::ConsentWrite => "consent:write",
            Scope::FeedRead => "feed:read",
            Scope::FeedSignal => "feed:signal",
            Scope::FeedPublish => "feed:publish",
            Scope::FeedOperate => "feed:operate",
            Scope::IngestUpload => "ingest:upload",
            Scope::JobsSubmit => "jobs:submit",
            Scope::PipelinesOperate => "pipelines:operate",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes; `admin` grants every other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scopes(u16);

impl Scopes {
    pub fn of(scopes: impl IntoIterator<Item = Scope>) -> Scopes {
        Scopes(scopes.into_iter().fold(0, |bits, s| bits | 1 << s as u16))
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & (1 << scope as u16 | 1 << Scope::Admin as u16) != 0
    }

    pub fn is_subset(self, of: Scopes) -> bool {
        of.contains(Scope::Admin) || self.0 & !of.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.0 & 1 << *s as u16 != 0)
    }

    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Scope::as_str).collect()
    }

    /// Space-separated, as stored.
    pub fn to_text(self) -> String {
        self.names().join(" ")
    }

    /// Reads stored or given names; `field` names where they came from.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>, field: &str) -> Result<Scopes, AccessError> {
        let mut scopes = Vec::new();
        for name in names {
            scopes.push(Scope::parse(name).ok_or_else(|| {
                invalid(
                    field,
                    format!(
                        "`{name}` is not a scope; use {}",
                        Scope::ALL.map(Scope::as_str).join(", ")
                    ),
                )
            })?);
        }
        Ok(Scopes::of(scopes))
    }
}

/// What an account is: it bounds the scopes its tokens may carry and sets
/// its default quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Admin,
    Operator,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Member => "member",
        }
    }

    pub fn parse(text: &str, field: &str) -> Result<Role, AccessError> {
        match text {
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "member" => Ok(Role::Member),
            _ => Err(invalid(
                field,
                format!("`{text}` is not a role; use admin, operator or member"),
            )),
        }
    }

    /// The most a token of this role's accounts may carry (and what a new
    /// account's first token carries).
    pub fn scopes(self) -> Scopes {
        use Scope::*;
        let member = [
            ConsentRead,
            ConsentWrite,
            FeedRead,
            FeedSignal,
            FeedPublish,
            IngestUpload,
            JobsSubmit,
        ];
        match self {
            Role::Admin => Scopes::of([Admin]),
            Role::Operator => Scopes::of(member.into_iter().chain([FeedOperate, PipelinesOperate])),
            Role::Member => Scopes::of(member),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_holds_every_scope_and_others_only_theirs() {
        let admin = Scopes::of([Scope::Admin]);
        assert!(Scope::ALL.iter().all(|s| admin.contains(*s)));
        let reader = Scopes::of([Scope::FeedRead]);
        assert!(reader.contains(Scope::FeedRead));
        assert!(!reader.contains(Scope::FeedSignal));
        assert!(reader.is_subset(Role::Member.scopes()));
        assert!(!Scopes::of([Scope::FeedOperate]).is_subset(Role::Member.scopes()));
        assert!(Role::Operator.scopes().is_subset(admin));
    }

    #[test]
    fn scopes_read_back_what_they_write() {
        for role in [Role::Admin, Role::Operator, Role::Member] {
            let text = role.scopes().to_text();
            assert_eq!(Scopes::parse(text.split(' '), "scopes").unwrap(), role.scopes());
        }
        let e = Scopes::parse(["feed:read", "feed:write"], "scopes").unwrap_err();
        assert!(e.to_string().contains("`feed:write` is not a scope"), "{e}");
    }
}
