//! The echo plugin: the host's test and benchmark fixture. It echoes a message back to its
//! sender, with two tiny state commands and a deliberate failure for the host's tests.
//! The plain echo path makes exactly one import call (`send-sms`), so a benchmark of it
//! measures the cost of an invocation and not of state.

use agenthost_sdk::{self as sdk, Description, Guest, InboundMessage, Job, PluginError, Severity};

struct Echo;

/// What a message body asks for.
enum Command<'a> {
    /// `set KEY VALUE`: store VALUE (the rest of the line) under KEY.
    Set { key: &'a str, value: &'a str },
    /// `get KEY`: reply with the stored value.
    Get { key: &'a str },
    /// `fail`: return a non-retryable error.
    Fail,
    /// `alert TEXT`: raise a warning alert whose message is TEXT; reply `alerted`.
    Alert { text: &'a str },
    /// `ask PROMPT`: one LLM completion; replies with its text or the typed error.
    Ask { prompt: &'a str },
    /// Anything else: reply `echo: BODY`.
    Echo,
}

impl<'a> Command<'a> {
    fn parse(body: &'a str) -> Self {
        if body == "fail" {
            Self::Fail
        } else if let Some((key, value)) = body.strip_prefix("set ").and_then(|r| r.split_once(' '))
        {
            Self::Set { key, value }
        } else if let Some(key) = body.strip_prefix("get ") {
            Self::Get { key }
        } else if let Some(prompt) = body.strip_prefix("ask ") {
            Self::Ask { prompt }
        } else if let Some(text) = body.strip_prefix("alert ") {
            Self::Alert { text }
        } else {
            Self::Echo
        }
    }
}

impl Guest for Echo {
    fn describe() -> Description {
        Description::new(
            "echo",
            env!("CARGO_PKG_VERSION"),
            "Replies `echo: <body>`; `set K V` / `get K` use state; `ask P` calls the LLM; `alert T` raises an alert; `fail` errors",
        )
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        let reply = match Command::parse(&message.body) {
            Command::Set { key, value } => {
                sdk::state::set(key, value);
                "ok".to_owned()
            }
            Command::Get { key } => sdk::state::get(key).unwrap_or_else(|| "(none)".to_owned()),
            Command::Fail => return Err(sdk::error("requested", "the message asked to fail")),
            Command::Alert { text } => {
                sdk::alert("echo", Severity::Warning, text, &[("from", &message.from)]);
                "alerted".to_owned()
            }
            Command::Ask { prompt } => {
                let request = sdk::llm::CompletionRequest {
                    system: None,
                    messages: vec![sdk::llm::ChatMessage {
                        role: sdk::llm::Role::User,
                        content: prompt.to_owned(),
                    }],
                    max_tokens: 100,
                    temperature: None,
                };
                match sdk::llm::complete(&request) {
                    Ok(c) => format!("llm: {}", c.text),
                    Err(e) => format!("llm error: {e:?}"),
                }
            }
            Command::Echo => format!("echo: {}", message.body),
        };
        sdk::sms::send(&message.from, &reply);
        Ok(())
    }

    /// The payload is the number to text, so a test can schedule a job and watch for it.
    fn handle_job(job: Job) -> Result<(), PluginError> {
        sdk::sms::send(&job.payload, &format!("job: {}", job.name));
        Ok(())
    }
}

agenthost_sdk::export_plugin!(Echo);

#[cfg(test)]
mod tests {
    use super::Command;

    #[test]
    fn commands_parse() {
        assert!(matches!(Command::parse("fail"), Command::Fail));
        assert!(matches!(
            Command::parse("set k v w"),
            Command::Set {
                key: "k",
                value: "v w"
            }
        ));
        assert!(matches!(Command::parse("get k"), Command::Get { key: "k" }));
        assert!(matches!(
            Command::parse("alert disk full"),
            Command::Alert { text: "disk full" }
        ));
        assert!(matches!(
            Command::parse("ask why"),
            Command::Ask { prompt: "why" }
        ));
        assert!(matches!(Command::parse("alerting"), Command::Echo));
    }
}
