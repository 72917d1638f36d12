//! The admin API behind the operator's console (`/admin/ui`): the live summary, dead
//! letters (list, requeue onto the active or the candidate version, discard with a
//! reason — each recorded in the plugin's deploy history), conversations (search, the
//! thread with what handled each message), human takeover with staff replies through the
//! outbox, and recent alerts. Mounted by `admin::router`, behind its bearer token; the
//! contract is `openapi/admin.json`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agenthost_core::{ConversationId, EventId};
use agenthost_pipeline::metrics::{DURATION_BUCKETS_SECS, PipelineMetrics, PluginCounts};
use agenthost_storage::{
    NewOutbound, StaffReply, StaffReplyResult, StorageError, Takeover, ThreadMessage,
};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::admin::{Actor, Admin};
use crate::error::ApiError;

/// How often the live summary samples the invocation counters.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// Samples kept: one hour.
const SAMPLES_KEPT: usize = 361;
/// The window of the rates.
const RATE_WINDOW_MS: i64 = 60_000;
/// The window of the percentiles.
const PERCENTILE_WINDOW_MS: i64 = 300_000;
/// Longest staff reply (Twilio's limit on one message body).
pub const MAX_REPLY_CHARS: usize = 1_600;

/// What the console's handlers need beside the admin state.
#[derive(Clone)]
pub struct Console {
    pub live: Arc<LiveSummary>,
    /// What counts as a reply (not agent-initiated) for a staff text: the send policy's.
    pub reply_window: Duration,
    /// This replica's id, shown with the figures it counted.
    pub replica: String,
}

/// Invocation rates and percentiles from this replica's counters: a snapshot every
/// [`SAMPLE_EVERY`] for the last hour; figures are differences between snapshots.
pub struct LiveSummary {
    metrics: Arc<PipelineMetrics>,
    samples: Mutex<VecDeque<(i64, BTreeMap<String, PluginCounts>)>>,
}

impl LiveSummary {
    pub fn new(metrics: Arc<PipelineMetrics>) -> Arc<LiveSummary> {
        Arc::new(LiveSummary {
            metrics,
            samples: Mutex::new(VecDeque::new()),
        })
    }

    /// Takes a snapshot at `now_ms`.
    pub fn sample(&self, now_ms: i64) {
        self.push(now_ms, self.metrics.snapshot());
    }

    fn push(&self, now_ms: i64, snap: BTreeMap<String, PluginCounts>) {
        let mut s = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        s.push_back((now_ms, snap));
        while s.len() > SAMPLES_KEPT {
            s.pop_front();
        }
    }

    /// Samples every [`SAMPLE_EVERY`] until `cancel`.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            self.sample(agenthost_core::now_ms());
            tokio::select! {
                _ = tokio::time::sleep(SAMPLE_EVERY) => {}
                _ = cancel.cancelled() => break,
            }
        }
    }

    /// Per plugin: rates by outcome over the last minute, p50/p99 over the last five, and
    /// one chart point per minute for the last hour (oldest first).
    pub fn figures(&self, now_ms: i64) -> BTreeMap<String, Value> {
        self.figures_at(&self.metrics.snapshot(), now_ms)
    }

    fn figures_at(
        &self,
        now_snap: &BTreeMap<String, PluginCounts>,
        now_ms: i64,
    ) -> BTreeMap<String, Value> {
        let samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let at_or_before = |t: i64| {
            samples
                .iter()
                .rev()
                .find(|(at, _)| *at <= t)
                .or_else(|| samples.front())
        };
        let mut out = BTreeMap::new();
        let rate_base = at_or_before(now_ms - RATE_WINDOW_MS);
        let pct_base = at_or_before(now_ms - PERCENTILE_WINDOW_MS);
        for (plugin, counts) in now_snap {
            let empty = PluginCounts::default();
            let mut rates = serde_json::Map::new();
            if let Some((at, base)) = rate_base {
                let secs = ((now_ms - at) as f64 / 1000.0).max(1.0);
                let before = base.get(plugin).unwrap_or(&empty);
                for (outcome, n) in &counts.outcomes {
                    let d = n.saturating_sub(*before.outcomes.get(outcome).unwrap_or(&0));
                    rates.insert((*outcome).to_owned(), json!(round2(d as f64 / secs)));
                }
            }
            let window = pct_base
                .map(|(_, base)| diff_buckets(counts, base.get(plugin).unwrap_or(&empty)))
                .unwrap_or_default();
            let chart = chart_points(&samples, plugin, counts, now_ms);
            out.insert(
                plugin.clone(),
                json!({
                    "invocations_per_sec": rates,
                    "p50_ms": quantile_ms(&window, 0.50),
                    "p99_ms": quantile_ms(&window, 0.99),
                    "chart": chart,
                }),
            );
        }
        out
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn diff_buckets(now: &PluginCounts, before: &PluginCounts) -> Vec<u64> {
    now.duration_buckets
        .iter()
        .enumerate()
        .map(|(i, n)| n.saturating_sub(*before.duration_buckets.get(i).unwrap_or(&0)))
        .collect()
}

/// The `q` quantile of a (non-cumulative) bucket histogram in ms, interpolating linearly
/// inside the bucket as Prometheus's `histogram_quantile` does; `None` when empty.
pub fn quantile_ms(buckets: &[u64], q: f64) -> Option<f64> {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut seen = 0u64;
    for (i, n) in buckets.iter().enumerate() {
        if *n > 0 && (seen + n) as f64 >= rank {
            let lower = if i == 0 {
                0.0
            } else {
                DURATION_BUCKETS_SECS[i - 1]
            };
            // Past the last bound: report the last bound (as Prometheus does).
            let Some(&upper) = DURATION_BUCKETS_SECS.get(i) else {
                return Some(round2(lower * 1000.0));
            };
            let within = (rank - seen as f64) / *n as f64;
            return Some(round2((lower + (upper - lower) * within) * 1000.0));
        }
        seen += n;
    }
    None
}

/// Invocations per minute (ok, failed) for the last hour, oldest first.
fn chart_points(
    samples: &VecDeque<(i64, BTreeMap<String, PluginCounts>)>,
    plugin: &str,
    now_counts: &PluginCounts,
    now_ms: i64,
) -> Vec<Value> {
    let totals = |c: Option<&PluginCounts>| {
        c.map_or((0u64, 0u64), |c| {
            let ok = *c.outcomes.get("ok").unwrap_or(&0);
            let all: u64 = c.outcomes.values().sum();
            (ok, all - ok)
        })
    };
    let mut points = Vec::new();
    let mut later = (now_ms, totals(Some(now_counts)));
    // Walk back one minute at a time over the samples kept.
    for minute in 1..=60 {
        let t = now_ms - minute * 60_000;
        let Some((at, snap)) = samples.iter().rev().find(|(at, _)| *at <= t) else {
            break;
        };
        let earlier = totals(snap.get(plugin));
        points.push(json!({
            "at_ms": later.0,
            "ok": later.1.0.saturating_sub(earlier.0),
            "failed": later.1.1.saturating_sub(earlier.1),
        }));
        later = (*at, earlier);
    }
    points.reverse();
    points
}

pub(crate) fn routes() -> Router<Admin> {
    Router::new()
        .route("/admin/summary", get(summary))
        .route("/admin/alerts", get(alerts))
        .route("/admin/dead-letters", get(dead_letters))
        .route("/admin/dead-letters/{id}/requeue", post(requeue_one))
        .route("/admin/dead-letters/{id}/discard", post(discard))
        .route(
            "/admin/plugins/{name}/dead-letters/requeue",
            post(requeue_plugin),
        )
        .route("/admin/conversations", get(conversations))
        .route("/admin/conversations/{id}", get(thread))
        .route("/admin/conversations/{id}/takeover", post(takeover))
        .route("/admin/conversations/{id}/reply", post(reply))
        .route("/admin/conversations/{id}/release", post(release))
}

fn unavailable(e: StorageError) -> ApiError {
    ApiError::Unavailable(format!("storage: {e}"))
}

async fn summary(State(a): State<Admin>) -> Result<Json<Value>, ApiError> {
    let now = agenthost_core::now_ms();
    let storage = a.deployer.storage();
    let deployments = storage.deploys().deployments().await.map_err(unavailable)?;
    let depths = storage.console().lane_depths().await.map_err(unavailable)?;
    let dead = storage
        .console()
        .dead_letter_counts()
        .await
        .map_err(unavailable)?;
    let pending = storage
        .outbox()
        .pending_count()
        .await
        .map_err(unavailable)?;
    let figures = a.console.live.figures(now);
    let mut names: Vec<String> = deployments.iter().map(|d| d.plugin.clone()).collect();
    names.extend(figures.keys().cloned());
    names.extend(depths.iter().map(|d| d.plugin.clone()));
    names.sort();
    names.dedup();
    let plugins: Vec<Value> = names
        .iter()
        .map(|name| {
            let d = deployments.iter().find(|d| &d.plugin == name);
            let depth = depths.iter().find(|d| &d.plugin == name);
            let f = figures.get(name);
            json!({
                "plugin": name,
                "active": d.and_then(|d| d.active_version.clone()),
                "candidate": d.and_then(|d| d.candidate_version.clone()),
                "rollout": {
                    "mode": d.map_or("none", |d| d.rollout.as_str()),
                    "percent": d.map_or(0, |d| d.canary_percent),
                },
                "invocations_per_sec": f.map_or(json!({}), |f| f["invocations_per_sec"].clone()),
                "p50_ms": f.map_or(Value::Null, |f| f["p50_ms"].clone()),
                "p99_ms": f.map_or(Value::Null, |f| f["p99_ms"].clone()),
                "queue": {
                    "depth": depth.map_or(0, |d| d.depth),
                    "oldest_age_ms": depth
                        .and_then(|d| d.oldest_received_at_ms)
                        .map(|at| (now - at).max(0)),
                },
                "dead_letters": dead.iter().find(|(p, _)| p == name).map_or(0, |(_, n)| *n),
                "chart": f.map_or(json!([]), |f| f["chart"].clone()),
            })
        })
        .collect();
    Ok(Json(json!({
        "at_ms": now,
        "replica": a.console.replica,
        "rates_from": "this replica's counters",
        "window_secs": RATE_WINDOW_MS / 1000,
        "outbox": { "pending": pending },
        "dead_letters": dead.iter().map(|(_, n)| n).sum::<i64>(),
        "plugins": plugins,
    })))
}

#[derive(Debug, Deserialize)]
struct LimitQuery {
    limit: Option<u32>,
    plugin: Option<String>,
}

async fn alerts(
    State(a): State<Admin>,
    Query(q): Query<LimitQuery>,
) -> Result<Json<Value>, ApiError> {
    let rows = a
        .deployer
        .storage()
        .alerts()
        .recent(q.limit.unwrap_or(50).clamp(1, 500))
        .await
        .map_err(unavailable)?;
    let alerts: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let fields: serde_json::Map<String, Value> = r
                .fields
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            json!({
                "id": r.id, "kind": r.kind, "severity": r.severity, "plugin": r.plugin,
                "version": r.version, "conversation_id": r.conversation_id,
                "message": r.message, "fields": fields, "created_at_ms": r.created_at_ms,
                "status": r.status.as_str(),
            })
        })
        .collect();
    Ok(Json(json!({ "alerts": alerts })))
}

async fn dead_letters(
    State(a): State<Admin>,
    Query(q): Query<LimitQuery>,
) -> Result<Json<Value>, ApiError> {
    let rows = a
        .deployer
        .storage()
        .console()
        .dead_letter_details(q.plugin.as_deref(), q.limit.unwrap_or(100).clamp(1, 1000))
        .await
        .map_err(unavailable)?;
    let letters: Vec<Value> = rows
        .into_iter()
        .map(|d| {
            let body = d.payload.as_deref().and_then(|p| {
                match serde_json::from_str::<agenthost_core::Invocation>(p).ok()? {
                    agenthost_core::Invocation::Message(m) => Some(m.body),
                    agenthost_core::Invocation::Job(j) => Some(format!("job {}", j.name)),
                }
            });
            json!({
                "event_id": d.event_id, "plugin": d.plugin, "version": d.version,
                "attempts": d.attempts, "outcome": d.outcome, "message": d.message,
                "at_ms": d.at_ms, "kind": d.kind, "conversation_id": d.conversation_id,
                "body": body,
            })
        })
        .collect();
    Ok(Json(json!({ "dead_letters": letters })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequeueBody {
    version: Option<String>,
    reason: Option<String>,
    actor: Option<String>,
}

/// The version requeued events run on: the active one unless `asked` names the rollout's
/// candidate (a prefix of 8+ hex digits is enough). Anything else is refused: a version
/// that serves nothing cannot take events (activate it, or start a canary or shadow).
async fn requeue_target(
    a: &Admin,
    plugin: &str,
    asked: Option<&str>,
) -> Result<(Option<String>, String), ApiError> {
    let d = a
        .deployer
        .storage()
        .deploys()
        .deployment(plugin)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("no plugin {plugin:?} is deployed")))?;
    let active = d.active_version.clone().ok_or_else(|| {
        ApiError::Conflict(format!("plugin {plugin:?} has no active version to run on"))
    })?;
    let Some(asked) = asked.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok((None, active));
    };
    let matches = |v: &str| asked.len() >= 8 && v.starts_with(asked);
    if matches(&active) {
        return Ok((None, active));
    }
    if let Some(c) = d.candidate_version.as_deref().filter(|c| matches(c)) {
        return Ok((Some(c.to_owned()), c.to_owned()));
    }
    Err(ApiError::Conflict(format!(
        "version {asked:?} does not serve {plugin:?}: requeue onto the active version or the rollout's candidate (activate the version, or start a canary or shadow with it, first)"
    )))
}

async fn requeue_ids(
    a: &Admin,
    who: &Actor,
    plugin: &str,
    ids: Vec<EventId>,
    body: RequeueBody,
) -> Result<Json<Value>, ApiError> {
    let (pin, version) = requeue_target(a, plugin, body.version.as_deref()).await?;
    let requeued = a
        .deployer
        .requeue_dead_letters(plugin, &ids, pin.as_deref())
        .await;
    if !requeued.is_empty() {
        a.deployer
            .storage()
            .console()
            .record_requeue(
                plugin,
                &requeued,
                Some(&version),
                &who.recorded(body.actor.as_deref()),
                body.reason.as_deref(),
                agenthost_core::now_ms(),
            )
            .await
            .map_err(unavailable)?;
    }
    Ok(Json(json!({ "requeued": requeued, "version": version })))
}

async fn requeue_one(
    State(a): State<Admin>,
    Extension(who): Extension<Actor>,
    Path(id): Path<String>,
    body: Option<Json<RequeueBody>>,
) -> Result<Json<Value>, ApiError> {
    let letter = a
        .deployer
        .storage()
        .console()
        .dead_letter_of(&id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("no dead letter {id:?}")))?;
    let body = body.map(|Json(b)| b).unwrap_or_default();
    requeue_ids(&a, &who, &letter.plugin, vec![EventId::from(id)], body).await
}

async fn requeue_plugin(
    State(a): State<Admin>,
    Extension(who): Extension<Actor>,
    Path(name): Path<String>,
    body: Option<Json<RequeueBody>>,
) -> Result<Json<Value>, ApiError> {
    let ids: Vec<EventId> = a
        .deployer
        .storage()
        .console()
        .dead_letter_details(Some(&name), 10_000)
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(|d| EventId::from(d.event_id))
        .collect();
    let body = body.map(|Json(b)| b).unwrap_or_default();
    requeue_ids(&a, &who, &name, ids, body).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscardBody {
    reason: String,
    actor: Option<String>,
}

async fn discard(
    State(a): State<Admin>,
    Extension(who): Extension<Actor>,
    Path(id): Path<String>,
    Json(body): Json<DiscardBody>,
) -> Result<Json<Value>, ApiError> {
    let reason = body.reason.trim();
    if reason.is_empty() {
        return Err(ApiError::BadRequest(
            "reason: say why this dead letter is discarded (it is kept in the history)".into(),
        ));
    }
    let reason: String = reason.chars().take(500).collect();
    a.deployer
        .storage()
        .console()
        .discard_dead_letter(
            &id,
            &who.recorded(body.actor.as_deref()),
            &reason,
            agenthost_core::now_ms(),
        )
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("no dead letter {id:?}")))?;
    Ok(Json(json!({ "discarded": id })))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    q: Option<String>,
    agent: Option<String>,
    limit: Option<u32>,
}

async fn conversations(
    State(a): State<Admin>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let number = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(n) = number
        && !n.chars().all(|c| c.is_ascii_digit() || c == '+')
    {
        return Err(ApiError::BadRequest(format!(
            "q: search by phone number (digits, optionally with +), got {n:?}"
        )));
    }
    let rows = a
        .deployer
        .storage()
        .console()
        .search_conversations(
            number,
            q.agent.as_deref(),
            q.limit.unwrap_or(50).clamp(1, 500),
            agenthost_core::now_ms(),
        )
        .await
        .map_err(unavailable)?;
    Ok(Json(json!({ "conversations": rows })))
}

fn message_json(m: &ThreadMessage) -> Value {
    let inbound = m.direction == agenthost_storage::Direction::Inbound;
    let staff = m.author.as_deref().and_then(|a| a.strip_prefix("staff:"));
    let author = if inbound {
        "lead"
    } else if staff.is_some() {
        "staff"
    } else {
        "agent"
    };
    // A held text: waiting for a person (or the pause's end), or handled by staff once a
    // person released the conversation.
    let outcome = match (inbound, m.held_for_staff, m.event_status.as_deref()) {
        (false, _, _) => None,
        (true, true, Some("done")) => Some("handled_by_staff"),
        (true, true, _) => Some("held_for_staff"),
        (true, false, status) => status,
    };
    let delivery = if inbound {
        None
    } else {
        m.delivery_status
            .clone()
            .or_else(|| match m.outbox_status.as_deref() {
                Some("pending") if m.held_reason.is_some() => Some("held".to_owned()),
                other => other.map(str::to_owned),
            })
    };
    json!({
        "id": m.id, "direction": m.direction.as_str(), "author": author, "staff": staff,
        "body": m.body, "at_ms": m.at_ms, "event_id": m.event_id, "version": m.version,
        "outcome": outcome, "error": m.error, "effects": m.effects,
        "delivery_status": delivery, "held_reason": m.held_reason,
    })
}

async fn thread(State(a): State<Admin>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let storage = a.deployer.storage();
    let now = agenthost_core::now_ms();
    let c = storage
        .console()
        .conversation_summary(&id, now)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("no conversation {id:?}")))?;
    let opted_out = storage
        .routes()
        .is_opted_out(&c.lead_number)
        .await
        .map_err(unavailable)?;
    let messages: Vec<Value> = storage
        .console()
        .thread(&id, 200)
        .await
        .map_err(unavailable)?
        .iter()
        .map(message_json)
        .collect();
    let mut conversation = serde_json::to_value(&c).unwrap_or(Value::Null);
    conversation["opted_out"] = json!(opted_out);
    Ok(Json(
        json!({ "conversation": conversation, "messages": messages }),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TakeoverBody {
    reason: Option<String>,
    actor: Option<String>,
}

async fn takeover(
    State(a): State<Admin>,
    Extension(who): Extension<Actor>,
    Path(id): Path<String>,
    body: Option<Json<TakeoverBody>>,
) -> Result<Json<Value>, ApiError> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let now = agenthost_core::now_ms();
    let t = Takeover {
        by: who.recorded(body.actor.as_deref()),
        reason: body.reason.map(|r| r.chars().take(500).collect()),
        since_ms: now,
        until_ms: None,
        requested_by_plugin: false,
    };
    let t = a
        .deployer
        .storage()
        .console()
        .take_over(&id, &t, now)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("no conversation {id:?}")))?;
    tracing::info!(conversation = %id, by = %t.by, "conversation taken over; the agent is paused for it");
    Ok(Json(json!({ "takeover": t })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseBody {
    after_ms: Option<u64>,
}

async fn release(
    State(a): State<Admin>,
    Path(id): Path<String>,
    body: Option<Json<ReleaseBody>>,
) -> Result<Json<Value>, ApiError> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let now = agenthost_core::now_ms();
    let after = i64::try_from(body.after_ms.unwrap_or(0)).unwrap_or(i64::MAX);
    let left = a
        .deployer
        .storage()
        .console()
        .release(&id, now.saturating_add(after), now)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("no conversation {id:?}")))?;
    tracing::info!(conversation = %id, after_ms = after, "conversation released to the agent");
    Ok(Json(json!({ "takeover": left })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyBody {
    body: String,
    idempotency_key: String,
    actor: Option<String>,
}

async fn reply(
    State(a): State<Admin>,
    Extension(who): Extension<Actor>,
    Path(id): Path<String>,
    Json(req): Json<ReplyBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let text = req.body.trim();
    if text.is_empty() {
        return Err(ApiError::BadRequest("body: the reply is empty".into()));
    }
    if text.chars().count() > MAX_REPLY_CHARS {
        return Err(ApiError::BadRequest(format!(
            "body: a reply is at most {MAX_REPLY_CHARS} characters"
        )));
    }
    let key = req.idempotency_key.trim();
    if key.is_empty()
        || key.len() > 64
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    {
        return Err(ApiError::BadRequest(
            "idempotency_key: 1-64 letters, digits, '-' or '_', one per composed reply (a retry sends the same key)".into(),
        ));
    }
    let storage = a.deployer.storage();
    let now = agenthost_core::now_ms();
    let c = storage
        .console()
        .conversation_summary(&id, now)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("no conversation {id:?}")))?;
    let actor = who.recorded(req.actor.as_deref());
    // A person replying has the conversation: the agent pauses for it.
    if c.takeover.is_none() {
        let t = Takeover {
            by: actor.clone(),
            reason: Some("staff replied".into()),
            since_ms: now,
            until_ms: None,
            requested_by_plugin: false,
        };
        storage
            .console()
            .take_over(&id, &t, now)
            .await
            .map_err(unavailable)?;
    }
    let history = storage
        .conversations()
        .history(&id, 50, None)
        .await
        .map_err(unavailable)?;
    let window = i64::try_from(a.console.reply_window.as_millis()).unwrap_or(i64::MAX);
    let last_inbound = history
        .iter()
        .rev()
        .find(|h| h.direction == agenthost_storage::Direction::Inbound)
        .map(|h| h.at_ms);
    let is_reply = last_inbound.is_some_and(|at| now.saturating_sub(at) <= window);
    let body = agenthost_compliance::lint::normalize(text);
    let segments = agenthost_runtime::sms::segments(&body);
    let outbox_id = format!("staff:{id}:{key}");
    let result = storage
        .console()
        .staff_reply(
            &StaffReply {
                outbound: NewOutbound {
                    id: outbox_id.clone(),
                    conversation_id: Some(ConversationId::from(id.as_str())),
                    to: c.lead_number.clone(),
                    from: c.agent_number.clone(),
                    body,
                    suppressed: false,
                    initiated: !is_reply,
                    segments,
                },
                plugin: c.plugin.clone().unwrap_or_default(),
                author: format!("staff:{actor}"),
            },
            now,
        )
        .await
        .map_err(unavailable)?;
    match result {
        StaffReplyResult::OptedOut => Err(ApiError::Conflict(format!(
            "{} opted out (STOP): no text can be sent to them until they text START",
            c.lead_number
        ))),
        StaffReplyResult::Queued { created } => {
            tracing::info!(conversation = %id, by = %actor, outbox = %outbox_id, created, "staff reply queued");
            Ok((
                StatusCode::ACCEPTED,
                Json(json!({ "outbox_id": outbox_id, "status": "pending", "created": created })),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_inside_the_bucket() {
        // 10 invocations: 5 in (1 ms, 2.5 ms], 5 in (2.5 ms, 5 ms].
        let mut b = vec![0u64; DURATION_BUCKETS_SECS.len() + 1];
        b[1] = 5;
        b[2] = 5;
        assert_eq!(quantile_ms(&b, 0.5), Some(2.5));
        assert_eq!(quantile_ms(&b, 0.99), Some(4.95));
        assert_eq!(quantile_ms(&[0; 3], 0.5), None);
        // Past the last bound reports the last bound.
        let mut slow = vec![0u64; DURATION_BUCKETS_SECS.len() + 1];
        *slow.last_mut().unwrap() = 1;
        assert_eq!(quantile_ms(&slow, 0.5), Some(30_000.0));
    }

    fn counts(ok: u64, trap: u64, fast: u64) -> BTreeMap<String, PluginCounts> {
        let mut buckets = vec![0u64; DURATION_BUCKETS_SECS.len() + 1];
        buckets[0] = fast;
        let mut c = PluginCounts {
            outcomes: BTreeMap::new(),
            duration_buckets: buckets,
        };
        c.outcomes.insert("ok", ok);
        c.outcomes.insert("trap", trap);
        BTreeMap::from([("echo".to_owned(), c)])
    }

    #[test]
    fn rates_and_chart_come_from_differences_between_snapshots() {
        let live = LiveSummary::new(Arc::new(PipelineMetrics::default()));
        // One snapshot every 10 s for 3 minutes: 6 ok and 1 trap per 10 s.
        for i in 0..=18 {
            live.push(i * 10_000, counts(6 * i as u64, i as u64, 7 * i as u64));
        }
        let now = 180_000;
        let f = live.figures_at(&counts(108, 18, 126), now);
        let echo = &f["echo"];
        assert_eq!(echo["invocations_per_sec"]["ok"], json!(0.6));
        assert_eq!(echo["invocations_per_sec"]["trap"], json!(0.1));
        // Every invocation in the first bucket (<= 1 ms): the median is inside it.
        assert_eq!(echo["p50_ms"], json!(0.5));
        let chart = echo["chart"].as_array().unwrap();
        assert_eq!(chart.len(), 3, "{chart:?}");
        for point in chart {
            assert_eq!(point["ok"], json!(36));
            assert_eq!(point["failed"], json!(6));
        }
        // Oldest first.
        assert!(chart[0]["at_ms"].as_i64() < chart[2]["at_ms"].as_i64());
    }
}
