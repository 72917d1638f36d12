//! Gemini `generateContent`: `POST {base}/v1beta/models/{model}:generateContent` with the
//! key in `x-goog-api-key` (never in the URL, where error messages would carry it).

use agenthost_runtime::{ChatRole, CompletionRequest};
use serde::{Deserialize, Serialize};

use super::{Reply, WireRequest, text_or_missing};
use crate::config::ProviderConfig;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<SystemInstruction<'a>>,
    contents: Vec<Content<'a>>,
    generation_config: GenerationConfig,
}

#[derive(Serialize)]
struct SystemInstruction<'a> {
    parts: [Part<'a>; 1],
}

#[derive(Serialize)]
struct Content<'a> {
    role: &'static str,
    parts: [Part<'a>; 1],
}

#[derive(Serialize)]
struct Part<'a> {
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    max_output_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(default)]
    usage_metadata: Usage,
}

#[derive(Deserialize)]
struct Candidate {
    #[serde(default)]
    content: Option<CandidateContent>,
}

#[derive(Deserialize)]
struct CandidateContent {
    #[serde(default)]
    parts: Vec<ResponsePart>,
}

#[derive(Deserialize)]
struct ResponsePart {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Usage {
    #[serde(default)]
    prompt_token_count: u32,
    #[serde(default)]
    candidates_token_count: u32,
}

pub(crate) fn build(config: &ProviderConfig, request: &CompletionRequest) -> WireRequest {
    let body = Body {
        system_instruction: request.system.as_deref().map(|text| SystemInstruction {
            parts: [Part { text }],
        }),
        contents: request
            .messages
            .iter()
            .map(|m| Content {
                role: match m.role {
                    ChatRole::User => "user",
                    ChatRole::Assistant => "model",
                },
                parts: [Part { text: &m.content }],
            })
            .collect(),
        generation_config: GenerationConfig {
            max_output_tokens: request.max_tokens,
            temperature: request.temperature,
        },
    };
    WireRequest {
        url: format!(
            "{}/v1beta/models/{}:generateContent",
            config.base_url, config.model
        ),
        headers: vec![("x-goog-api-key", config.api_key.expose().to_owned())],
        body: serde_json::to_value(body).expect("request body serializes"),
    }
}

pub(crate) fn parse(body: &[u8]) -> Result<Reply, String> {
    let r: Response = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    // candidates[0].content.parts[0].text in practice; join every text part.
    let text = r
        .candidates
        .into_iter()
        .next()
        .and_then(|c| c.content)
        .map(|c| {
            c.parts
                .into_iter()
                .filter_map(|p| p.text)
                .collect::<String>()
        })
        .filter(|t| !t.is_empty());
    Ok(Reply {
        text: text_or_missing(text, "candidates[0].content.parts[].text")?,
        input_tokens: r.usage_metadata.prompt_token_count,
        output_tokens: r.usage_metadata.candidates_token_count,
    })
}
