//! The queue section of the host's configuration: RabbitMQ or the embedded queue. Every
//! variable it reads is in [`VARS`].

use agenthost_core::{ConfigError, Lookup, Secret, Var};

/// Every variable [`QueueConfig::from_lookup`] reads.
pub const VARS: &[Var] = &[
    Var {
        name: "AGENTHOST_QUEUE_URL",
        secret: true,
        help: "amqp://... for RabbitMQ (unset: the embedded queue in the database)",
    },
    Var {
        name: "AGENTHOST_QUEUE_PREFIX",
        secret: false,
        help: "RabbitMQ queue names become <prefix>.agenthost.<plugin>, e.g. per environment (default none)",
    },
];

/// Which queue carries the lanes.
#[derive(Debug, Clone, Default)]
pub struct QueueConfig {
    /// `amqp(s)://...`: RabbitMQ; unset: the embedded queue in the database.
    pub url: Option<Secret>,
    /// RabbitMQ queue names become `<prefix>.agenthost.<plugin>`.
    pub prefix: Option<String>,
}

impl QueueConfig {
    /// The section from `lookup` (blank counts as unset); errors name the variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let l = Lookup::new(lookup).declared(VARS);
        let url = l.get("AGENTHOST_QUEUE_URL");
        if let Some(u) = &url
            && !(u.starts_with("amqp://") || u.starts_with("amqps://"))
        {
            return Err(ConfigError::new(
                "AGENTHOST_QUEUE_URL",
                "must start with amqp:// or amqps://",
            ));
        }
        Ok(QueueConfig {
            url: url.map(Secret::new),
            prefix: l.get("AGENTHOST_QUEUE_PREFIX"),
        })
    }

    /// `rabbitmq` or `embedded`, as logs and the deployment record say it.
    pub fn kind(&self) -> &'static str {
        if self.url.is_some() {
            "rabbitmq"
        } else {
            "embedded"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_unless_an_amqp_url_is_set() {
        let c = QueueConfig::from_lookup(|_| None).unwrap();
        assert_eq!(c.kind(), "embedded");
        let c = QueueConfig::from_lookup(|k| {
            (k == "AGENTHOST_QUEUE_URL").then(|| "amqp://guest:guest@h:5672/%2f".to_owned())
        })
        .unwrap();
        assert_eq!(c.kind(), "rabbitmq");
        assert!(!format!("{c:?}").contains("guest:guest"));
        let e = QueueConfig::from_lookup(|k| {
            (k == "AGENTHOST_QUEUE_URL").then(|| "http://h".to_owned())
        })
        .unwrap_err();
        assert_eq!(e.var, "AGENTHOST_QUEUE_URL");
    }
}
