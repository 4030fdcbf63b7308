//! Rate limits: GCRA (`governor`) per token and per account by route class,
//! and per address where no token is given (sign-ups, the public routes).
//!
//! A class allows `per_minute` requests a minute with a `burst` on top, so
//! from rest a caller gets at most `per_minute + burst` in any minute. Every
//! response says where its caller stands:
//!
//! - `x-ratelimit-limit` (requests a minute), `x-ratelimit-remaining` (how
//!   many may be sent right now), `x-ratelimit-reset` (seconds until all of
//!   the burst is back), as GitHub and OpenAI send them;
//! - `RateLimit-Policy: "read";q=600;w=60` and `RateLimit: "read";r=59;t=1`,
//!   the IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers);
//! - on `429`, `Retry-After` in whole seconds: a request sent then passes.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use serde::Serialize;

/// What kind of work a route is: each has its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Read,
    Write,
    Signal,
    Upload,
    Generate,
    SignUp,
}

impl Class {
    pub const ALL: [Class; 6] = [
        Class::Read,
        Class::Write,
        Class::Signal,
        Class::Upload,
        Class::Generate,
        Class::SignUp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Write => "write",
            Class::Signal => "signal",
            Class::Upload => "upload",
            Class::Generate => "generate",
            Class::SignUp => "sign_up",
        }
    }
}

/// Requests a minute, and how many more may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

/// The limits of each class, for one token; an account's tokens together
/// get `account_factor` times as much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RateLimits {
    pub read: Rate,
    pub write: Rate,
    pub signal: Rate,
    pub upload: Rate,
    pub generate: Rate,
    /// Per address.
    pub sign_up: Rate,
    pub account_factor: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        let rate = |per_minute, burst| Rate { per_minute, burst };
        RateLimits {
            read: rate(600, 60),
            write: rate(120, 20),
            signal: rate(1200, 200),
            upload: rate(60, 10),
            generate: rate(30, 5),
            sign_up: rate(5, 5),
            account_factor: 2,
        }
    }
}

impl RateLimits {
    /// Limits no caller reaches: for benchmarks and tests of other things.
    pub fn unlimited() -> RateLimits {
        let rate = Rate {
            per_minute: 100_000_000,
            burst: 10_000_000,
        };
        RateLimits {
            read: rate,
            write: rate,
            signal: rate,
            upload: rate,
            generate: rate,
            sign_up: rate,
            account_factor: 1,
        }
    }

    pub fn get(&self, class: Class) -> Rate {
        match class {
            Class::Read => self.read,
            Class::Write => self.write,
            Class::Signal => self.signal,
            Class::Upload => self.upload,
            Class::Generate => self.generate,
            Class::SignUp => self.sign_up,
        }
    }

    fn get_mut(&mut self, class: Class) -> &mut Rate {
        match class {
            Class::Read => &mut self.read,
            Class::Write => &mut self.write,
            Class::Signal => &mut self.signal,
            Class::Upload => &mut self.upload,
            Class::Generate => &mut self.generate,
            Class::SignUp => &mut self.sign_up,
        }
    }

    /// Sets one class from `CLASS=PER_MINUTE[:BURST]` (e.g. `read=600:60`).
    pub fn set(&mut self, text: &str) -> Result<(), String> {
        let usage = || {
            format!(
                "`{text}` is not CLASS=PER_MINUTE[:BURST] with CLASS one of {}",
                Class::ALL.map(Class::as_str).join(", ")
            )
        };
        let (name, value) = text.split_once('=').ok_or_else(usage)?;
        let class = Class::ALL
            .into_iter()
            .find(|c| c.as_str() == name.trim())
            .ok_or_else(usage)?;
        let (per_minute, burst) = match value.split_once(':') {
            Some((rate, burst)) => (rate, Some(burst)),
            None => (value, None),
        };
        let number = |t: &str| t.trim().parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(usage);
        let per_minute = number(per_minute)?;
        let burst = match burst {
            Some(b) => number(b)?,
            None => per_minute.div_ceil(10),
        };
        *self.get_mut(class) = Rate { per_minute, burst };
        Ok(())
    }
}

const FORGET_EVERY: u64 = 4096;

type Keyed<K> = RateLimiter<K, DashMapStateStore<K>, DefaultClock, StateInformationMiddleware>;

fn limiter<K: std::hash::Hash + Eq + Clone>(rate: Rate, factor: u32) -> Keyed<K> {
    let nonzero = |n: u32| NonZeroU32::new(n.max(1)).expect("at least 1");
    let quota = Quota::per_minute(nonzero(rate.per_minute.saturating_mul(factor)))
        .allow_burst(nonzero(rate.burst.saturating_mul(factor)));
    RateLimiter::dashmap(quota).with_middleware::<StateInformationMiddleware>()
}

/// Where a caller stands after one request, for its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub class: Class,
    pub per_minute: u32,
    pub remaining: u32,
    /// Seconds until the whole burst is back.
    pub reset: u64,
    /// Set when refused: seconds until a request passes.
    pub retry_after: Option<u64>,
}

impl Standing {
    pub fn refused(&self) -> bool {
        self.retry_after.is_some()
    }

    pub fn write(&self, headers: &mut HeaderMap) {
        let mut set = |name: &'static str, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        };
        let class = self.class.as_str();
        set("x-ratelimit-limit", self.per_minute.to_string());
        set("x-ratelimit-remaining", self.remaining.to_string());
        set("x-ratelimit-reset", self.reset.to_string());
        set("ratelimit-policy", format!("\"{class}\";q={};w=60", self.per_minute));
        set(
            "ratelimit",
            format!(
                "\"{class}\";r={};t={}",
                self.remaining,
                self.retry_after.unwrap_or(self.reset)
            ),
        );
        if let Some(after) = self.retry_after {
            set("retry-after", after.to_string());
        }
    }
}

/// The limiters of one server.
pub(crate) struct Limiters {
    limits: RateLimits,
    /// Checks so far: every [`FORGET_EVERY`] the idle callers are dropped.
    checks: std::sync::atomic::AtomicU64,
    clock: DefaultClock,
    tokens: Vec<Keyed<String>>,
    accounts: Vec<Keyed<String>>,
    addresses: Vec<Keyed<IpAddr>>,
}

impl Limiters {
    pub fn new(limits: RateLimits) -> Limiters {
        let each = |factor: u32| -> Vec<Keyed<String>> {
            Class::ALL.iter().map(|c| limiter(limits.get(*c), factor)).collect()
        };
        Limiters {
            tokens: each(1),
            accounts: each(limits.account_factor.max(1)),
            addresses: Class::ALL.iter().map(|c| limiter(limits.get(*c), 1)).collect(),
            clock: DefaultClock::default(),
            checks: Default::default(),
            limits,
        }
    }

    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// One request of `class` by `token` of `account`: the token's limit
    /// first, then its account's.
    pub fn check_token(&self, class: Class, token: &str, account: &str) -> Standing {
        let at = class as usize;
        let mine = self.check(&self.tokens[at], &token.to_owned(), class, 1);
        if mine.refused() {
            return mine;
        }
        let ours = self.check(
            &self.accounts[at],
            &account.to_owned(),
            class,
            self.limits.account_factor.max(1),
        );
        if ours.refused() || ours.remaining < mine.remaining {
            ours
        } else {
            mine
        }
    }

    pub fn check_address(&self, class: Class, address: IpAddr) -> Standing {
        self.check(&self.addresses[class as usize], &address, class, 1)
    }

    fn check<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &Keyed<K>,
        key: &K,
        class: Class,
        factor: u32,
    ) -> Standing {
        if self.checks.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            self.forget_idle();
        }
        let per_minute = self.limits.get(class).per_minute.saturating_mul(factor);
        let whole_seconds = |d: Duration| d.as_secs() + u64::from(d.subsec_nanos() > 0);
        match limiter.check_key(key) {
            Ok(state) => {
                let quota = state.quota();
                let remaining = state.remaining_burst_capacity();
                let missing = quota.burst_size().get().saturating_sub(remaining);
                Standing {
                    class,
                    per_minute,
                    remaining,
                    reset: whole_seconds(quota.replenish_interval() * missing),
                    retry_after: None,
                }
            }
            Err(not_until) => {
                let wait = whole_seconds(not_until.wait_time_from(self.clock.now())).max(1);
                let full = not_until.quota().burst_size_replenished_in();
                Standing {
                    class,
                    per_minute,
                    remaining: 0,
                    reset: whole_seconds(full),
                    retry_after: Some(wait),
                }
            }
        }
    }

    /// Forgets callers whose limits are full again (bounded memory).
    fn forget_idle(&self) {
        for limiter in self.tokens.iter().chain(&self.accounts) {
            limiter.retain_recent();
        }
        for limiter in &self.addresses {
            limiter.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_gets_its_burst_then_waits() {
        let mut limits = RateLimits::default();
        limits.set("read=60:3").unwrap();
        let limiters = Limiters::new(limits);
        let standings: Vec<Standing> = (0..5).map(|_| limiters.check_token(Class::Read, "t", "a")).collect();
        assert_eq!(standings.iter().filter(|s| !s.refused()).count(), 3);
        assert_eq!(standings[0].remaining, 2);
        let refused = standings[4];
        assert_eq!(refused.retry_after, Some(1), "one request a second comes back");
        let mut headers = HeaderMap::new();
        refused.write(&mut headers);
        assert_eq!(headers["retry-after"], "1");
        assert_eq!(headers["x-ratelimit-remaining"], "0");
        assert_eq!(headers["ratelimit-policy"], "\"read\";q=60;w=60");
        // Another token of another account is not held back.
        assert!(!limiters.check_token(Class::Read, "u", "b").refused());
    }

    #[test]
    fn limits_read_from_text() {
        let mut limits = RateLimits::default();
        limits.set("upload=30").unwrap();
        assert_eq!(
            limits.upload,
            Rate {
                per_minute: 30,
                burst: 3
            }
        );
        assert!(limits.set("uploads=3").unwrap_err().contains("CLASS one of read"));
        assert!(limits.set("read=0").is_err());
    }
}
