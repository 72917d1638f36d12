//! The burst drain alone, for finding where its time goes: one release host (all roles,
//! embedded default unless BENCH_DATABASE_URL / BENCH_QUEUE_URL say otherwise), a fake
//! Twilio, and BENCH_ROUNDS (default 3) bursts of BENCH_BURST (default 2000) leads texting
//! at once, each drained to exactly one reply. Per round it prints replies/s, the
//! per-message latency, the host's CPU per message and which of its threads spent it
//! (`/proc/<pid>/task`). BENCH_PLUGIN=landlord-rep drains Landlord Rep instead of echo.
//! BENCH_PERF=<file> records the last round with `perf record -g` into <file>.
//!
//! `cargo bench --workspace --bench burst`. The full table, with its baselines, is the
//! `pipeline` bench's; this one is for iterating on the drain.

use std::collections::BTreeMap;
use std::time::Duration;

mod common;
use common::drain::{BurstHost, Target, burst, landlord_question};
use common::*;

/// Clock ticks per second of `/proc/<pid>/task/*/stat` (USER_HZ; 100 on Linux).
const TICKS: f64 = 100.0;

/// CPU seconds per thread name of process `pid` (threads of one name summed).
fn cpu_by_thread(pid: u32) -> BTreeMap<String, f64> {
    let mut by = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return by;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ...`: the name may hold spaces, so split at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after `) `.
        let ticks: f64 = fields
            .get(11)
            .and_then(|u| u.parse::<f64>().ok())
            .unwrap_or(0.0)
            + fields
                .get(12)
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(0.0);
        *by.entry(name).or_insert(0.0) += ticks / TICKS;
    }
    by
}

/// The group commit's counters from the host's `/metrics` (transactions, writes), if it
/// reports them (SQLite only).
async fn group_commit(port: u16) -> Option<(f64, f64)> {
    let body = reqwest::get(format!("http://127.0.0.1:{}/metrics", admin_port(port)))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let value = |name: &str| {
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
    };
    Some((
        value("agenthost_storage_group_commits_total ")?,
        value("agenthost_storage_group_commit_writes_total ")?,
    ))
}

/// Bytes process `pid` has written (`wchar` of `/proc/<pid>/io`: every write(2), the WAL's
/// included, whether or not it has reached the disk yet).
fn bytes_written(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("wchar:")?.trim().parse::<f64>().ok())
        })
        .unwrap_or(0.0)
}

fn question(_: usize) -> &'static str {
    "hello"
}

#[tokio::main]
async fn main() {
    let n = env_num("BENCH_BURST", 2000) as usize;
    let rounds = env_num("BENCH_ROUNDS", 3) as u32;
    let connections = env_num("BENCH_BURST_CONNECTIONS", 32) as usize;
    let plugin = std::env::var("BENCH_PLUGIN").unwrap_or_else(|_| "echo".to_owned());
    let built = agenthost_testkit::built_plugin(&plugin);
    assert!(
        built.exists(),
        "{} missing: run scripts/build-plugins.sh",
        built.display()
    );
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(&built, plugins.path().join(format!("{plugin}.wasm"))).unwrap();
    let host = BurstHost::start(plugins.path(), &format!("{AGENT}={plugin}")).await;
    let (child, port) = (&host.child, host.port);
    let target = Target {
        url: &host.url,
        public_url: PUBLIC_URL,
        to: AGENT,
        twilio: &host.sink,
    };
    let body = if plugin == "landlord-rep" {
        landlord_question
    } else {
        question
    };
    println!("burst of {n} leads to {plugin}, {connections} connections, {rounds} rounds");
    println!(
        "| round | replies/s | accepted in | p50 ms | p99 ms | exact | host CPU ms/msg | by thread (ms/msg) | relaxed writes/msg, per transaction | KiB written/msg |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for round in 0..rounds {
        let perf = match std::env::var("BENCH_PERF") {
            Ok(out) if round + 1 == rounds => Some(
                std::process::Command::new("perf")
                    .args(["record", "-g", "-q", "-o", &out, "-p"])
                    .arg(child.id().to_string())
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .expect("perf"),
            ),
            _ => None,
        };
        let before = cpu_by_thread(child.id());
        let grouped_before = group_commit(port).await;
        let written_before = bytes_written(child.id());
        let drained = burst(
            &target,
            30 + round,
            n,
            connections,
            body,
            Duration::from_secs(600),
        )
        .await;
        let after = cpu_by_thread(child.id());
        let written = (bytes_written(child.id()) - written_before) / 1024.0 / n as f64;
        let grouped = match (grouped_before, group_commit(port).await) {
            (Some((b0, w0)), Some((b1, w1))) if b1 > b0 => {
                format!("{:.1}, {:.2}", (w1 - w0) / n as f64, (w1 - w0) / (b1 - b0))
            }
            _ => "-".to_owned(),
        };
        if let Some(mut perf) = perf {
            // SIGINT makes perf write its file and exit.
            let _ = std::process::Command::new("kill")
                .args(["-INT", &perf.id().to_string()])
                .status();
            let _ = perf.wait();
        }
        let mut spent: Vec<(String, f64)> = after
            .iter()
            .map(|(name, t)| (name.clone(), t - before.get(name).copied().unwrap_or(0.0)))
            .filter(|(_, t)| *t > 0.0)
            .collect();
        spent.sort_by(|a, b| b.1.total_cmp(&a.1));
        let total: f64 = spent.iter().map(|(_, t)| t).sum();
        let per_msg = |t: f64| t * 1000.0 / n as f64;
        let threads: Vec<String> = spent
            .iter()
            .take(4)
            .map(|(name, t)| format!("{name} {:.2}", per_msg(*t)))
            .collect();
        println!(
            "| {} | {:.0} | {:.2} s | {:.0} | {:.0} | {} | {:.2} | {} | {} | {:.1} |",
            round + 1,
            drained.rate(),
            drained.posted.as_secs_f64(),
            drained.pct_ms(0.5),
            drained.pct_ms(0.99),
            if drained.exact() { "yes" } else { "NO" },
            per_msg(total),
            threads.join(", "),
            grouped,
            written,
        );
    }
    drop(host);
}
