//! `GET /metrics`: the Prometheus text exposition of the whole host. HTTP requests by route
//! and status are counted here (a middleware over every route); queue depth per lane and
//! the outbox backlog are read at scrape time; every other capability (pipeline, LLM
//! gateway, scheduler, alert delivery) renders its own section, handed in as `sources`.

use std::collections::BTreeMap;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agenthost_core::prom;
use agenthost_queue::Queue;
use agenthost_storage::Storage;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// A gauge read slower than this is left out of the scrape (and says so).
const GAUGE_TIMEOUT: Duration = Duration::from_secs(2);

/// Renders one capability's section of the exposition.
pub type Source = Arc<dyn Fn() -> String + Send + Sync>;

/// Requests per (route, method, status): unmatched paths count under `route="unmatched"`
/// so scanners cannot blow up the label set.
#[derive(Debug, Default)]
pub struct HttpCounters {
    counts: Mutex<BTreeMap<(String, String, u16), u64>>,
}

impl HttpCounters {
    fn record(&self, route: &str, method: &str, status: u16) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default() += 1;
    }

    fn render(&self, out: &mut String) {
        let name = "agenthost_http_requests_total";
        prom::header(
            out,
            name,
            "HTTP requests by route, method and status.",
            "counter",
        );
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        for ((route, method, status), n) in counts.iter() {
            let status = status.to_string();
            let labels = [
                ("route", route.as_str()),
                ("method", method),
                ("status", &status),
            ];
            prom::sample(out, name, &labels, n);
        }
    }
}

/// Counts every request; install with `Router::layer(middleware::from_fn_with_state(..))`.
pub async fn count_requests(
    State(counters): State<Arc<HttpCounters>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let response = next.run(req).await;
    counters.record(&route, &method, response.status().as_u16());
    response
}

#[derive(Clone)]
pub struct Metrics {
    pub http: Arc<HttpCounters>,
    pub storage: Storage,
    pub queue: Arc<dyn Queue>,
    /// The lanes (plugins) whose depth to report.
    pub lanes: Arc<dyn Fn() -> Vec<String> + Send + Sync>,
    pub sources: Vec<Source>,
    pub version: &'static str,
}

pub fn router(state: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn metrics(State(m): State<Metrics>) -> impl IntoResponse {
    let mut out = String::new();
    prom::header(
        &mut out,
        "agenthost_build_info",
        "The running build.",
        "gauge",
    );
    let sha = option_env!("AGENTHOST_GIT_SHA").unwrap_or("unknown");
    let build = [("version", m.version), ("git_sha", sha)];
    prom::sample(&mut out, "agenthost_build_info", &build, 1);
    out.push_str("# HELP agenthost_queue_depth Messages ready for delivery per lane.\n# TYPE agenthost_queue_depth gauge\n");
    let mut dead = String::from(
        "# HELP agenthost_queue_dead_depth Dead-lettered messages kept per lane.\n# TYPE agenthost_queue_dead_depth gauge\n",
    );
    for lane in (m.lanes)() {
        match tokio::time::timeout(GAUGE_TIMEOUT, m.queue.depth(&lane)).await {
            Ok(Ok(n)) => {
                prom::sample(&mut out, "agenthost_queue_depth", &[("lane", &lane)], n);
            }
            _ => {
                out.push_str("# ");
                prom::sample(
                    &mut out,
                    "agenthost_queue_depth",
                    &[("lane", &lane)],
                    "unavailable",
                );
            }
        }
        if let Ok(Ok(n)) = tokio::time::timeout(GAUGE_TIMEOUT, m.queue.dead_depth(&lane)).await {
            prom::sample(
                &mut dead,
                "agenthost_queue_dead_depth",
                &[("lane", &lane)],
                n,
            );
        }
    }
    out.push_str(&dead);
    out.push_str("# HELP agenthost_outbox_pending Outbound SMS committed and not yet sent.\n# TYPE agenthost_outbox_pending gauge\n");
    match tokio::time::timeout(GAUGE_TIMEOUT, m.storage.outbox().pending_count()).await {
        Ok(Ok(n)) => {
            prom::sample(&mut out, "agenthost_outbox_pending", &[], n);
        }
        _ => out.push_str("# agenthost_outbox_pending unavailable\n"),
    }
    if let Some(group) = m.storage.group_commit() {
        prom::header(
            &mut out,
            "agenthost_storage_group_commits_total",
            "Transactions of SQLite's group commit of relaxed writes (claims, commits, queue settlements, outbox marks).",
            "counter",
        );
        prom::sample(
            &mut out,
            "agenthost_storage_group_commits_total",
            &[],
            group.batches,
        );
        prom::header(
            &mut out,
            "agenthost_storage_group_commit_writes_total",
            "Relaxed writes those transactions carried (divided by the transactions: the mean batch).",
            "counter",
        );
        prom::sample(
            &mut out,
            "agenthost_storage_group_commit_writes_total",
            &[],
            group.writes,
        );
    }
    m.http.render(&mut out);
    for source in &m.sources {
        let section = source();
        out.push_str(&section);
        if !section.ends_with('\n') && !section.is_empty() {
            out.push('\n');
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_counts_render_by_route_method_and_status() {
        let c = HttpCounters::default();
        c.record("/twilio/sms", "POST", 200);
        c.record("/twilio/sms", "POST", 200);
        c.record("/twilio/sms", "POST", 403);
        c.record("unmatched", "GET", 404);
        let mut out = String::new();
        c.render(&mut out);
        assert!(out.contains("agenthost_http_requests_total{route=\"/twilio/sms\",method=\"POST\",status=\"200\"} 2"), "{out}");
        assert!(
            out.contains("{route=\"/twilio/sms\",method=\"POST\",status=\"403\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("{route=\"unmatched\",method=\"GET\",status=\"404\"} 1"),
            "{out}"
        );
    }
}
