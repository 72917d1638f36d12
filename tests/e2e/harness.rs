//! Starting the real binary against real services, one isolated setup per test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agenthost_storage::Storage;
use agenthost_twilio::fake::{FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, FakeTwilio};

pub const AGENT_NUMBER: &str = "+15550001111";
pub const TRAP_NUMBER: &str = "+15550002222";
pub const LEAD: &str = "+15557654321";
pub const ADMIN_TOKEN: &str = "e2e-admin-token";
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Which storage and queue a host runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// SQLite file + the embedded queue: the laptop default.
    Embedded,
    /// PostgreSQL + RabbitMQ: production.
    Distributed,
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{tag}_{}_{nanos}", std::process::id())
}

fn psql(sql: &str) {
    let status = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-q",
            "-c",
            sql,
        ])
        .stdout(Stdio::null())
        .status()
        .expect("running psql");
    assert!(status.success(), "psql failed: {sql}");
}

pub use agenthost_testkit::built_plugin as plugin_path;

/// The isolated world of one test: data dir, database, queue prefix, plugin folder.
pub struct World {
    pub data: tempfile::TempDir,
    pub plugins: tempfile::TempDir,
    pub database_url: Option<String>,
    pub queue_prefix: String,
    pub twilio: FakeTwilio,
}

impl World {
    /// `plugins`: (file in dist/plugins, name to load it as).
    pub async fn new(setup: Setup, plugins: &[(&str, &str)]) -> World {
        let plugin_dir = tempfile::tempdir().unwrap();
        for (file, name) in plugins {
            let from = plugin_path(file);
            std::fs::copy(&from, plugin_dir.path().join(format!("{name}.wasm"))).unwrap_or_else(
                |e| panic!("{}: {e}; run scripts/build-plugins.sh", from.display()),
            );
        }
        let database_url = match setup {
            Setup::Embedded => None,
            Setup::Distributed => {
                let db = unique("agenthost_e2e");
                psql(&format!("CREATE DATABASE {db}"));
                Some(format!("postgres://postgres@127.0.0.1:5432/{db}"))
            }
        };
        World {
            data: tempfile::tempdir().unwrap(),
            plugins: plugin_dir,
            database_url,
            queue_prefix: unique("e2e"),
            twilio: FakeTwilio::start().await,
        }
    }

    /// Storage as the host sees it, to inspect what it committed.
    pub async fn storage(&self) -> Storage {
        Storage::connect(self.database_url.as_deref(), self.data.path(), 2)
            .await
            .expect("opening the host's storage")
    }

    pub fn start(&self, extra_env: &[(&str, &str)]) -> Host {
        Host::start(self, extra_env)
    }
}

/// The host's wall clock, moved by libfaketime (an LD_PRELOAD, no hook in the host): the
/// offset lives in a file the host rereads on every clock read.
pub struct FakeClock {
    file: PathBuf,
    offset_secs: std::sync::Mutex<u64>,
}

pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

impl World {
    /// A fake clock for hosts started with `clock.env()`; starts at the real time.
    pub fn fake_clock(&self) -> FakeClock {
        assert!(
            std::path::Path::new(LIBFAKETIME).exists(),
            "{LIBFAKETIME} missing: apt-get install faketime (scripts/test.sh does)"
        );
        let file = self.data.path().join("faketime");
        std::fs::write(&file, "+0\n").unwrap();
        FakeClock {
            file,
            offset_secs: std::sync::Mutex::new(0),
        }
    }
}

impl FakeClock {
    /// Environment for a host that lives on this clock.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LD_PRELOAD", LIBFAKETIME.to_owned()),
            ("FAKETIME_TIMESTAMP_FILE", self.file.display().to_string()),
            ("FAKETIME_NO_CACHE", "1".to_owned()),
        ]
    }

    /// The host's wall clock now: the real time plus the offset.
    #[allow(dead_code)]
    pub fn now(&self) -> std::time::SystemTime {
        std::time::SystemTime::now() + Duration::from_secs(*self.offset_secs.lock().unwrap())
    }

    /// Moves the host's clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut offset = self.offset_secs.lock().unwrap();
        *offset += by.as_secs();
        std::fs::write(&self.file, format!("+{}\n", *offset)).unwrap();
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(url) = &self.database_url {
            let db = url.rsplit('/').next().unwrap();
            psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
        }
    }
}

/// The form Twilio posts for an inbound SMS and its `X-Twilio-Signature` (over the
/// public URL and every parameter sorted by name).
pub fn signed_sms_params(
    sid: &str,
    from: &str,
    to: &str,
    body: &str,
) -> (Vec<(String, String)>, String) {
    let params = vec![
        ("AccountSid".to_string(), FAKE_ACCOUNT_SID.to_string()),
        ("Body".to_string(), body.to_string()),
        ("From".to_string(), from.to_string()),
        ("MessageSid".to_string(), sid.to_string()),
        ("NumMedia".to_string(), "0".to_string()),
        ("SmsStatus".to_string(), "received".to_string()),
        ("To".to_string(), to.to_string()),
        ("FromCity".to_string(), String::new()),
    ];
    let url = "https://sms.example.test:8443/hooks/twilio/sms";
    let signature = agenthost_twilio::signature::compute(FAKE_AUTH_TOKEN, url, &params);
    (params, signature)
}

/// Posts a signed inbound SMS to the host at `base` (e.g. `http://127.0.0.1:PORT`);
/// `None` if no answer came (the host is down), else the status. Never panics: for load
/// that goes on while hosts crash (the chaos suite).
#[allow(dead_code)]
pub async fn try_post_sms(
    http: &reqwest::Client,
    base: &str,
    sid: &str,
    from: &str,
    to: &str,
    body: &str,
) -> Option<u16> {
    let (params, signature) = signed_sms_params(sid, from, to, body);
    let form: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let r = http
        .post(format!("{base}/twilio/sms"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(form)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    Some(r.status().as_u16())
}

/// A running `agenthost serve`.
pub struct Host {
    child: Option<Child>,
    /// The public listener: `/twilio/*` and `/healthz` only.
    pub port: u16,
    /// The admin listener: the admin API, `/metrics`, `/readyz`.
    pub admin_port: u16,
    env: Vec<(String, String)>,
    pub log_path: PathBuf,
    http: reqwest::Client,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Host {
    fn start(world: &World, extra_env: &[(&str, &str)]) -> Host {
        let port = free_port();
        let admin_port = free_port();
        let mut env: Vec<(String, String)> = vec![
            ("AGENTHOST_LISTEN".into(), format!("127.0.0.1:{port}")),
            (
                "AGENTHOST_ADMIN_LISTEN".into(),
                format!("127.0.0.1:{admin_port}"),
            ),
            (
                "AGENTHOST_PUBLIC_URL".into(),
                "https://sms.example.test:8443/hooks".to_string(),
            ),
            (
                "AGENTHOST_DATA_DIR".into(),
                world.data.path().display().to_string(),
            ),
            (
                "AGENTHOST_PLUGIN_DIR".into(),
                world.plugins.path().display().to_string(),
            ),
            (
                "AGENTHOST_PLUGIN_CONFIG_DIR".into(),
                world.plugins.path().display().to_string(),
            ),
            (
                "AGENTHOST_ROUTES".into(),
                format!("{AGENT_NUMBER}=echo,{TRAP_NUMBER}=trap"),
            ),
            ("AGENTHOST_ADMIN_TOKEN".into(), ADMIN_TOKEN.into()),
            ("TWILIO_ACCOUNT_SID".into(), FAKE_ACCOUNT_SID.into()),
            ("TWILIO_AUTH_TOKEN".into(), FAKE_AUTH_TOKEN.into()),
            ("AGENTHOST_TWILIO_API_BASE".into(), world.twilio.base_url()),
            ("AGENTHOST_QUEUE_PREFIX".into(), world.queue_prefix.clone()),
            ("AGENTHOST_DRAIN_DELAY_MS".into(), "0".into()),
            // The send policy's pace and daily cap are production defaults that would
            // make every load scenario about them; the compliance tests set their own.
            (
                "AGENTHOST_SENDER_SEGMENTS_PER_MINUTE".into(),
                "60000".into(),
            ),
            ("AGENTHOST_BRAND_DAILY_SEGMENTS".into(), "10000000".into()),
            // Quiet hours follow the wall clock: with the default window a follow-up test
            // would pass or fail by the hour it runs at. Open all day (but the last minute)
            // here; the compliance tests set the window they test.
            ("AGENTHOST_QUIET_HOURS".into(), "00:00-23:59".into()),
            ("AGENTHOST_LOG".into(), "info".into()),
        ];
        if let Some(url) = &world.database_url {
            env.push(("AGENTHOST_DATABASE_URL".into(), url.clone()));
            env.push((
                "AGENTHOST_QUEUE_URL".into(),
                "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            ));
        }
        for (k, v) in extra_env {
            env.retain(|(name, _)| name != k);
            env.push((k.to_string(), v.to_string()));
        }
        let log_path = world.data.path().join(format!("host-{port}.log"));
        let mut host = Host {
            child: None,
            port,
            admin_port,
            env,
            log_path,
            http: reqwest::Client::new(),
        };
        host.spawn();
        host
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_agenthost"))
            .arg("serve")
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawning agenthost");
        self.child = Some(child);
    }

    /// `path` on the listener that serves it: the public one for `/twilio/*`, the admin
    /// one for everything else (admin API, metrics, readiness).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("/twilio/") {
            self.public_url(path)
        } else {
            self.admin_url(path)
        }
    }

    /// `path` on the public listener, whatever it is.
    pub fn public_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `path` on the admin listener, whatever it is.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.admin_port)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Waits for `/readyz` 200; panics with the log if it never comes.
    pub async fn ready(&self) -> &Host {
        let t = Instant::now();
        while t.elapsed() < READY_TIMEOUT {
            if let Ok(r) = self.http.get(self.url("/readyz")).send().await
                && r.status() == 200
            {
                return self;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "host not ready within {READY_TIMEOUT:?}; log:\n{}",
            self.logs()
        );
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The process's peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// SIGKILL: no drain, no cleanup, as a crash.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM: the host drains and exits on its own.
    pub fn terminate(&self) {
        if let Some(c) = &self.child {
            let status = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status()
                .expect("running kill");
            assert!(status.success());
        }
    }

    /// Waits up to `timeout` for the process to exit; its exit code (None: still running
    /// or killed by a signal).
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let t = Instant::now();
        while t.elapsed() < timeout {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                self.child = None;
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// `GET path` → (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self.http.get(self.url(path)).send().await.expect("GET");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }

    /// Starts the same host again (same port, env, data), as after a crash.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Signs like Twilio (the public URL + every param sorted by name) and posts.
    pub async fn post_sms(&self, sid: &str, from: &str, to: &str, body: &str) -> (u16, String) {
        let (params, signature) = signed_sms_params(sid, from, to, body);
        self.post_form(&params, Some(&signature)).await
    }

    pub async fn post_form(
        &self,
        params: &[(String, String)],
        signature: Option<&str>,
    ) -> (u16, String) {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        self.post_raw(body.into_bytes(), signature).await
    }

    pub async fn post_raw(&self, body: Vec<u8>, signature: Option<&str>) -> (u16, String) {
        let mut req = self
            .http
            .post(self.url("/twilio/sms"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(s) = signature {
            req = req.header("x-twilio-signature", s);
        }
        let r = req.send().await.expect("posting the webhook");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }
}

impl Host {
    /// One admin API call with the test token; the JSON answer (or `{"text": ...}`).
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("admin call");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(serde_json::json!({ "text": text }));
        (status, value)
    }

    /// Uploads component bytes as a version of `plugin`.
    pub async fn upload(&self, plugin: &str, bytes: Vec<u8>) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(self.url(&format!("/admin/plugins/{plugin}/versions")))
            .bearer_auth(ADMIN_TOKEN)
            .query(&[("note", "e2e"), ("actor", "e2e-test")])
            .body(bytes)
            .send()
            .await
            .expect("upload");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(serde_json::json!({ "text": text }));
        (status, value)
    }

    /// The version of `plugin` this host serves with (`serving_here`).
    pub async fn serving(&self, plugin: &str) -> Option<String> {
        let (_, v) = self
            .admin(
                reqwest::Method::GET,
                &format!("/admin/plugins/{plugin}"),
                None,
            )
            .await;
        v["serving_here"].as_str().map(str::to_owned)
    }
}

/// The bytes of a built plugin.
pub fn plugin_bytes(file: &str) -> Vec<u8> {
    let path = plugin_path(file);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-plugins.sh", path.display()))
}

/// The same component with a custom section appended: behaves identically, but is a
/// different version (another sha256). How tests make "v2" of a plugin.
pub fn variant(mut bytes: Vec<u8>, tag: &str) -> Vec<u8> {
    let name = b"agenthost-test";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend_from_slice(tag.as_bytes());
    assert!(payload.len() < 128, "one-byte LEB128 size");
    bytes.push(0); // custom section id
    bytes.push(payload.len() as u8);
    bytes.extend_from_slice(&payload);
    bytes
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

impl Drop for Host {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Polls `check` until it returns Some or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let t = Instant::now();
    while t.elapsed() < timeout {
        if let Some(v) = check().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// A TCP forwarder in front of a real service (PostgreSQL, RabbitMQ): taking it down
/// cuts every connection and refuses new ones, an outage of that service as this host
/// sees it, without stopping the service other tests share.
pub struct Outage {
    pub port: u16,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    generation: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

impl Outage {
    pub async fn proxy(target: &'static str) -> Outage {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let generation = std::sync::Arc::new(tokio::sync::watch::channel(0u64).0);
        let (d, g) = (down.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    break;
                };
                if d.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut = g.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Outage {
            port,
            down,
            generation,
        }
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
        if down {
            self.generation.send_modify(|g| *g += 1);
        }
    }
}

/// A fake Discord bot API on loopback: records what is posted to
/// `/api/v10/channels/{id}/messages`; can answer 429 with `retry_after`, or be down.
#[derive(Clone)]
pub struct FakeDiscord {
    pub port: u16,
    state: std::sync::Arc<std::sync::Mutex<DiscordState>>,
}

#[derive(Default)]
struct DiscordState {
    messages: Vec<(String, String, Instant)>,
    rate_limited: Vec<Instant>,
    limit_next: u32,
    retry_after_secs: f64,
    down: bool,
    auth_seen: Vec<String>,
}

impl FakeDiscord {
    pub async fn start() -> FakeDiscord {
        use axum::extract::{Path, State};
        use axum::http::{HeaderMap, StatusCode};
        let state = std::sync::Arc::new(std::sync::Mutex::new(DiscordState::default()));
        async fn post(
            State(s): State<std::sync::Arc<std::sync::Mutex<DiscordState>>>,
            Path(channel): Path<String>,
            headers: HeaderMap,
            axum::Json(body): axum::Json<serde_json::Value>,
        ) -> (StatusCode, axum::Json<serde_json::Value>) {
            let mut s = s.lock().unwrap();
            s.auth_seen.push(
                headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned(),
            );
            if s.down {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(serde_json::json!({"message": "down"})),
                );
            }
            if s.limit_next > 0 {
                s.limit_next -= 1;
                s.rate_limited.push(Instant::now());
                let retry_after = s.retry_after_secs;
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    axum::Json(
                        serde_json::json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": false}),
                    ),
                );
            }
            let content = body["content"].as_str().unwrap_or_default().to_owned();
            s.messages.push((channel, content, Instant::now()));
            (StatusCode::OK, axum::Json(serde_json::json!({"id": "1"})))
        }
        let app = axum::Router::new()
            .route("/api/v10/channels/{id}/messages", axum::routing::post(post))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeDiscord { port, state }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// (channel id, content) of every message accepted so far.
    pub fn messages(&self) -> Vec<(String, String)> {
        self.state
            .lock()
            .unwrap()
            .messages
            .iter()
            .map(|(c, m, _)| (c.clone(), m.clone()))
            .collect()
    }

    /// When each message was accepted.
    pub fn accepted_at(&self) -> Vec<Instant> {
        self.state
            .lock()
            .unwrap()
            .messages
            .iter()
            .map(|(_, _, t)| *t)
            .collect()
    }

    pub fn rate_limited_at(&self) -> Vec<Instant> {
        self.state.lock().unwrap().rate_limited.clone()
    }

    pub fn auth_seen(&self) -> Vec<String> {
        self.state.lock().unwrap().auth_seen.clone()
    }

    pub fn rate_limit_next(&self, n: u32, retry_after_secs: f64) {
        let mut s = self.state.lock().unwrap();
        s.limit_next = n;
        s.retry_after_secs = retry_after_secs;
    }

    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }
}

/// A fake OpenAI-compatible chat completions server on loopback: records each request
/// body and answers with `answer` (usage: 20 prompt + 10 completion tokens).
#[derive(Clone)]
pub struct FakeLlm {
    pub port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl FakeLlm {
    pub async fn start(answer: &'static str) -> FakeLlm {
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let app = axum::Router::new().route(
            "/v1/chat/completions",
            axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let recorded = recorded.clone();
                async move {
                    recorded.lock().unwrap().push(body);
                    axum::Json(serde_json::json!({
                        "id": "chatcmpl-e2e",
                        "object": "chat.completion",
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": answer}}],
                        "usage": {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}
                    }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeLlm { port, requests }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<serde_json::Value> {
        self.requests.lock().unwrap().clone()
    }
}

/// Generates `embedded` and `postgres_rabbitmq` tests for each scenario `fn(Setup)`.
#[allow(unused_macros)]
macro_rules! on_both_setups {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() { super::$scenario(super::Setup::Embedded).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_rabbitmq() { super::$scenario(super::Setup::Distributed).await }
        }
    )*};
}
#[allow(unused_imports)]
pub(crate) use on_both_setups;
