//! A loopback fake LLM server speaking the Anthropic, OpenAI and Gemini wire formats:
//! scripted replies (ok, status with `Retry-After`, delay, hang), a request journal and
//! an in-flight high-water mark.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// How long a "hanging" reply sleeps: far past any test deadline.
const HANG: Duration = Duration::from_secs(120);

pub const ANTHROPIC: &str = "anthropic";
pub const OPENAI: &str = "openai";
pub const GEMINI: &str = "gemini";

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this text and usage.
    Ok {
        text: String,
        input: u32,
        output: u32,
    },
    /// An error status, optionally with `Retry-After: secs`.
    Status { code: u16, retry_after: Option<u64> },
    /// Wait, then answer like `Ok` with the default text.
    Delay(Duration),
    /// Never answer (within any test).
    Hang,
}

impl Reply {
    pub fn ok(text: &str, input: u32, output: u32) -> Self {
        Self::Ok {
            text: text.to_owned(),
            input,
            output,
        }
    }

    pub fn status(code: u16) -> Self {
        Self::Status {
            code,
            retry_after: None,
        }
    }

    pub fn retry_after(code: u16, secs: u64) -> Self {
        Self::Status {
            code,
            retry_after: Some(secs),
        }
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub provider: &'static str,
    pub path: String,
    pub query: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    scripts: Mutex<HashMap<&'static str, VecDeque<Reply>>>,
    defaults: Mutex<HashMap<&'static str, Reply>>,
    journal: Mutex<Vec<Recorded>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

pub struct FakeLlm {
    pub url: String,
    inner: Arc<Inner>,
    stop: Option<oneshot::Sender<()>>,
}

impl FakeLlm {
    pub async fn start() -> Self {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/v1/messages", post(anthropic))
            .route("/v1/chat/completions", post(openai))
            .route("/v1beta/models/{*rest}", post(gemini))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            url: format!("http://{addr}"),
            inner,
            stop: Some(stop),
        }
    }

    /// Queues replies for `provider`, used before its default.
    pub fn script(&self, provider: &'static str, replies: impl IntoIterator<Item = Reply>) {
        self.inner
            .scripts
            .lock()
            .unwrap()
            .entry(provider)
            .or_default()
            .extend(replies);
    }

    /// The reply once the script is used up (initially a plain ok).
    pub fn set_default(&self, provider: &'static str, reply: Reply) {
        self.inner.defaults.lock().unwrap().insert(provider, reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.journal.lock().unwrap().clone()
    }

    pub fn count(&self, provider: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.provider == provider)
            .count()
    }

    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn anthropic(
    State(s): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    handle(s, ANTHROPIC, uri, headers, body).await
}

async fn openai(
    State(s): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    handle(s, OPENAI, uri, headers, body).await
}

async fn gemini(
    State(s): State<Arc<Inner>>,
    Path(_rest): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    handle(s, GEMINI, uri, headers, body).await
}

/// Decrements the in-flight count however the handler ends.
struct InFlight(Arc<Inner>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(
    s: Arc<Inner>,
    provider: &'static str,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _guard = InFlight(s.clone());
    s.journal.lock().unwrap().push(Recorded {
        provider,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    });
    let scripted = s
        .scripts
        .lock()
        .unwrap()
        .get_mut(provider)
        .and_then(VecDeque::pop_front);
    let reply = scripted
        .or_else(|| s.defaults.lock().unwrap().get(provider).cloned())
        .unwrap_or_else(|| Reply::ok(&format!("hello from {provider}"), 10, 5));
    match reply {
        Reply::Ok {
            text,
            input,
            output,
        } => ok_body(provider, &text, input, output),
        Reply::Delay(d) => {
            tokio::time::sleep(d).await;
            ok_body(provider, &format!("hello from {provider}"), 10, 5)
        }
        Reply::Hang => {
            tokio::time::sleep(HANG).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Reply::Status { code, retry_after } => {
            let status = StatusCode::from_u16(code).unwrap();
            let body = axum::Json(
                json!({"type": "error", "error": {"type": "scripted", "message": format!("scripted {code}")}}),
            );
            match retry_after {
                Some(secs) => (status, [("retry-after", secs.to_string())], body).into_response(),
                None => (status, body).into_response(),
            }
        }
    }
}

fn ok_body(provider: &str, text: &str, input: u32, output: u32) -> Response {
    let body = match provider {
        ANTHROPIC => json!({
            "id": "msg_fake", "type": "message", "role": "assistant", "model": "fake",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": input, "output_tokens": output}
        }),
        OPENAI => json!({
            "id": "chatcmpl-fake", "object": "chat.completion", "model": "fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output}
        }),
        _ => json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": input, "candidatesTokenCount": output, "totalTokenCount": input + output}
        }),
    };
    axum::Json(body).into_response()
}
