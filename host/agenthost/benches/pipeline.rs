//! Load bench for the message path, against the real release binary on loopback:
//!
//! 1. ingress: signed webhooks durably accepted per second, with p50/p99 latency, next to
//!    a bare axum handler on the same machine (the baseline, measured in the same run);
//! 2. end to end: one message at a time, webhook in → SMS POST arriving at a fake Twilio,
//!    p50/p99 with the echo plugin.
//!
//! `cargo bench -p agenthost --bench pipeline` (needs dist/plugins/echo.wasm). Setup via
//! env: BENCH_SECONDS (default 5), BENCH_CONNECTIONS (default 64), BENCH_E2E (default 300),
//! BENCH_DATABASE_URL + BENCH_QUEUE_URL to run on PostgreSQL + RabbitMQ.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agenthost_twilio::fake::FakeTwilio;

mod common;
use common::*;

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
        let before = twilio.requests().len();
        let t = Instant::now();
        let r = client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", sig)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        twilio.wait_for(before + 1, Duration::from_secs(10)).await;
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
    println!("targets: ingress ≥ 5,000 req/s on the embedded default; end-to-end p50 < 10 ms");
}
