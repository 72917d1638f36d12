//! Bursts and their drain: `n` leads text at once (each its own conversation, the real
//! 19-field form), and the clock runs until every one of them has its reply at the fake
//! Twilio. The same code drives agenthost and the stack it replaces.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use agenthost_twilio::fake::{FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, FakeTwilio};

use super::twilio_form;

/// What leads ask Landlord Rep in a burst, in turn.
pub fn landlord_question(i: usize) -> &'static str {
    const QUESTIONS: [&str; 4] = [
        "is heat included at yates?",
        "do you have a 2 bedroom under 1500 near the cottage grove bus",
        "can I tour tomorrow at 3pm?",
        "hi",
    ];
    QUESTIONS[i % QUESTIONS.len()]
}

/// A fresh all-roles host for bursts, with its own data directory and fake Twilio:
/// `routes` (`AGENTHOST_ROUTES`) over the plugins in `plugins`, the agents' config from
/// `config/plugins`, and a sender pace no burst reaches.
pub struct BurstHost {
    pub child: super::HostProcess,
    pub sink: FakeTwilio,
    pub port: u16,
    pub url: String,
    _data: tempfile::TempDir,
}

impl BurstHost {
    pub async fn start(plugins: &std::path::Path, routes: &str) -> BurstHost {
        let config_dir = agenthost_testkit::repo_root().join("config/plugins");
        let sink = FakeTwilio::start().await;
        let data = tempfile::tempdir().unwrap();
        let port = super::free_port();
        let child = super::start_host(
            port,
            data.path(),
            plugins,
            &sink.base_url(),
            "web,worker,scheduler",
            &[
                ("AGENTHOST_ROUTES", routes),
                ("AGENTHOST_PLUGIN_CONFIG_DIR", config_dir.to_str().unwrap()),
                ("AGENTHOST_SENDER_SEGMENTS_PER_MINUTE", "6000000"),
            ],
        );
        super::wait_ready(port).await;
        BurstHost {
            child,
            sink,
            port,
            url: format!("http://127.0.0.1:{port}/twilio/sms"),
            _data: data,
        }
    }
}

/// What a drained burst measured.
pub struct Drain {
    pub n: usize,
    /// First post → last post answered 200: the burst's ingress.
    pub posted: Duration,
    /// First post → the last lead's reply at the fake Twilio.
    pub drained: Duration,
    /// Leads that got at least one reply.
    pub answered: usize,
    /// Replies beyond one per lead (must be 0).
    pub extra: usize,
    /// Posts not answered 200.
    pub refused: usize,
    /// Per lead, its post → its reply, sorted (µs).
    pub latencies_us: Vec<u64>,
}

impl Drain {
    /// Replies per second over the whole burst.
    pub fn rate(&self) -> f64 {
        self.answered as f64 / self.drained.as_secs_f64()
    }
    pub fn pct_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
    /// Exactly one reply per lead, every post accepted.
    /// Replies per second, or 0 unless every lead got exactly one reply (for the table).
    pub fn exact_rate(&self) -> f64 {
        if self.exact() { self.rate() } else { 0.0 }
    }
    pub fn exact(&self) -> bool {
        self.answered == self.n && self.extra == 0 && self.refused == 0
    }
}

/// Posts one signed form to `url`; whether it was answered 200.
pub async fn post_signed(client: &reqwest::Client, url: &str, form: String, sig: String) -> bool {
    client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", sig)
        .body(form)
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
}

/// One text from `from` to the target, post → its reply at the fake Twilio (the only
/// traffic while it runs); panics if it is refused or unanswered within 10 s.
pub async fn round_trip(
    client: &reqwest::Client,
    target: &Target<'_>,
    sid: &str,
    from: &str,
    body: &str,
) -> Duration {
    let (form, sig) = twilio_form(target.public_url, sid, from, target.to, body);
    let before = target.twilio.count();
    let t = Instant::now();
    assert!(
        post_signed(client, target.url, form, sig).await,
        "{sid} refused"
    );
    let got = target
        .twilio
        .wait_for_count(before + 1, Duration::from_secs(10))
        .await;
    assert!(got > before, "{sid}: no reply within 10 s");
    t.elapsed()
}

/// Lead `i`'s number: distinct for the first million.
pub fn lead(tag: u32, i: usize) -> String {
    format!("+1608{}{:06}", 2 + tag % 8, i % 1_000_000)
}

/// Where a burst goes: the webhook `url`, signed for `public_url`, texting the agent
/// number `to`, whose replies reach `twilio`.
pub struct Target<'a> {
    pub url: &'a str,
    pub public_url: &'a str,
    pub to: &'a str,
    pub twilio: &'a FakeTwilio,
}

/// Posts `n` webhooks from `n` leads (`body(i)`; `tag` keeps leads and sids apart
/// between bursts), `connections` at a time, then waits up to `timeout` for every lead's
/// reply at the target's fake Twilio.
pub async fn burst(
    target: &Target<'_>,
    tag: u32,
    n: usize,
    connections: usize,
    body: fn(usize) -> &'static str,
    timeout: Duration,
) -> Drain {
    let Target {
        url,
        public_url,
        to,
        twilio,
    } = *target;
    let before = twilio.count();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (url, public_url, to, next) = (
            url.to_owned(),
            public_url.to_owned(),
            to.to_owned(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut sent = Vec::new();
            let mut refused = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let from = lead(tag, i);
                let sid = format!("SM{tag:02}{i:030}");
                let (form, sig) = twilio_form(&public_url, &sid, &from, &to, body(i));
                let t = Instant::now();
                if post_signed(&client, &url, form, sig).await {
                    sent.push((from, t));
                } else {
                    refused += 1;
                }
            }
            (sent, refused)
        }));
    }
    let mut posted_at = HashMap::with_capacity(n);
    let mut refused = 0;
    for t in tasks {
        let (sent, r) = t.await.unwrap();
        posted_at.extend(sent);
        refused += r;
    }
    let posted = started.elapsed();
    // Wait on the fake's request count (no copying of its log while the host works: the
    // bench shares the machine's two cores with it), then check who was answered.
    let deadline = Instant::now() + timeout;
    let mut want = posted_at.len();
    let mut replies;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        replies = twilio.wait_for(before + want, left).await.split_off(before);
        let answered: std::collections::HashSet<&str> = replies
            .iter()
            .filter(|r| r.accepted() && posted_at.contains_key(&r.to))
            .map(|r| r.to.as_str())
            .collect();
        if answered.len() >= posted_at.len() || Instant::now() >= deadline {
            break;
        }
        want = replies.len() + 1;
    }
    let mut first: HashMap<&str, Instant> = HashMap::new();
    let mut extra = 0;
    // Only the burst's leads: an agent may also text staff, which is not a reply.
    for r in replies
        .iter()
        .filter(|r| r.accepted() && posted_at.contains_key(&r.to))
    {
        if first.contains_key(r.to.as_str()) {
            extra += 1;
        } else {
            first.insert(r.to.as_str(), r.at);
        }
    }
    let last = first.values().max().copied().unwrap_or(started);
    let mut latencies_us: Vec<u64> = first
        .iter()
        .filter_map(|(to, at)| {
            posted_at
                .get(*to)
                .map(|t| at.saturating_duration_since(*t).as_micros() as u64)
        })
        .collect();
    latencies_us.sort_unstable();
    Drain {
        n,
        posted,
        drained: last.saturating_duration_since(started),
        answered: latencies_us.len(),
        extra,
        refused,
        latencies_us,
    }
}

/// One message at a time, post → reply, `n` times, each from a new lead; sorted
/// latencies (µs).
pub async fn one_at_a_time(target: &Target<'_>, tag: u32, n: usize) -> Vec<u64> {
    let client = reqwest::Client::new();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let sid = format!("SM{tag:02}{i:030}");
        let took = round_trip(&client, target, &sid, &lead(tag, i), "ping").await;
        out.push(took.as_micros() as u64);
    }
    out.sort_unstable();
    out
}

/// The median of sorted microseconds, in ms.
pub fn median_ms(sorted_us: &[u64]) -> f64 {
    sorted_us
        .get(sorted_us.len() / 2)
        .map_or(f64::NAN, |us| *us as f64 / 1000.0)
}

/// Counts the fsync and fdatasync calls of process `pid` (all its threads) while `work`
/// runs, with strace. `None` when strace cannot attach.
pub async fn count_fsyncs<F: std::future::Future>(pid: u32, work: F) -> (F::Output, Option<u64>) {
    let out = tempfile::NamedTempFile::new().unwrap();
    let strace = Command::new("strace")
        .args(["-f", "-c", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(out.path())
        .args(["-p", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut strace) = strace else {
        return (work.await, None);
    };
    // Let it attach to every thread before the work starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let result = work.await;
    let _ = Command::new("kill")
        .args(["-INT", &strace.id().to_string()])
        .status();
    let _ = strace.wait();
    let text = std::fs::read_to_string(out.path()).unwrap_or_default();
    let calls = text
        .lines()
        .filter(|l| l.ends_with(" fsync") || l.ends_with(" fdatasync"))
        .filter_map(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok())
        .sum::<u64>();
    (result, (calls > 0).then_some(calls))
}

/// The stack agenthost replaces (../shared/reference-stack: Flask under gunicorn, Celery
/// over RabbitMQ), started from a venv that has its packages, answering like echo and
/// sending through `twilio`. Stopped when dropped.
pub struct ReferenceStack {
    children: Vec<Child>,
    pub url: String,
}

pub const REFERENCE_PUBLIC_URL: &str = "https://agents.example.com";

impl ReferenceStack {
    pub async fn start(venv: &std::path::Path, app_dir: &std::path::Path, twilio: &str) -> Self {
        let port = super::free_port();
        let env = |cmd: &mut Command| {
            cmd.current_dir(app_dir)
                .env("TWILIO_API_BASE", twilio)
                .env("TWILIO_ACCOUNT_SID", FAKE_ACCOUNT_SID)
                .env("TWILIO_AUTH_TOKEN", FAKE_AUTH_TOKEN)
                .env("PUBLIC_URL", REFERENCE_PUBLIC_URL)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        };
        // Whatever an earlier run left on its queue would be answered too.
        let mut purge = Command::new(venv.join("bin/celery"));
        purge.args([
            "-A",
            "app.celery",
            "purge",
            "-f",
            "-Q",
            "ai_client_service_v3",
        ]);
        env(&mut purge);
        let _ = purge.status();
        let mut web = Command::new(venv.join("bin/gunicorn"));
        web.args(["-w", "4", "-b", &format!("127.0.0.1:{port}"), "app:app"]);
        env(&mut web);
        let mut worker = Command::new(venv.join("bin/celery"));
        worker.args([
            "-A",
            "app.celery",
            "worker",
            "-c",
            "6",
            "--prefetch-multiplier=1",
            "-Q",
            "ai_client_service_v3",
        ]);
        env(&mut worker);
        let children = vec![
            web.spawn().expect("starting gunicorn"),
            worker.spawn().expect("starting celery"),
        ];
        let stack = ReferenceStack {
            children,
            url: format!("http://127.0.0.1:{port}/twilio/sms"),
        };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            // An unsigned post is refused (403) once gunicorn serves.
            if let Ok(r) = client.post(&stack.url).send().await
                && r.status() == 403
            {
                return stack;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the reference stack did not start");
    }
}

impl Drop for ReferenceStack {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        for child in &mut self.children {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
