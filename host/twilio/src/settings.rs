//! The Twilio section of the host's configuration: the account, its token, where the
//! API is and the optional Messaging Service. Every variable it reads is in [`VARS`].

use std::time::Duration;

use agenthost_core::{ConfigError, Lookup, Secret, Var};

use crate::client::{DEFAULT_API_BASE, TwilioConfig};

/// Every variable [`TwilioSettings::from_lookup`] reads.
pub const VARS: &[Var] = &[
    Var {
        name: "TWILIO_ACCOUNT_SID",
        secret: false,
        help: "Twilio account SID (required by the web and worker roles)",
    },
    Var {
        name: "TWILIO_AUTH_TOKEN",
        secret: true,
        help: "Twilio auth token: webhook signatures and REST auth (required)",
    },
    Var {
        name: "AGENTHOST_TWILIO_API_BASE",
        secret: false,
        help: "Twilio REST base URL (default https://api.twilio.com)",
    },
    Var {
        name: "AGENTHOST_TWILIO_MESSAGING_SERVICE_SID",
        secret: false,
        help: "send through this messaging service instead of From",
    },
];

/// The Twilio account as configured. The credentials are optional here because only the
/// web and worker roles need them ([`TwilioSettings::require`]).
#[derive(Debug, Clone)]
pub struct TwilioSettings {
    pub account_sid: Option<String>,
    pub auth_token: Option<Secret>,
    /// API origin, no trailing slash.
    pub api_base: String,
    pub messaging_service_sid: Option<String>,
}

impl TwilioSettings {
    /// The section from `lookup` (blank counts as unset); errors name the variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let l = Lookup::new(lookup).declared(VARS);
        let api_base = l
            .get("AGENTHOST_TWILIO_API_BASE")
            .unwrap_or_else(|| DEFAULT_API_BASE.into());
        if !(api_base.starts_with("http://") || api_base.starts_with("https://")) {
            return Err(ConfigError::new(
                "AGENTHOST_TWILIO_API_BASE",
                "must start with http:// or https://",
            ));
        }
        Ok(TwilioSettings {
            account_sid: l.get("TWILIO_ACCOUNT_SID"),
            auth_token: l.secret("TWILIO_AUTH_TOKEN"),
            api_base: api_base.trim_end_matches('/').to_owned(),
            messaging_service_sid: l.get("AGENTHOST_TWILIO_MESSAGING_SERVICE_SID"),
        })
    }

    /// The credentials the web and worker roles cannot run without.
    pub fn require(&self) -> Result<(&str, &Secret), ConfigError> {
        let sid = self.account_sid.as_deref().ok_or_else(|| {
            ConfigError::new("TWILIO_ACCOUNT_SID", "required by the web and worker roles")
        })?;
        let token = self.auth_token.as_ref().ok_or_else(|| {
            ConfigError::new("TWILIO_AUTH_TOKEN", "required by the web and worker roles")
        })?;
        Ok((sid, token))
    }

    /// The REST client's configuration, each send bounded by `timeout`.
    pub fn client_config(&self, timeout: Duration) -> Result<TwilioConfig, ConfigError> {
        let (sid, token) = self.require()?;
        Ok(TwilioConfig {
            api_base: self.api_base.clone(),
            account_sid: sid.to_owned(),
            auth_token: token.expose().to_owned(),
            messaging_service_sid: self.messaging_service_sid.clone(),
            timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_required_only_when_asked_and_never_printed() {
        let none = TwilioSettings::from_lookup(|_| None).unwrap();
        assert_eq!(none.api_base, DEFAULT_API_BASE);
        assert_eq!(none.require().unwrap_err().var, "TWILIO_ACCOUNT_SID");
        let set = TwilioSettings::from_lookup(|k| match k {
            "TWILIO_ACCOUNT_SID" => Some("AC0123".into()),
            "TWILIO_AUTH_TOKEN" => Some("tok-secret".into()),
            "AGENTHOST_TWILIO_API_BASE" => Some("http://127.0.0.1:9/".into()),
            _ => None,
        })
        .unwrap();
        assert!(!format!("{set:?}").contains("tok-secret"));
        let client = set.client_config(Duration::from_secs(3)).unwrap();
        assert_eq!(client.api_base, "http://127.0.0.1:9");
        assert_eq!(client.auth_token, "tok-secret");
        let e = TwilioSettings::from_lookup(|k| {
            (k == "AGENTHOST_TWILIO_API_BASE").then(|| "ftp://x".into())
        })
        .unwrap_err();
        assert_eq!(e.var, "AGENTHOST_TWILIO_API_BASE");
    }
}
