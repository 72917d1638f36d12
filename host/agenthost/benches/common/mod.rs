//! What the load benches share: starting the real binary, signing webhooks like Twilio.

#![allow(dead_code)]

pub mod drain;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use agenthost_twilio::fake::{FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN};

pub const AGENT: &str = "+15550001111";
pub const PUBLIC_URL: &str = "http://bench.example.test";

pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The admin listener's port of each host started, by its public port.
static ADMIN_PORTS: std::sync::Mutex<Vec<(u16, u16)>> = std::sync::Mutex::new(Vec::new());

/// The admin port (`/readyz`, `/admin/...`, `/metrics`) of the host started on `port`.
pub fn admin_port(port: u16) -> u16 {
    ADMIN_PORTS
        .lock()
        .unwrap()
        .iter()
        .find(|(p, _)| *p == port)
        .map(|(_, a)| *a)
        .expect("a host started with start_host")
}

pub fn signed(sid: &str, body: &str) -> (String, String) {
    let params = vec![
        ("Body".to_string(), body.to_string()),
        ("From".to_string(), "+15557654321".to_string()),
        ("MessageSid".to_string(), sid.to_string()),
        ("To".to_string(), AGENT.to_string()),
    ];
    sign(PUBLIC_URL, &params)
}

/// The form Twilio really posts for an inbound SMS: its 19 fields, in its order, signed
/// for `public_url`.
pub fn twilio_form(
    public_url: &str,
    sid: &str,
    from: &str,
    to: &str,
    body: &str,
) -> (String, String) {
    let fields: [(&str, &str); 19] = [
        ("ToCountry", "US"),
        ("ToState", "WI"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("ToCity", "MADISON"),
        ("FromZip", "53703"),
        ("SmsSid", sid),
        ("FromState", "WI"),
        ("SmsStatus", "received"),
        ("FromCity", "MADISON"),
        ("Body", body),
        ("FromCountry", "US"),
        ("To", to),
        ("ToZip", "53703"),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", FAKE_ACCOUNT_SID),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ];
    let params: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    sign(public_url, &params)
}

/// The urlencoded body and its `X-Twilio-Signature` for `{public_url}/twilio/sms`.
fn sign(public_url: &str, params: &[(String, String)]) -> (String, String) {
    let sig = agenthost_twilio::signature::compute(
        FAKE_AUTH_TOKEN,
        &format!("{public_url}/twilio/sms"),
        params,
    );
    (
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish(),
        sig,
    )
}

/// The host under bench. Killed when dropped, so a bench that panics (a host that never
/// became ready) leaves no process behind holding its ports.
pub struct HostProcess(Child);

impl HostProcess {
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_host(
    port: u16,
    data: &std::path::Path,
    plugins: &std::path::Path,
    twilio: &str,
    roles: &str,
    extra_env: &[(&str, &str)],
) -> HostProcess {
    let admin = free_port();
    ADMIN_PORTS.lock().unwrap().push((port, admin));
    // BENCH_BINARY runs another build of the host (an earlier commit's) under the same
    // bench, for a before/after in one run.
    let binary = std::env::var("BENCH_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_agenthost").to_owned());
    let mut cmd = Command::new(binary);
    cmd.arg("serve")
        .env_clear()
        .env("AGENTHOST_ADMIN_LISTEN", format!("127.0.0.1:{admin}"))
        .env("AGENTHOST_ROLES", roles)
        .env("AGENTHOST_LISTEN", format!("127.0.0.1:{port}"))
        .env("AGENTHOST_PUBLIC_URL", PUBLIC_URL)
        .env("AGENTHOST_DATA_DIR", data)
        .env("AGENTHOST_PLUGIN_DIR", plugins)
        .env("AGENTHOST_ROUTES", format!("{AGENT}=echo"))
        .env("TWILIO_ACCOUNT_SID", FAKE_ACCOUNT_SID)
        .env("TWILIO_AUTH_TOKEN", FAKE_AUTH_TOKEN)
        .env("AGENTHOST_TWILIO_API_BASE", twilio)
        .env("AGENTHOST_LOG", "warn")
        // Measure the host, not the send policy's production pace (60 segments a minute).
        .env("AGENTHOST_SENDER_SEGMENTS_PER_MINUTE", "60000")
        .env("AGENTHOST_BRAND_DAILY_SEGMENTS", "10000000")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Ok(v) = std::env::var("BENCH_QUEUE_URL") {
        cmd.env("AGENTHOST_QUEUE_URL", v);
    }
    cmd.envs(extra_env.iter().copied());
    // BENCH_AGENTHOST_X=v runs every host of the bench with AGENTHOST_X=v: to try a
    // setting without editing the bench.
    for (var, value) in std::env::vars() {
        if let Some(name) = var.strip_prefix("BENCH_AGENTHOST_") {
            cmd.env(format!("AGENTHOST_{name}"), value);
        }
    }
    if let Ok(url) = std::env::var("BENCH_DATABASE_URL") {
        let (url, prefix) = shared_services_for(data, &url);
        cmd.env("AGENTHOST_DATABASE_URL", url)
            .env("AGENTHOST_QUEUE_PREFIX", prefix);
    }
    HostProcess(cmd.spawn().expect("starting agenthost"))
}

/// Data directories given a database of their own on PostgreSQL, in order.
static DATABASES: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// On PostgreSQL + RabbitMQ, the database and queue prefix of the host whose data
/// directory is `data`: each data directory gets its own (created here, with `psql`), as an
/// embedded host's database lives in its data directory. Otherwise one phase's leftovers —
/// the web-only host's accepted load, never drained — would sit in front of the next
/// phase's messages. A restart on the same data directory keeps its database.
fn shared_services_for(data: &std::path::Path, url: &str) -> (String, String) {
    let mut known = DATABASES.lock().unwrap();
    let (server, base) = url
        .rsplit_once('/')
        .expect("BENCH_DATABASE_URL ends in /<database>");
    let (n, new) = match known.iter().position(|d| d == data) {
        Some(n) => (n, false),
        None => {
            known.push(data.to_owned());
            (known.len() - 1, true)
        }
    };
    let name = format!("{base}_h{n}");
    if new {
        let created = Command::new("psql")
            .arg(url)
            .args(["-qc", &format!("DROP DATABASE IF EXISTS {name}")])
            .args(["-qc", &format!("CREATE DATABASE {name}")])
            .stdout(Stdio::null())
            .status()
            .expect("running psql");
        assert!(created.success(), "psql could not create database {name}");
    }
    let prefix = format!(
        "{}_h{n}",
        std::env::var("BENCH_AGENTHOST_QUEUE_PREFIX").unwrap_or_else(|_| base.to_owned())
    );
    (format!("{server}/{name}"), prefix)
}

pub async fn wait_ready(port: u16) {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{}/readyz", admin_port(port)))
            .send()
            .await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("agenthost did not become ready");
}
