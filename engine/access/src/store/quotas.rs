//! Quotas charged in the store: one conditional update per charge, so
//! racing charges cannot overrun a limit together.

use super::Access;
use crate::error::{AccessError, invalid};
use crate::quota::{Charge, Quota, QuotaExceeded, Usage};

impl Access {
    /// Takes `amount` of `quota` for `account`, or refuses without taking
    /// anything if that would pass its limit. One conditional `UPDATE`:
    /// racing charges cannot overrun the limit together.
    pub fn charge(&self, account: &str, quota: Quota, amount: i64) -> Result<Charge, AccessError> {
        if amount < 0 {
            return Err(invalid(quota.as_str(), "a charge cannot be negative"));
        }
        let limit = self.account(account)?.limits.get(quota);
        let period = quota.period(crate::now());
        let charged = self.db.block_on(async {
            sqlx::query(
                "INSERT INTO quota_usage (account_id, quota, period, used) VALUES (?, ?, ?, 0) ON CONFLICT DO NOTHING",
            )
            .bind(account)
            .bind(quota.as_str())
            .bind(period)
            .execute(self.db.pool())
            .await?;
            sqlx::query_scalar::<_, i64>(
                "UPDATE quota_usage SET used = used + ?1 \
                 WHERE account_id = ?2 AND quota = ?3 AND period = ?4 AND used <= ?5 - ?1 RETURNING used",
            )
            .bind(amount)
            .bind(account)
            .bind(quota.as_str())
            .bind(period)
            .bind(limit)
            .fetch_optional(self.db.pool())
            .await
        })?;
        match charged {
            Some(_) => Ok(Charge { quota, period, amount }),
            None => Err(AccessError::Quota(QuotaExceeded {
                quota,
                limit,
                used: self.used(account, quota, period)?,
                asked: amount,
                resets_at: quota.resets_at(period),
            })),
        }
    }

    /// Hands back a charge whose work did not happen.
    pub fn refund(&self, account: &str, charge: Charge) -> Result<(), AccessError> {
        self.db.block_on(
            sqlx::query(
                "UPDATE quota_usage SET used = max(used - ?, 0) WHERE account_id = ? AND quota = ? AND period = ?",
            )
            .bind(charge.amount)
            .bind(account)
            .bind(charge.quota.as_str())
            .bind(charge.period)
            .execute(self.db.pool()),
        )?;
        Ok(())
    }

    fn used(&self, account: &str, quota: Quota, period: i64) -> Result<i64, AccessError> {
        let used: Option<i64> = self.db.block_on(
            sqlx::query_scalar("SELECT used FROM quota_usage WHERE account_id = ? AND quota = ? AND period = ?")
                .bind(account)
                .bind(quota.as_str())
                .bind(period)
                .fetch_optional(self.db.pool()),
        )?;
        Ok(used.unwrap_or(0))
    }

    /// Every quota of `account`: used in the current period, and its limit.
    pub fn usage(&self, account: &str) -> Result<Vec<Usage>, AccessError> {
        let limits = self.account(account)?.limits;
        let now = crate::now();
        Quota::ALL
            .into_iter()
            .map(|quota| {
                let period = quota.period(now);
                Ok(Usage {
                    quota,
                    used: self.used(account, quota, period)?,
                    limit: limits.get(quota),
                    resets_at: quota.resets_at(period),
                })
            })
            .collect()
    }
}
