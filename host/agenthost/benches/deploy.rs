//! Deploy bench, against the real release binary on loopback: how long from the
//! activation call to the first event served by the new version, while webhooks keep
//! arriving. Compilation is excluded (the upload compiles and validates); what is measured
//! is the swap itself: the admin call, the database change, the registry swap, and the
//! next invocation on the new version committing. Versions alternate v1 → v2 → v1 …
//!
//! `cargo bench --workspace --bench deploy` (needs dist/plugins/echo.wasm). Env:
//! BENCH_SWAPS (default 20), BENCH_RATE (webhooks/s of background load, default 400),
//! BENCH_DATABASE_URL + BENCH_QUEUE_URL to run on PostgreSQL + RabbitMQ.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agenthost_storage::Storage;
use agenthost_twilio::fake::FakeTwilio;
use common::*;

const ADMIN_TOKEN: &str = "bench-admin-token";
const TARGET_MS: f64 = 100.0;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The same component with a custom section appended: another version, same behaviour.
fn variant(mut bytes: Vec<u8>, tag: &str) -> Vec<u8> {
    let mut payload = vec![5u8];
    payload.extend_from_slice(b"bench");
    payload.extend_from_slice(tag.as_bytes());
    bytes.push(0);
    bytes.push(payload.len() as u8);
    bytes.extend_from_slice(&payload);
    bytes
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let swaps = env_num("BENCH_SWAPS", 20) as usize;
    let rate = env_num("BENCH_RATE", 400).max(1);
    let echo = agenthost_testkit::built_plugin("echo");
    let v1_bytes =
        std::fs::read(&echo).expect("dist/plugins/echo.wasm: run scripts/build-plugins.sh");

    let twilio = FakeTwilio::start().await;
    let data = tempfile::tempdir().unwrap();
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(&echo, plugins.path().join("echo.wasm")).unwrap();
    let port = free_port();
    let child = start_host(
        port,
        data.path(),
        plugins.path(),
        &twilio.base_url(),
        "web,worker,scheduler",
        &[("AGENTHOST_ADMIN_TOKEN", ADMIN_TOKEN)],
    );
    wait_ready(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let admin_base = format!("http://127.0.0.1:{}", admin_port(port));
    let client = reqwest::Client::new();

    // Upload v2 (this compiles it; excluded from the measure).
    let r = client
        .post(format!("{admin_base}/admin/plugins/echo/versions"))
        .bearer_auth(ADMIN_TOKEN)
        .body(variant(v1_bytes.clone(), "v2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v2: serde_json::Value = r.json().await.unwrap();
    let v2 = v2["version"].as_str().unwrap().to_owned();
    let v1 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&v1_bytes))
    };

    // Background load: webhooks at `rate` per second for the whole run.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let load = {
        let (stop, sent, url) = (stop.clone(), sent.clone(), format!("{base}/twilio/sms"));
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let (body, sig) = signed(&format!("SMdeploy{n:024}"), "load");
                n += 1;
                let (client, sent, url) = (client.clone(), sent.clone(), url.clone());
                tokio::spawn(async move {
                    let r = client
                        .post(url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("x-twilio-signature", sig)
                        .body(body)
                        .send()
                        .await;
                    if r.is_ok_and(|r| r.status() == 200) {
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;

    let storage = Storage::connect(
        std::env::var("BENCH_DATABASE_URL").ok().as_deref(),
        data.path(),
        2,
    )
    .await
    .unwrap();
    let mut to_first_served = Vec::new();
    let mut call = Vec::new();
    for i in 0..swaps {
        let target = if i % 2 == 0 { &v2 } else { &v1 };
        let called_at = now_ms();
        let t = Instant::now();
        let r = client
            .post(format!("{admin_base}/admin/plugins/echo/activate"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&serde_json::json!({ "version": target, "reason": "bench" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        call.push(t.elapsed().as_secs_f64() * 1000.0);
        // The first event committed by the new version after the call.
        let first = loop {
            let first: Option<i64> = sqlx::query_scalar(
                "SELECT MIN(updated_at) FROM events WHERE served_by_version = $1 AND updated_at >= $2",
            )
            .bind(target.as_str())
            .bind(called_at)
            .fetch_one(storage.pool())
            .await
            .unwrap();
            if let Some(at) = first {
                break at;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "no event served by the new version"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        to_first_served.push((first - called_at) as f64);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = load.await;
    let elapsed_load = sent.load(Ordering::Relaxed);
    drop(child);

    to_first_served.sort_by(f64::total_cmp);
    call.sort_by(f64::total_cmp);
    let setup = if std::env::var("BENCH_DATABASE_URL").is_ok() {
        "PostgreSQL + RabbitMQ"
    } else {
        "SQLite + embedded queue"
    };
    println!(
        "agenthost deploy bench — {setup}, {swaps} activations under ~{rate} webhooks/s ({elapsed_load} accepted)"
    );
    println!();
    println!(
        "| measure                                   | p50 ms | p90 ms | max ms | vs target {TARGET_MS} ms |"
    );
    println!(
        "|-------------------------------------------|--------|--------|--------|-------------------|"
    );
    for (name, v) in [
        ("activation call (admin API round trip)", &call),
        (
            "activation call → first event served by it",
            &to_first_served,
        ),
    ] {
        println!(
            "| {name:<41} | {:>6.1} | {:>6.1} | {:>6.1} | {:>17.2}× |",
            pct(v, 0.5),
            pct(v, 0.9),
            pct(v, 1.0),
            pct(v, 0.5) / TARGET_MS
        );
    }
}
