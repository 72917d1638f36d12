//! OpenAI-compatible chat completions: `POST {base}/v1/chat/completions` with a bearer
//! token, the system prompt as the first message.

use agenthost_runtime::{ChatRole, CompletionRequest};
use serde::{Deserialize, Serialize};

use super::{Reply, WireRequest, text_or_missing};
use crate::config::ProviderConfig;

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: Vec<Message<'a>>,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Usage,
}

#[derive(Deserialize)]
struct Choice {
    message: ResponseMessage,
}

#[derive(Deserialize)]
struct ResponseMessage {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize, Default)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
}

pub(crate) fn build(config: &ProviderConfig, request: &CompletionRequest) -> WireRequest {
    let system = request.system.as_deref().map(|s| Message {
        role: "system",
        content: s,
    });
    let messages = system
        .into_iter()
        .chain(request.messages.iter().map(|m| Message {
            role: match m.role {
                ChatRole::User => "user",
                ChatRole::Assistant => "assistant",
            },
            content: &m.content,
        }))
        .collect();
    let body = Body {
        model: &config.model,
        messages,
        max_tokens: request.max_tokens,
        temperature: request.temperature,
    };
    WireRequest {
        url: format!("{}/v1/chat/completions", config.base_url),
        headers: vec![(
            "authorization",
            format!("Bearer {}", config.api_key.expose()),
        )],
        body: serde_json::to_value(body).expect("request body serializes"),
    }
}

pub(crate) fn parse(body: &[u8]) -> Result<Reply, String> {
    let r: Response = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let text = r.choices.into_iter().next().and_then(|c| c.message.content);
    Ok(Reply {
        text: text_or_missing(text, "choices[0].message.content")?,
        input_tokens: r.usage.prompt_tokens,
        output_tokens: r.usage.completion_tokens,
    })
}
