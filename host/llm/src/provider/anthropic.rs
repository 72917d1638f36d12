//! The Anthropic Messages API: `POST {base}/v1/messages` with `x-api-key` and
//! `anthropic-version`.

use agenthost_runtime::{ChatRole, CompletionRequest};
use serde::{Deserialize, Serialize};

use super::{Reply, WireRequest, text_or_missing};
use crate::config::ProviderConfig;

/// The API version this module speaks.
pub(crate) const ANTHROPIC_VERSION: &str = "2023-06-01";

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    messages: Vec<Message<'a>>,
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
    content: Vec<Block>,
    #[serde(default)]
    usage: Usage,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize, Default)]
struct Usage {
    #[serde(default)]
    input_tokens: u32,
    #[serde(default)]
    output_tokens: u32,
}

pub(crate) fn build(config: &ProviderConfig, request: &CompletionRequest) -> WireRequest {
    let body = Body {
        model: &config.model,
        max_tokens: request.max_tokens,
        system: request.system.as_deref(),
        messages: request
            .messages
            .iter()
            .map(|m| Message {
                role: match m.role {
                    ChatRole::User => "user",
                    ChatRole::Assistant => "assistant",
                },
                content: &m.content,
            })
            .collect(),
        temperature: request.temperature,
    };
    WireRequest {
        url: format!("{}/v1/messages", config.base_url),
        headers: vec![
            ("x-api-key", config.api_key.expose().to_owned()),
            ("anthropic-version", ANTHROPIC_VERSION.to_owned()),
        ],
        body: serde_json::to_value(body).expect("request body serializes"),
    }
}

pub(crate) fn parse(body: &[u8]) -> Result<Reply, String> {
    let r: Response = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    // content[0].text in practice; join every text block in case of several.
    let texts: Vec<String> = r
        .content
        .into_iter()
        .filter(|b| b.kind == "text" || b.kind.is_empty())
        .filter_map(|b| b.text)
        .collect();
    let text = text_or_missing(
        (!texts.is_empty()).then(|| texts.concat()),
        "content[].text",
    )?;
    Ok(Reply {
        text,
        input_tokens: r.usage.input_tokens,
        output_tokens: r.usage.output_tokens,
    })
}
