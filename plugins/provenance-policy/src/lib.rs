//! The default ingest policy. What to do with media is decided by the
//! validation state `slate verify` reports, one decision per state, with
//! generated media (IPTC `trainedAlgorithmicMedia` or a composite with it)
//! singled out even when it is trusted. Config (all keys optional):
//!
//! ```json
//! {"trusted": "trust", "untrusted": "label", "expired": "label", "unsigned": "label",
//!  "altered": "reject", "generated": "label"}
//! ```
//!
//! `altered` covers every state that means the file is not what was
//! signed: media-altered, manifest-altered, hash-forged, invalid, truncated
//! and unreadable.

use slate_plugin_sdk::prelude::*;

struct Policy {
    trusted: Decision,
    untrusted: Decision,
    expired: Decision,
    unsigned: Decision,
    altered: Decision,
    generated: Decision,
}

const KEYS: [&str; 6] = ["trusted", "untrusted", "expired", "unsigned", "altered", "generated"];

fn parse_decision(key: &str, value: &slate_plugin_sdk::json::Value) -> Result<Decision, PluginError> {
    match value.as_str() {
        Some("trust") => Ok(Decision::Trust),
        Some("label") => Ok(Decision::Label),
        Some("throttle") => Ok(Decision::Throttle),
        Some("reject") => Ok(Decision::Reject),
        _ => Err(PluginError::BadConfig(format!(
            "`{key}` must be one of \"trust\", \"label\", \"throttle\", \"reject\", not {value}"
        ))),
    }
}

/// How strongly a decision holds media back, to keep the stronger of two.
fn severity(decision: Decision) -> u8 {
    match decision {
        Decision::Trust => 0,
        Decision::Throttle => 1,
        Decision::Label => 2,
        Decision::Reject => 3,
    }
}

impl ProvenancePolicy for Policy {
    fn describe() -> Description {
        describe_provenance_policy("provenance-policy").config_schema(
            r#"{"trusted|untrusted|expired|unsigned|altered|generated": "trust, label, throttle or reject"}"#,
        )
    }

    fn new(config: &str) -> Result<Self, PluginError> {
        let mut policy = Policy {
            trusted: Decision::Trust,
            untrusted: Decision::Label,
            expired: Decision::Label,
            unsigned: Decision::Label,
            altered: Decision::Reject,
            generated: Decision::Label,
        };
        let config = Config::parse(config, r#"{"unsigned": "reject"}"#)?;
        for (key, value) in config.entries() {
            let decision = parse_decision(key, value)?;
            match key {
                "trusted" => policy.trusted = decision,
                "untrusted" => policy.untrusted = decision,
                "expired" => policy.expired = decision,
                "unsigned" => policy.unsigned = decision,
                "altered" => policy.altered = decision,
                "generated" => policy.generated = decision,
                other => {
                    return Err(PluginError::BadConfig(format!(
                        "unknown key `{other}`; the keys are {}",
                        KEYS.join(", ")
                    )));
                }
            }
        }
        Ok(policy)
    }

    fn decide(&mut self, report_json: &str) -> Result<Verdict, PluginError> {
        let report: slate_plugin_sdk::json::Value = slate_plugin_sdk::json::from_str(report_json)
            .map_err(|e| PluginError::Failed(format!("the report is not JSON: {e}")))?;
        let state = report["state"]
            .as_str()
            .ok_or_else(|| PluginError::Failed("the report has no `state`".into()))?;
        let codes: Vec<&str> = report["failures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["code"].as_str())
            .collect();
        let (mut decision, mut reason) = match state {
            "trusted" => (self.trusted, "signed by a trusted signer".to_owned()),
            "untrusted" => (self.untrusted, "signed, by a signer outside the trust list".to_owned()),
            "expired" => (self.expired, "signed with a certificate that has expired".to_owned()),
            "unsigned" => (self.unsigned, "no content credentials".to_owned()),
            other => (self.altered, format!("{other}: {}", codes.join(", "))),
        };
        let generated = report["actions"].as_array().into_iter().flatten().any(|action| {
            action["digitalSourceType"].as_str().is_some_and(|t| {
                t.ends_with("trainedAlgorithmicMedia") || t.ends_with("compositeWithTrainedAlgorithmicMedia")
            })
        });
        if generated && severity(self.generated) > severity(decision) {
            decision = self.generated;
            reason = format!("AI-generated; {reason}");
        }
        Ok(Verdict { decision, reason })
    }
}

slate_plugin_sdk::export!(provenance_policy: Policy);
