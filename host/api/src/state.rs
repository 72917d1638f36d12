//! The deployment record (`DEPLOYMENT_STATE.md`), rendered from the database: host build,
//! each plugin's active version and rollout, recent uploads/activations/rollbacks with
//! reasons, failing checks, lanes and their consumers, upcoming scheduled work, recent
//! alerts and dead letters. Served at `GET /admin/state` (Markdown, or JSON with
//! `Accept: application/json`) and printed by `agenthost state`, which can also read the
//! database directly when no host is up: the record survives a broken deploy.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use agenthost_queue::Queue;
use agenthost_runtime::CronJob;
use agenthost_runtime::Registry;
use agenthost_storage::Storage;
use serde_json::{Value, json};

/// A lane counts as consumed when a worker replica's heartbeat is this recent.
pub const CONSUMER_FRESH_MS: i64 = 30_000;
/// An alert still pending after this long means delivery is failing.
const ALERT_STUCK_MS: i64 = 5 * 60_000;
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What the record says about the build that renders it.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    pub version: &'static str,
    pub git_sha: &'static str,
    pub roles: String,
    pub database: &'static str,
    pub queue: &'static str,
    pub started_at_ms: i64,
}

/// Everything the record is gathered from. `registry` is `None` when rendered from the
/// database alone (no plugins loaded, so no cron schedule or `serving_here`).
#[derive(Clone)]
pub struct StateSource {
    pub storage: Storage,
    pub queue: Arc<dyn Queue>,
    pub registry: Option<Registry>,
    pub build: BuildInfo,
}

impl StateSource {
    /// The record as data (what `Accept: application/json` returns).
    pub async fn gather(&self, now_ms: i64) -> Value {
        let s = &self.storage;
        let mut checks = Vec::new();
        let mut check = |name: &str, ok: bool, detail: String| {
            checks.push(json!({ "name": name, "ok": ok, "detail": detail }));
        };
        match tokio::time::timeout(CHECK_TIMEOUT, s.ping()).await {
            Ok(Ok(())) => check("storage reachable", true, s.backend().as_str().into()),
            Ok(Err(e)) => check("storage reachable", false, e.to_string()),
            Err(_) => check("storage reachable", false, "no answer within 2 s".into()),
        }
        match tokio::time::timeout(CHECK_TIMEOUT, self.queue.ping()).await {
            Ok(Ok(())) => check("queue reachable", true, self.build.queue.into()),
            Ok(Err(e)) => check("queue reachable", false, e.to_string()),
            Err(_) => check("queue reachable", false, "no answer within 2 s".into()),
        }

        let mut unread = Unread::default();
        let deployments = unread.take("deployments", s.deploys().deployments().await);
        let history = unread.take("deploy history", s.deploys().plugin_history(None, 30).await);
        let plugins: Vec<Value> = deployments
            .iter()
            .map(|d| {
                let serving = self
                    .registry
                    .as_ref()
                    .and_then(|r| r.get(&d.plugin))
                    .map(|p| p.version().as_str().to_owned());
                json!({
                    "plugin": d.plugin,
                    "active_version": d.active_version,
                    "previous_version": d.previous_version,
                    "activated_at_ms": d.activated_at,
                    "rollout": d.rollout.as_str(),
                    "candidate": d.candidate_version,
                    "canary_percent": d.canary_percent,
                    "serving_here": serving,
                })
            })
            .collect();

        // Routes whose plugin has no active version answer nobody.
        let routes = unread.take("routes", s.routes().list().await);
        let unserved: Vec<String> = routes
            .iter()
            .filter(|(_, p)| {
                !deployments
                    .iter()
                    .any(|d| &d.plugin == p && d.active_version.is_some())
            })
            .map(|(n, p)| format!("{n} → {p}"))
            .collect();
        check(
            "every routed number has an active plugin",
            unserved.is_empty(),
            if unserved.is_empty() {
                format!("{} route(s)", routes.len())
            } else {
                format!("no active version for {}", unserved.join(", "))
            },
        );

        let consumers = unread.take(
            "worker heartbeats",
            s.workers().lane_consumers(now_ms - CONSUMER_FRESH_MS).await,
        );
        let mut lanes = Vec::new();
        let mut unconsumed = Vec::new();
        for d in deployments.iter().filter(|d| d.active_version.is_some()) {
            let depth = tokio::time::timeout(CHECK_TIMEOUT, self.queue.depth(&d.plugin))
                .await
                .ok()
                .and_then(Result::ok);
            let n = consumers.get(&d.plugin).copied().unwrap_or(0);
            if n == 0 {
                unconsumed.push(d.plugin.clone());
            }
            lanes.push(json!({ "lane": d.plugin, "depth": depth, "consumers": n }));
        }
        check(
            "every lane has consumers",
            unconsumed.is_empty(),
            if unconsumed.is_empty() {
                format!("{} lane(s)", lanes.len())
            } else {
                format!("no live worker for {}", unconsumed.join(", "))
            },
        );

        let pending = unread.take("pending alerts", s.alerts().pending(1).await);
        let stuck = pending
            .first()
            .filter(|a| now_ms - a.created_at_ms > ALERT_STUCK_MS);
        check(
            "alerts are being delivered",
            stuck.is_none(),
            match stuck {
                Some(a) => format!(
                    "oldest pending alert #{} waits since {} min",
                    a.id,
                    (now_ms - a.created_at_ms) / 60_000
                ),
                None => format!(
                    "{} pending",
                    s.alerts().count_pending().await.unwrap_or_default()
                ),
            },
        );
        let dead_letters = unread.take("dead letters", s.events().dead_letters(20).await);
        check(
            "no dead letters",
            dead_letters.is_empty(),
            format!("{} recent", dead_letters.len()),
        );

        let mut upcoming: Vec<Value> = Vec::new();
        if let Some(registry) = &self.registry {
            for p in registry.all() {
                for job in &p.description().cron_jobs {
                    if let Some(next) = next_slot(job, now_ms) {
                        upcoming.push(json!({
                            "plugin": p.name().as_str(),
                            "job": job.name,
                            "kind": "cron",
                            "schedule": job.schedule,
                            "next_ms": next,
                        }));
                    }
                }
            }
        }
        for j in unread.take("scheduled jobs", s.schedule().upcoming_jobs(20).await) {
            upcoming.push(json!({
                "plugin": j.plugin,
                "job": j.name,
                "kind": "one-off",
                "key": j.key,
                "next_ms": j.due_at_ms,
            }));
        }
        upcoming.sort_by_key(|u| u["next_ms"].as_i64().unwrap_or(i64::MAX));

        let alerts: Vec<Value> = unread
            .take("alerts", s.alerts().recent(20).await)
            .into_iter()
            .map(|a| {
                json!({
                    "id": a.id,
                    "kind": a.kind,
                    "severity": a.severity,
                    "plugin": a.plugin,
                    "status": a.status.as_str(),
                    "message": a.message,
                    "at_ms": a.created_at_ms,
                })
            })
            .collect();
        // A part that could not be read shows up as a failing check, not as "nothing".
        checks.push(json!({
            "name": "every record readable",
            "ok": unread.0.is_empty(),
            "detail": if unread.0.is_empty() { "yes".to_owned() } else { unread.0.join("; ") },
        }));
        let history: Vec<Value> = history
            .iter()
            .map(|h| {
                json!({
                    "plugin": h.plugin,
                    "action": h.action.as_str(),
                    "from_version": h.from_version,
                    "to_version": h.to_version,
                    "actor": h.actor,
                    "reason": h.reason,
                    "at_ms": h.at_ms,
                })
            })
            .collect();
        let b = &self.build;
        json!({
            "generated_at_ms": now_ms,
            "build": {
                "version": b.version,
                "git_sha": b.git_sha,
                "roles": b.roles,
                "database": b.database,
                "queue": b.queue,
                "started_at_ms": b.started_at_ms,
            },
            "checks": checks,
            "plugins": plugins,
            "lanes": lanes,
            "scheduler": { "upcoming": upcoming },
            "history": history,
            "alerts": alerts,
            "dead_letters": dead_letters,
        })
    }
}

/// Reads that failed while gathering, as `what: error`.
#[derive(Default)]
struct Unread(Vec<String>);

impl Unread {
    /// The value, or its default with the failure recorded.
    fn take<T: Default>(
        &mut self,
        what: &str,
        read: Result<T, agenthost_storage::StorageError>,
    ) -> T {
        read.unwrap_or_else(|e| {
            self.0.push(format!("{what}: {e}"));
            T::default()
        })
    }
}

fn next_slot(job: &CronJob, now_ms: i64) -> Option<i64> {
    agenthost_scheduler::CronSpec::parse(&job.schedule, job.timezone.as_deref())
        .ok()?
        .next_slot_after(now_ms)
}

/// `2026-11-22 15:04:05Z` from epoch ms.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    )
}

fn short(v: &Value) -> String {
    v.as_str()
        .map(|s| s.get(..12).unwrap_or(s).to_owned())
        .unwrap_or_else(|| "—".into())
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.replace('|', "\\|").replace('\n', " "),
        other => other.to_string(),
    }
}

fn when(v: &Value) -> String {
    v.as_i64().map_or_else(|| "—".into(), utc)
}

/// The record as the Markdown of `DEPLOYMENT_STATE.md`.
pub fn render_markdown(state: &Value) -> String {
    let mut out = String::new();
    let b = &state["build"];
    let _ = writeln!(out, "# Deployment state\n");
    let _ = writeln!(
        out,
        "Rendered by `agenthost state` at {} from the host's database; regenerate it rather than edit it.\n",
        when(&state["generated_at_ms"])
    );
    let _ = writeln!(
        out,
        "**Host:** agenthost {} (git {}), roles {}, storage {}, queue {}, up since {}.\n",
        text(&b["version"]),
        text(&b["git_sha"]),
        text(&b["roles"]),
        text(&b["database"]),
        text(&b["queue"]),
        when(&b["started_at_ms"])
    );

    let checks = state["checks"].as_array().cloned().unwrap_or_default();
    let failing: Vec<&Value> = checks.iter().filter(|c| c["ok"] == false).collect();
    let _ = writeln!(out, "## Checks\n");
    if failing.is_empty() {
        let _ = writeln!(out, "All {} checks pass.\n", checks.len());
    } else {
        let _ = writeln!(out, "**{} failing:**\n", failing.len());
    }
    for c in &checks {
        let mark = if c["ok"] == true { "ok  " } else { "FAIL" };
        let _ = writeln!(
            out,
            "- `{mark}` {} — {}",
            text(&c["name"]),
            text(&c["detail"])
        );
    }

    let _ = writeln!(out, "\n## Plugins\n");
    let _ = writeln!(
        out,
        "| Plugin | Active | Previous | Rollout | Activated | Serving here |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for p in state["plugins"].as_array().into_iter().flatten() {
        let rollout = match p["rollout"].as_str() {
            Some("canary") => format!(
                "canary {}% → {}",
                p["canary_percent"],
                short(&p["candidate"])
            ),
            Some("shadow") => format!("shadow {}", short(&p["candidate"])),
            _ => "none".into(),
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | `{}` | {} | {} | `{}` |",
            text(&p["plugin"]),
            short(&p["active_version"]),
            short(&p["previous_version"]),
            rollout,
            when(&p["activated_at_ms"]),
            short(&p["serving_here"])
        );
    }

    let _ = writeln!(out, "\n## Lanes\n");
    let _ = writeln!(out, "| Lane | Depth | Consumer slots |");
    let _ = writeln!(out, "|---|---|---|");
    for l in state["lanes"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            text(&l["lane"]),
            text(&l["depth"]),
            text(&l["consumers"])
        );
    }

    let _ = writeln!(out, "\n## Recent deploys\n");
    let _ = writeln!(out, "| When | Plugin | Action | From | To | Who | Why |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for h in state["history"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | `{}` | `{}` | {} | {} |",
            when(&h["at_ms"]),
            text(&h["plugin"]),
            text(&h["action"]),
            short(&h["from_version"]),
            short(&h["to_version"]),
            text(&h["actor"]),
            text(&h["reason"])
        );
    }

    let _ = writeln!(out, "\n## Upcoming scheduled work\n");
    let upcoming = state["scheduler"]["upcoming"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if upcoming.is_empty() {
        let _ = writeln!(out, "Nothing scheduled.");
    }
    for u in upcoming.iter().take(20) {
        let _ = writeln!(
            out,
            "- {} — {} `{}` ({})",
            when(&u["next_ms"]),
            text(&u["plugin"]),
            text(&u["job"]),
            text(&u["kind"])
        );
    }

    let _ = writeln!(out, "\n## Recent alerts\n");
    let alerts = state["alerts"].as_array().cloned().unwrap_or_default();
    if alerts.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for a in &alerts {
        let _ = writeln!(
            out,
            "- {} **{}** `{}` ({}, {}): {}",
            when(&a["at_ms"]),
            text(&a["severity"]),
            text(&a["kind"]),
            text(&a["plugin"]),
            text(&a["status"]),
            text(&a["message"])
        );
    }

    let _ = writeln!(out, "\n## Dead letters\n");
    let letters = state["dead_letters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if letters.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for d in &letters {
        let _ = writeln!(
            out,
            "- {} `{}` of {} (version `{}`) after {} attempt(s), {}: {}",
            when(&d["at_ms"]),
            text(&d["event_id"]),
            text(&d["plugin"]),
            short(&d["version"]),
            text(&d["attempts"]),
            text(&d["outcome"]),
            text(&d["message"])
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_epoch_milliseconds() {
        assert_eq!(utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(utc(1_795_360_000_000), "2026-11-22 15:06:40Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00Z");
    }

    #[test]
    fn markdown_shows_failing_checks_deploys_alerts_and_dead_letters() {
        let state = json!({
            "generated_at_ms": 0,
            "build": {"version": "0.1.0", "git_sha": "abc", "roles": "web,worker", "database": "sqlite", "queue": "embedded", "started_at_ms": 0},
            "checks": [{"name": "storage reachable", "ok": true, "detail": "sqlite"},
                       {"name": "no dead letters", "ok": false, "detail": "1 recent"}],
            "plugins": [{"plugin": "echo", "active_version": "1111111111111111", "previous_version": "2222222222222222",
                         "rollout": "canary", "candidate": "3333333333333333", "canary_percent": 10, "activated_at_ms": 0, "serving_here": null}],
            "lanes": [{"lane": "echo", "depth": 0, "consumers": 4}],
            "scheduler": {"upcoming": []},
            "history": [{"plugin": "echo", "action": "auto_rollback", "from_version": "2222222222222222", "to_version": "1111111111111111",
                         "actor": "agenthost (automatic rollback)", "reason": "4 of 4 failed | trap", "at_ms": 0}],
            "alerts": [{"id": 1, "kind": "auto_rollback", "severity": "critical", "plugin": "echo", "status": "sent", "message": "rolled back", "at_ms": 0}],
            "dead_letters": [{"event_id": "sms:SM1", "plugin": "echo", "version": "2222222222222222", "attempts": 5, "outcome": "trap", "message": "unreachable", "at_ms": 0}],
        });
        let md = render_markdown(&state);
        for needle in [
            "**1 failing:**",
            "`FAIL` no dead letters — 1 recent",
            "| echo | `111111111111` | `222222222222` | canary 10% → 333333333333 |",
            "| auto_rollback | `222222222222` | `111111111111` | agenthost (automatic rollback) | 4 of 4 failed \\| trap |",
            "**critical** `auto_rollback`",
            "`sms:SM1` of echo (version `222222222222`) after 5 attempt(s), trap: unreachable",
            "| echo | 0 | 4 |",
        ] {
            assert!(md.contains(needle), "missing {needle:?} in\n{md}");
        }
    }
}
