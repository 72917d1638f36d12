//! Many plugins per host (issue 18): an operator with many offices, or a platform with
//! many tenants, registers hundreds of agents. This bench registers `BENCH_PLUGINS`
//! (default 1,000) distinct plugin versions — variants of echo, each its own component
//! (the same code with a custom section naming the variant, so each has its own bytes,
//! hash and compiled code) — in the plugins folder of the real release binary, and
//! measures, next to a host with echo alone started the same way in the same run:
//!
//! - start → ready, with an empty compile cache and then with every variant compiled
//!   and cached (the restart an operator sees);
//! - idle RSS, and the CPU the idle host burns (every plugin has its own lane, and every
//!   lane its worker slots);
//! - the first event of plugins that have not handled one yet (webhook → reply at the
//!   fake Twilio), against a second event of the same plugin.
//!
//! `cargo bench --workspace --bench many` (needs `scripts/build-plugins.sh`). Set
//! `BENCH_DATABASE_URL` and `BENCH_QUEUE_URL` to run on PostgreSQL + RabbitMQ.

mod common;

use agenthost_testkit::summary::{Figure, Goal};
use std::path::Path;
use std::time::{Duration, Instant};

use agenthost_twilio::fake::FakeTwilio;
use common::drain::post_signed;
use common::*;

/// `echo` with a custom section naming variant `i` appended: a valid component with the
/// same behaviour and bytes of its own.
fn variant(echo: &[u8], i: usize) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"agenthost-bench-variant";
    let payload = format!("variant {i}");
    let mut contents = Vec::new();
    leb128(name.len(), &mut contents);
    contents.extend_from_slice(name);
    contents.extend_from_slice(payload.as_bytes());
    let mut out = echo.to_vec();
    out.push(0); // custom section
    leb128(contents.len(), &mut out);
    out.extend_from_slice(&contents);
    out
}

fn plugin_name(i: usize) -> String {
    format!("echo-{i:04}")
}

/// The agent number routed to variant `i`.
fn number(i: usize) -> String {
    format!("+1555{:07}", 2_000_000 + i)
}

/// CPU ticks (user + system, 1/100 s) the process has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is field 3.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    field(14).unwrap_or(0) + field(15).unwrap_or(0)
}

/// Share of one core the idle process burns over `window`.
async fn idle_cpu(pid: u32, window: Duration) -> f64 {
    let before = cpu_ticks(pid);
    tokio::time::sleep(window).await;
    (cpu_ticks(pid) - before) as f64 / 100.0 / window.as_secs_f64()
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Seconds from spawning a host on `plugins` to its readiness.
async fn start(
    port: u16,
    data: &Path,
    plugins: &Path,
    twilio: &FakeTwilio,
    routes: &str,
) -> (HostProcess, Duration) {
    let t = Instant::now();
    let host = start_host(
        port,
        data,
        plugins,
        &twilio.base_url(),
        "web,worker,scheduler",
        &[("AGENTHOST_ROUTES", routes)],
    );
    wait_ready(port).await;
    (host, t.elapsed())
}

/// One text to `to` answered at the fake Twilio: milliseconds from the post to the reply.
async fn first_reply(twilio: &FakeTwilio, port: u16, to: &str, sid: &str) -> f64 {
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/twilio/sms");
    let (form, sig) = twilio_form(PUBLIC_URL, sid, "+15557654321", to, "hi");
    let before = twilio.count();
    let t = Instant::now();
    assert!(post_signed(&client, &url, form, sig).await, "refused");
    let got = twilio
        .wait_for_count(before + 1, Duration::from_secs(60))
        .await;
    assert!(got > before, "no reply from {to} within 60 s");
    t.elapsed().as_secs_f64() * 1000.0
}

struct Figures {
    cold_start: Duration,
    warm_start: Duration,
    idle_rss: f64,
    idle_cpu: f64,
    first_event_ms: Vec<f64>,
    second_event_ms: f64,
}

/// Starts a host twice on `n` variants (an empty compile cache, then a warm one) and
/// measures it idle and on its first events.
async fn measure(echo: &[u8], n: usize, twilio: &FakeTwilio, tag: &str) -> Figures {
    let plugins = tempfile::tempdir().unwrap();
    for i in 0..n {
        std::fs::write(
            plugins.path().join(format!("{}.wasm", plugin_name(i))),
            variant(echo, i),
        )
        .unwrap();
    }
    // Three plugins probed for their first event, spread over the registry.
    let probes: Vec<usize> = [n / 10, n / 2, n - 1 - n / 10]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let routes = probes
        .iter()
        .map(|&i| format!("{}={}", number(i), plugin_name(i)))
        .collect::<Vec<_>>()
        .join(",");
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let (host, cold_start) = start(port, data.path(), plugins.path(), twilio, &routes).await;
    drop(host);
    let port = free_port();
    let (host, warm_start) = start(port, data.path(), plugins.path(), twilio, &routes).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_cpu = idle_cpu(host.id(), Duration::from_secs(5)).await;
    let idle_rss = rss_mib(host.id());
    let mut first_event_ms = Vec::new();
    for (k, &i) in probes.iter().enumerate() {
        first_event_ms
            .push(first_reply(twilio, port, &number(i), &format!("SMmany{tag}{k:026}")).await);
    }
    let second_event_ms = first_reply(
        twilio,
        port,
        &number(probes[0]),
        &format!("SMmany{tag}again{:021}", 0),
    )
    .await;
    drop(host);
    Figures {
        cold_start,
        warm_start,
        idle_rss,
        idle_cpu,
        first_event_ms,
        second_event_ms,
    }
}

#[tokio::main]
async fn main() {
    let n = env_num("BENCH_PLUGINS", 1000) as usize;
    let echo_path = agenthost_testkit::built_plugin("echo");
    let echo = std::fs::read(&echo_path)
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-plugins.sh", echo_path.display()));
    let twilio = FakeTwilio::start().await;
    let one = measure(&echo, 1, &twilio, "one").await;
    let many = measure(&echo, n, &twilio, "many").await;

    let backend = if std::env::var("BENCH_QUEUE_URL").is_ok() {
        "PostgreSQL + RabbitMQ"
    } else {
        "SQLite + embedded queue"
    };
    let ratio = |a: f64, b: f64| format!("{:.1}×", a / b);
    let max = |v: &[f64]| v.iter().copied().fold(f64::NAN, f64::max);
    println!(
        "\nMany plugins per host ({backend}): {n} distinct echo variants against echo alone\n"
    );
    println!("| measure | 1 plugin | {n} plugins | ratio | target |");
    println!("|---|---|---|---|---|");
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "| start → ready, empty compile cache | {:.2} s | {:.2} s | {} | |",
        secs(one.cold_start),
        secs(many.cold_start),
        ratio(secs(many.cold_start), secs(one.cold_start))
    );
    println!(
        "| start → ready, compiled code cached | {:.2} s | {:.2} s | {} | ≤ 2 s |",
        secs(one.warm_start),
        secs(many.warm_start),
        ratio(secs(many.warm_start), secs(one.warm_start))
    );
    println!(
        "| idle RSS | {:.0} MiB | {:.0} MiB | {} | ≤ 300 MiB |",
        one.idle_rss,
        many.idle_rss,
        ratio(many.idle_rss, one.idle_rss)
    );
    println!(
        "| idle CPU (share of one core) | {:.1}% | {:.1}% | | |",
        one.idle_cpu * 100.0,
        many.idle_cpu * 100.0
    );
    println!(
        "| first event of a plugin, worst of {} | {:.1} ms | {:.1} ms | {} | ≤ 50 ms |",
        many.first_event_ms.len(),
        max(&one.first_event_ms),
        max(&many.first_event_ms),
        ratio(max(&many.first_event_ms), max(&one.first_event_ms))
    );
    println!(
        "| its second event | {:.1} ms | {:.1} ms | | |",
        one.second_event_ms, many.second_event_ms
    );
    let label = |what: &str| format!("{n} plugins: {what}");
    for (figure, value, unit, base, goal) in [
        (
            label("start → ready, compiled code cached"),
            secs(many.warm_start),
            "s",
            secs(one.warm_start),
            Goal::AtMost(2.0),
        ),
        (
            label("idle RSS"),
            many.idle_rss,
            "MiB",
            one.idle_rss,
            Goal::AtMost(300.0),
        ),
        (
            label("first event of a plugin, worst of 3"),
            max(&many.first_event_ms),
            "ms",
            max(&one.first_event_ms),
            Goal::AtMost(50.0),
        ),
    ] {
        Figure {
            figure: &figure,
            setup: backend,
            value,
            unit,
            baseline: Some(("one plugin", base)),
            goal: Some(goal),
        }
        .record();
    }
    println!(
        "\nfirst events, {n} plugins: {}",
        many.first_event_ms
            .iter()
            .map(|ms| format!("{ms:.1} ms"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
