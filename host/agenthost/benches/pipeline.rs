//! Load bench for the message path, against the real release binary on loopback:
//!
//! 1. ingress: signed webhooks durably accepted per second, with p50/p99 latency, next to
//!    a bare axum handler on the same machine (the baseline, measured in the same run);
//! 2. end to end: one message at a time, webhook in → SMS POST arriving at a fake Twilio,
//!    p50/p99 with the echo plugin;
//! 3. bursts: 2,000 leads text at once (the real 19-field form, each its own
//!    conversation), drained to exactly one reply each, with echo and with Landlord Rep;
//!    the fsyncs per message of an echo burst (strace); next to the durability limit (a
//!    SQLite loop writing the same forms, one commit per row and 64 rows per commit) and,
//!    when BENCH_REFERENCE_VENV names a venv with its packages, the stack agenthost
//!    replaces (../shared/reference-stack) on the same burst and the same fake Twilio;
//! 4. cost as things grow: ingress at 8, 32, 128 and 512 connections (BENCH_SWEEP) with
//!    the host's RSS, and one lead's conversation grown to 500 messages (BENCH_HISTORY):
//!    in → out and RSS at 1, 30 and 500.
//!
//! `cargo bench --workspace --bench pipeline`, or `scripts/bench.sh` for everything
//! (needs dist/plugins from scripts/build-plugins.sh). Setup via env: BENCH_SECONDS
//! (default 5), BENCH_CONNECTIONS (default 64), BENCH_E2E (default 300), BENCH_BURST
//! (default 2000), BENCH_BURST_CONNECTIONS (default 32), BENCH_DATABASE_URL +
//! BENCH_QUEUE_URL to run on PostgreSQL + RabbitMQ.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agenthost_testkit::summary::{Figure, Goal};
use agenthost_twilio::fake::FakeTwilio;

mod common;
use common::drain::{
    BurstHost, Drain, ReferenceStack, Target, burst, count_fsyncs, landlord_question, median_ms,
    one_at_a_time, post_signed, round_trip,
};
use common::*;

/// The number Landlord Rep answers in the bursts.
const LANDLORD: &str = "+15550001112";

/// Rows per second a SQLite loop durably writes (WAL, synchronous=FULL as the host sets
/// it), `per_commit` rows per transaction: the forms of a burst, nothing else. The disk's
/// limit for what the host does per message.
async fn sqlite_limit(dir: &std::path::Path, rows: usize, per_commit: usize) -> f64 {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    use sqlx::{ConnectOptions, Connection};
    let mut conn = SqliteConnectOptions::new()
        .filename(dir.join(format!("limit-{per_commit}.db")))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .connect()
        .await
        .unwrap();
    sqlx::query(
        "CREATE TABLE events (id TEXT PRIMARY KEY, form TEXT NOT NULL, at INTEGER NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let forms: Vec<(String, String)> = (0..rows)
        .map(|i| {
            let sid = format!("SMlimit{i:027}");
            let from = common::drain::lead(7, i);
            (
                sid.clone(),
                twilio_form(PUBLIC_URL, &sid, &from, AGENT, "hello").0,
            )
        })
        .collect();
    let started = Instant::now();
    for chunk in forms.chunks(per_commit) {
        let mut tx = conn.begin().await.unwrap();
        for (sid, form) in chunk {
            sqlx::query("INSERT INTO events (id, form, at) VALUES (?, ?, ?)")
                .bind(sid)
                .bind(form)
                .bind(started.elapsed().as_millis() as i64)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    rows as f64 / started.elapsed().as_secs_f64()
}

/// The resident set of process `pid`, in MiB (Linux).
fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// One lead's conversation grown to `checkpoints.last()` messages, one at a time (post →
/// reply): at each checkpoint, that message's in → out ms, the median of the ten before
/// it, and the host's RSS.
async fn history_cost(
    target: &Target<'_>,
    pid: u32,
    checkpoints: &[usize],
) -> Vec<(usize, f64, f64, f64)> {
    let client = reqwest::Client::new();
    let lead = "+16089990001";
    let last = checkpoints.iter().copied().max().unwrap_or(0);
    let mut latencies = Vec::with_capacity(last);
    let mut out = Vec::new();
    for n in 1..=last {
        let sid = format!("SMhist{n:028}");
        let took = round_trip(&client, target, &sid, lead, &format!("message {n}")).await;
        latencies.push(took.as_micros() as u64);
        if checkpoints.contains(&n) {
            let mut window: Vec<u64> = latencies[n.saturating_sub(10)..].to_vec();
            window.sort_unstable();
            out.push((
                n,
                latencies[n - 1] as f64 / 1000.0,
                median_ms(&window),
                rss_mib(pid),
            ));
        }
    }
    out
}

fn drain_row(label: &str, d: &Drain, reference: Option<&Drain>) {
    println!(
        "| {label:<38} | {:>9.0} | {:>8.2} | {:>7.0} / {:>7.0} | {:>13} | {:>11} |",
        d.rate(),
        d.posted.as_secs_f64(),
        d.pct_ms(0.5),
        d.pct_ms(0.99),
        if d.exact() {
            "yes".to_owned()
        } else {
            format!("NO: {}/{} +{} −{}", d.answered, d.n, d.extra, d.refused)
        },
        reference.map_or("—".to_owned(), |r| format!("{:.1}×", d.rate() / r.rate())),
    );
}

struct Load {
    accepted: u64,
    failed: u64,
    seconds: f64,
    latencies_us: Vec<u64>,
}

impl Load {
    fn rate(&self) -> f64 {
        self.accepted as f64 / self.seconds
    }
    fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

/// `connections` clients posting for `duration`; `make` builds request n's (body, signature).
async fn load(
    url: String,
    connections: usize,
    duration: Duration,
    make: Arc<dyn Fn(u64) -> (String, String) + Send + Sync>,
) -> Load {
    let counter = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (url, make, counter) = (url.clone(), make.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let (mut ok, mut failed, mut lat) = (0u64, 0u64, Vec::new());
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let (body, sig) = make(n);
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("x-twilio-signature", sig)
                    .body(body)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => {
                        ok += 1;
                        lat.push(t.elapsed().as_micros() as u64);
                    }
                    _ => failed += 1,
                }
            }
            (ok, failed, lat)
        }));
    }
    let mut out = Load {
        accepted: 0,
        failed: 0,
        seconds: 0.0,
        latencies_us: Vec::new(),
    };
    for t in tasks {
        let (ok, failed, lat) = t.await.unwrap();
        out.accepted += ok;
        out.failed += failed;
        out.latencies_us.extend(lat);
    }
    out.seconds = started.elapsed().as_secs_f64();
    out.latencies_us.sort_unstable();
    out
}

#[tokio::main]
async fn main() {
    let seconds = Duration::from_secs(env_num("BENCH_SECONDS", 5));
    let connections = env_num("BENCH_CONNECTIONS", 64) as usize;
    let e2e_n = env_num("BENCH_E2E", 300) as usize;
    let echo = agenthost_testkit::built_plugin("echo");
    assert!(
        echo.exists(),
        "{} missing: run scripts/build-plugins.sh",
        echo.display()
    );

    // Baseline: a bare axum handler answering the same TwiML, in this process.
    let base_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_port = base_listener.local_addr().unwrap().port();
    let app = axum::Router::new().route(
        "/twilio/sms",
        axum::routing::post(|| async { "<Response/>" }),
    );
    tokio::spawn(async move { axum::serve(base_listener, app).await.unwrap() });
    let make: Arc<dyn Fn(u64) -> (String, String) + Send + Sync> =
        Arc::new(|n| signed(&format!("SMbase{n:026}"), "hi"));
    let baseline = load(
        format!("http://127.0.0.1:{base_port}/twilio/sms"),
        connections,
        seconds,
        make,
    )
    .await;

    // agenthost, worker running (so this is ingress under the full pipeline's load).
    let twilio = FakeTwilio::start().await;
    let data = tempfile::tempdir().unwrap();
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(&echo, plugins.path().join("echo.wasm")).unwrap();
    let port = free_port();
    let t = Instant::now();
    let child = start_host(
        port,
        data.path(),
        plugins.path(),
        &twilio.base_url(),
        "web,worker,scheduler",
        &[],
    );
    wait_ready(port).await;
    let startup = t.elapsed();
    let url = format!("http://127.0.0.1:{port}/twilio/sms");

    // End to end first, on an idle host: one message at a time.
    let mut e2e = Vec::with_capacity(e2e_n);
    let client = reqwest::Client::new();
    for i in 0..e2e_n {
        let (body, sig) = signed(&format!("SMe2e{i:027}"), "ping");
        let before = twilio.count();
        let t = Instant::now();
        assert!(post_signed(&client, &url, body, sig).await, "refused");
        let got = twilio
            .wait_for_count(before + 1, Duration::from_secs(10))
            .await;
        assert!(got > before, "no reply within 10 s");
        e2e.push(t.elapsed().as_micros() as u64);
    }
    e2e.sort_unstable();
    let e2e_pct = |p: f64| e2e[((e2e.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0;

    let make: Arc<dyn Fn(u64) -> (String, String) + Send + Sync> =
        Arc::new(|n| signed(&format!("SMload{n:026}"), "load"));
    let ingress = load(url, connections, seconds, make).await;
    drop(child);

    // Ingress alone (web role): what the webhook path can durably accept when workers run
    // elsewhere, as on GKE.
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = start_host(
        port,
        data.path(),
        plugins.path(),
        &twilio.base_url(),
        "web",
        &[],
    );
    wait_ready(port).await;
    let make: Arc<dyn Fn(u64) -> (String, String) + Send + Sync> =
        Arc::new(|n| signed(&format!("SMweb{n:027}"), "load"));
    let web_only = load(
        format!("http://127.0.0.1:{port}/twilio/sms"),
        connections,
        seconds,
        make,
    )
    .await;
    drop(child);

    // Bursts, on a fresh host and a fresh fake Twilio: echo and Landlord Rep answering.
    let burst_n = env_num("BENCH_BURST", 2000) as usize;
    let burst_conns = env_num("BENCH_BURST_CONNECTIONS", 32) as usize;
    let landlord = agenthost_testkit::built_plugin("landlord-rep");
    std::fs::copy(&landlord, plugins.path().join("landlord-rep.wasm")).unwrap();
    let host = BurstHost::start(
        plugins.path(),
        &format!("{AGENT}=echo,{LANDLORD}=landlord-rep"),
    )
    .await;
    let (child, sink, url) = (&host.child, &host.sink, &host.url);
    let echo = Target {
        url,
        public_url: PUBLIC_URL,
        to: AGENT,
        twilio: sink,
    };
    let e2e_form = one_at_a_time(&echo, 10, 100).await;
    let echo_burst = burst(
        &echo,
        11,
        burst_n,
        burst_conns,
        |_| "hello",
        Duration::from_secs(300),
    )
    .await;
    let to_landlord = Target {
        to: LANDLORD,
        ..echo
    };
    let landlord_burst = burst(
        &to_landlord,
        12,
        burst_n,
        burst_conns,
        landlord_question,
        Duration::from_secs(900),
    )
    .await;
    // Counted apart: strace slows what it watches.
    let fsync_n = burst_n.min(500);
    let (fsync_burst, fsyncs) = count_fsyncs(
        child.id(),
        burst(
            &echo,
            13,
            fsync_n,
            burst_conns,
            |_| "hello",
            Duration::from_secs(300),
        ),
    )
    .await;
    drop(host);
    let limit_dir = tempfile::tempdir().unwrap();
    let one_per_commit = sqlite_limit(limit_dir.path(), 500, 1).await;
    let grouped = sqlite_limit(limit_dir.path(), burst_n, 64).await;

    // The stack agenthost replaces, on the same bursts and the same fake Twilio.
    let reference = match std::env::var_os("BENCH_REFERENCE_VENV") {
        Some(venv) => {
            let app_dir = std::env::var_os("BENCH_REFERENCE_DIR")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| {
                    agenthost_testkit::repo_root().join("../shared/reference-stack")
                });
            let refsink = FakeTwilio::start().await;
            let stack =
                ReferenceStack::start(std::path::Path::new(&venv), &app_dir, &refsink.base_url())
                    .await;
            let target = Target {
                url: &stack.url,
                public_url: common::drain::REFERENCE_PUBLIC_URL,
                to: AGENT,
                twilio: &refsink,
            };
            let e2e = one_at_a_time(&target, 20, 100).await;
            let drained = burst(
                &target,
                21,
                burst_n,
                burst_conns,
                |_| "hello",
                Duration::from_secs(300),
            )
            .await;
            drop(stack);
            Some((e2e, drained))
        }
        None => None,
    };

    // Cost as load and history grow, on a fresh host: ingress at each connection count,
    // then one lead's conversation grown to 500 messages.
    let sweep: Vec<usize> = std::env::var("BENCH_SWEEP")
        .unwrap_or_else(|_| "8,32,128,512".to_owned())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let sweep_seconds = Duration::from_secs(env_num("BENCH_SWEEP_SECONDS", 3));
    let histories = [1, 30, env_num("BENCH_HISTORY", 500) as usize];
    let sink = FakeTwilio::start().await;
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = start_host(
        port,
        data.path(),
        plugins.path(),
        &sink.base_url(),
        "web,worker,scheduler",
        &[("AGENTHOST_SENDER_SEGMENTS_PER_MINUTE", "6000000")],
    );
    wait_ready(port).await;
    let idle_rss = rss_mib(child.id());
    let url = format!("http://127.0.0.1:{port}/twilio/sms");
    let target = Target {
        url: &url,
        public_url: PUBLIC_URL,
        to: AGENT,
        twilio: &sink,
    };
    // The history first, on an idle host; then the load.
    let history = history_cost(&target, child.id(), &histories).await;
    let mut by_connections = Vec::new();
    for (row, &c) in sweep.iter().enumerate() {
        // A new lead per post, and an area code per row: no lead posts twice.
        let area = 610 + row % 90;
        let make: Arc<dyn Fn(u64) -> (String, String) + Send + Sync> = Arc::new(move |n| {
            let lead = format!("+1{area}{}{:06}", 2 + (n / 1_000_000) % 8, n % 1_000_000);
            twilio_form(
                PUBLIC_URL,
                &format!("SMc{c:04}{n:026}"),
                &lead,
                AGENT,
                "load",
            )
        });
        let l = load(url.clone(), c, sweep_seconds, make).await;
        by_connections.push((c, l, rss_mib(child.id())));
    }
    drop(child);

    let setup = if std::env::var("BENCH_DATABASE_URL").is_ok() {
        "PostgreSQL + RabbitMQ"
    } else {
        "SQLite + embedded queue"
    };
    println!(
        "agenthost pipeline bench — {setup}, {connections} connections, {}s per load run",
        seconds.as_secs()
    );
    println!();
    println!(
        "| measure                                | req/s    | p50 ms | p99 ms | failed | vs baseline |"
    );
    println!(
        "|----------------------------------------|----------|--------|--------|--------|-------------|"
    );
    println!(
        "| bare axum handler (baseline)           | {:>8.0} | {:>6.2} | {:>6.2} | {:>6} | 1.00×       |",
        baseline.rate(),
        baseline.pct(0.5),
        baseline.pct(0.99),
        baseline.failed
    );
    println!(
        "| signed webhooks durably accepted, all roles | {:>8.0} | {:>6.2} | {:>6.2} | {:>6} | {:.2}×       |",
        ingress.rate(),
        ingress.pct(0.5),
        ingress.pct(0.99),
        ingress.failed,
        ingress.rate() / baseline.rate()
    );
    println!(
        "| same, web role only (workers elsewhere) | {:>8.0} | {:>6.2} | {:>6.2} | {:>6} | {:.2}×       |",
        web_only.rate(),
        web_only.pct(0.5),
        web_only.pct(0.99),
        web_only.failed,
        web_only.rate() / baseline.rate()
    );
    println!(
        "| end to end, webhook → SMS POST (n={e2e_n:<4}) |          | {:>6.2} | {:>6.2} |        |             |",
        e2e_pct(0.5),
        e2e_pct(0.99)
    );
    println!();
    println!("process start → ready: {} ms", startup.as_millis());
    println!();
    println!(
        "bursts of {burst_n} leads at once ({burst_conns} connections, the 19-field form), all roles, drained to replies"
    );
    println!();
    println!(
        "| burst                                  | replies/s | posted s | p50 / p99 ms      | one reply each | vs seeds' stack |"
    );
    println!(
        "|----------------------------------------|-----------|----------|-------------------|---------------|-------------|"
    );
    let ref_drain = reference.as_ref().map(|(_, d)| d);
    if let Some(r) = ref_drain {
        drain_row("seeds' stack (gunicorn -w 4, celery -c 6), echo", r, None);
    }
    drain_row("agenthost, echo", &echo_burst, ref_drain);
    drain_row("agenthost, Landlord Rep", &landlord_burst, ref_drain);
    println!();
    println!(
        "| one message at a time, in → out (n=100, 19-field form) | p50 ms | vs seeds' stack |"
    );
    println!(
        "|---------------------------------------------------------|--------|-----------------|"
    );
    let ref_e2e = reference.as_ref().map(|(e, _)| median_ms(e));
    if let Some(r) = ref_e2e {
        println!(
            "| seeds' stack, echo                                      | {r:>6.2} |                 |"
        );
    }
    println!(
        "| agenthost, echo                                         | {:>6.2} | {:>15} |",
        median_ms(&e2e_form),
        ref_e2e.map_or("—".to_owned(), |r| format!(
            "{:.2}×",
            median_ms(&e2e_form) / r
        ))
    );
    println!();
    println!(
        "cost as load grows: durably accepted webhooks, all roles, the 19-field form, each post a new lead, {}s per row (idle RSS {idle_rss:.0} MiB)",
        sweep_seconds.as_secs()
    );
    println!();
    println!("| connections | req/s    | p50 ms | p99 ms | failed | host RSS MiB |");
    println!("|-------------|----------|--------|--------|--------|--------------|");
    for (c, l, rss) in &by_connections {
        println!(
            "| {c:>11} | {:>8.0} | {:>6.2} | {:>6.2} | {:>6} | {rss:>12.0} |",
            l.rate(),
            l.pct(0.5),
            l.pct(0.99),
            l.failed
        );
    }
    println!();
    println!("cost as one lead's history grows (echo, one message at a time):");
    println!();
    println!(
        "| messages in the conversation | that message in → out ms | median of the last 10 | host RSS MiB |"
    );
    println!(
        "|------------------------------|--------------------------|-----------------------|--------------|"
    );
    for (n, ms, median, rss) in &history {
        println!("| {n:>28} | {ms:>24.2} | {median:>21.2} | {rss:>12.0} |");
    }
    println!();
    println!("durability limit on this disk (SQLite, WAL, synchronous=FULL, the same forms):");
    println!("  one commit per row:      {one_per_commit:>8.0} rows/s");
    println!(
        "  64 rows per commit:      {grouped:>8.0} rows/s ({:.0}× one per row)",
        grouped / one_per_commit
    );
    println!(
        "  agenthost echo drain:    {:>8.0} replies/s = {:.2}× one commit per row",
        echo_burst.rate(),
        echo_burst.rate() / one_per_commit
    );
    match fsyncs {
        Some(f) => println!(
            "  fsyncs per message (strace, {fsync_n}-lead echo burst, {}): {:.2}",
            if fsync_burst.exact() {
                "exact"
            } else {
                "NOT exact"
            },
            f as f64 / fsync_n as f64
        ),
        None => println!("  fsyncs per message: not counted (strace could not attach)"),
    }
    println!();
    println!(
        "targets (issue 18): ingress ≥ 0.40× bare axum, p99 < 5 ms; burst ≥ 20× the seeds' stack with echo, ≥ 8× with Landlord Rep; one at a time ≤ 0.2× the seeds' stack; start → ready ≤ 300 ms"
    );

    // The figures for scripts/bench.sh's one table (BENCH_SUMMARY), with their targets.
    let postgres = std::env::var("BENCH_DATABASE_URL").is_ok();
    let seeds = |d: Option<f64>| d.map(|v| ("seeds' stack", v));
    let ingress_label = format!("ingress, all roles, {connections} conns, 4-field form");
    let figures = [
        Figure {
            figure: "bare axum, same posts (ingress limit)",
            setup: "baseline",
            value: baseline.rate(),
            unit: "req/s",
            baseline: None,
            goal: None,
        },
        Figure {
            figure: &ingress_label,
            setup,
            value: ingress.rate(),
            unit: "req/s",
            baseline: Some(("bare axum", baseline.rate())),
            goal: Some(if postgres {
                Goal::AtLeast(10_000.0)
            } else {
                Goal::RatioAtLeast(0.40)
            }),
        },
        Figure {
            figure: "ingress, web role only",
            setup,
            value: web_only.rate(),
            unit: "req/s",
            baseline: Some(("bare axum", baseline.rate())),
            goal: None,
        },
        Figure {
            figure: "ingress p99, all roles, 32 conns, 19-field form, new lead each",
            setup,
            value: by_connections
                .iter()
                .find(|(c, ..)| *c == 32)
                .map_or(f64::NAN, |(_, l, _)| l.pct(0.99)),
            unit: "ms",
            baseline: None,
            goal: Some(Goal::AtMost(5.0)),
        },
        Figure {
            figure: &format!("burst of {burst_n} drained, echo, replies/s"),
            setup,
            value: echo_burst.exact_rate(),
            unit: "replies/s",
            baseline: seeds(ref_drain.map(Drain::rate)),
            goal: Some(Goal::RatioAtLeast(20.0)),
        },
        Figure {
            figure: &format!("burst of {burst_n} drained, Landlord Rep, replies/s"),
            setup,
            value: landlord_burst.exact_rate(),
            unit: "replies/s",
            baseline: seeds(ref_drain.map(Drain::rate)),
            goal: Some(Goal::RatioAtLeast(8.0)),
        },
        Figure {
            figure: "one message at a time, in → out p50, echo",
            setup,
            value: median_ms(&e2e_form),
            unit: "ms",
            baseline: seeds(ref_e2e),
            goal: Some(Goal::RatioAtMost(0.2)),
        },
        Figure {
            figure: "process start → ready (fresh data directory)",
            setup,
            value: startup.as_secs_f64() * 1000.0,
            unit: "ms",
            baseline: None,
            goal: Some(Goal::AtMost(300.0)),
        },
    ];
    for f in &figures {
        f.record();
    }
    if !postgres {
        Figure {
            figure: "SQLite durable rows/s, 64 per commit (durability limit)",
            setup: "baseline",
            value: grouped,
            unit: "rows/s",
            baseline: Some(("one commit per row", one_per_commit)),
            goal: None,
        }
        .record();
    }
}
