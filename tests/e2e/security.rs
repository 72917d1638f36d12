//! What a security review checks, through the real binary: the public listener serves
//! Twilio and liveness only; named admin tokens with scopes, every call audited with who,
//! from where and what came of it; only versions signed by a trusted key accepted when
//! the operator requires it (API, CLI and the plugins folder alike).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::harness::*;

const WAIT: Duration = Duration::from_secs(30);
const CI_TOKEN: &str = "ci-token-0123456789abcdef";
const GRAFANA_TOKEN: &str = "grafana-token-0123456789abcdef";

fn sid(n: usize) -> String {
    format!("SM{:032}", 900_000 + n)
}

async fn call(
    method: Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let http = reqwest::Client::new();
    let mut r = http.request(method, url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::json!({ "text": text })),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_port_serves_twilio_and_liveness_only() {
    let world = World::new(Setup::Embedded, &[("echo", "echo")]).await;
    let host = world.start(&[]);
    host.ready().await;

    for path in [
        "/admin/plugins",
        "/admin/openapi.json",
        "/admin/audit",
        "/metrics",
        "/readyz",
    ] {
        let (status, _) = call(Method::GET, host.public_url(path), Some(ADMIN_TOKEN), None).await;
        assert_eq!(status, 404, "public {path}");
    }
    let (status, _) = call(Method::GET, host.public_url("/healthz"), None, None).await;
    assert_eq!(status, 200, "the load balancer's health check");
    let (status, _) = host.post_sms(&sid(1), LEAD, AGENT_NUMBER, "hi").await;
    assert_eq!(status, 200);

    // The admin listener serves the rest, and no webhook.
    for path in ["/metrics", "/readyz", "/healthz"] {
        let (status, _) = call(Method::GET, host.admin_url(path), None, None).await;
        assert_eq!(status, 200, "admin {path}");
    }
    let (status, _) = call(
        Method::GET,
        host.admin_url("/admin/plugins"),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(Method::POST, host.admin_url("/twilio/sms"), None, None).await;
    assert_eq!(status, 404, "no webhook on the admin listener");
    assert_answered(&world, &host, "echo: hi").await;
}

on_both_setups!(scoped_tokens_and_the_audit_log);

async fn scoped_tokens_and_the_audit_log(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let tokens = format!("ci:deploy:{CI_TOKEN};grafana:read:{GRAFANA_TOKEN}");
    let host = world.start(&[("AGENTHOST_ADMIN_TOKENS", &tokens)]);
    host.ready().await;
    let url = |p: &str| host.admin_url(p);

    // Read-only: reads, cannot activate, cannot read the audit log.
    let (status, _) = call(
        Method::GET,
        url("/admin/plugins"),
        Some(GRAFANA_TOKEN),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(
        Method::POST,
        url("/admin/plugins/echo/activate"),
        Some(GRAFANA_TOKEN),
        Some(serde_json::json!({ "version": "00" })),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let why = body["error"].as_str().unwrap_or_default();
    assert!(
        why.contains("\"grafana\"") && why.contains("scope read") && why.contains("needs deploy"),
        "{why}"
    );
    let (status, _) = call(Method::GET, url("/admin/audit"), Some(GRAFANA_TOKEN), None).await;
    assert_eq!(status, 403);

    // Deploy: uploads and activates, recorded under its name; cannot change routes.
    let bytes = variant(plugin_bytes("echo"), "by-ci");
    let r = reqwest::Client::new()
        .post(url("/admin/plugins/echo/versions"))
        .bearer_auth(CI_TOKEN)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let up: Value = r.json().await.unwrap();
    assert_eq!(up["uploaded_by"], "ci");
    let version = up["version"].as_str().unwrap().to_owned();
    let (status, body) = call(
        Method::POST,
        url("/admin/plugins/echo/activate"),
        Some(CI_TOKEN),
        Some(serde_json::json!({ "version": version, "actor": "alice" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(
        Method::PUT,
        url("/admin/routes/+15550009876"),
        Some(CI_TOKEN),
        Some(serde_json::json!({ "plugin": "echo" })),
    )
    .await;
    assert_eq!(status, 403);

    // No token, a wrong one: 401, audited without an actor.
    let (status, _) = call(Method::GET, url("/admin/plugins"), None, None).await;
    assert_eq!(status, 401);
    let (status, _) = call(
        Method::GET,
        url("/admin/plugins"),
        Some("guess-guess-guess-guess"),
        None,
    )
    .await;
    assert_eq!(status, 401);

    // The history names the token (and whom a shared token acted for).
    let (_, show) = host.admin(Method::GET, "/admin/plugins/echo", None).await;
    let activation = show["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["action"] == "activate" && h["to_version"] == version.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{show}"));
    assert_eq!(activation["actor"], "ci (alice)");

    // The audit log, newest first, for the admin token only.
    let (status, audit) = host.admin(Method::GET, "/admin/audit?limit=50", None).await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["entries"].as_array().unwrap();
    let seen: Vec<(Option<&str>, &str, &str, i64, &str)> = entries
        .iter()
        .rev()
        .map(|e| {
            (
                e["actor"].as_str(),
                e["method"].as_str().unwrap(),
                e["path"].as_str().unwrap(),
                e["status"].as_i64().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .filter(|(actor, ..)| *actor != Some("admin"))
        .collect();
    assert_eq!(
        seen,
        [
            (Some("grafana"), "GET", "/admin/plugins", 200, "ok"),
            (
                Some("grafana"),
                "POST",
                "/admin/plugins/echo/activate",
                403,
                "refused"
            ),
            (Some("grafana"), "GET", "/admin/audit", 403, "refused"),
            (
                Some("ci"),
                "POST",
                "/admin/plugins/echo/versions",
                201,
                "ok"
            ),
            (
                Some("ci"),
                "POST",
                "/admin/plugins/echo/activate",
                200,
                "ok"
            ),
            (
                Some("ci"),
                "PUT",
                "/admin/routes/+15550009876",
                403,
                "refused"
            ),
            (None, "GET", "/admin/plugins", 401, "unauthorized"),
            (None, "GET", "/admin/plugins", 401, "unauthorized"),
        ]
    );
    for e in entries {
        let source = e["source"].as_str().unwrap_or_default();
        assert!(source.starts_with("127.0.0.1:"), "{e}");
        assert!(e["at_ms"].as_i64().unwrap() > 0);
    }
    assert!(
        !audit.to_string().contains(CI_TOKEN),
        "no secret in the audit log"
    );
    let (_, only_ci) = host.admin(Method::GET, "/admin/audit?actor=ci", None).await;
    assert_eq!(only_ci["entries"].as_array().unwrap().len(), 3, "{only_ci}");
    assert!(!host.logs().contains(CI_TOKEN), "no secret in the log");
}

/// Waits for the fake Twilio to receive `body`; fails with the host's log.
async fn assert_answered(world: &World, host: &Host, body: &str) {
    let answered = eventually(WAIT, || async {
        world
            .twilio
            .requests()
            .iter()
            .any(|m| m.body == body)
            .then_some(())
    })
    .await;
    assert!(answered.is_some(), "no {body:?}; log:\n{}", host.logs());
}

/// Runs the binary's CLI with `env`; (exit code, stdout, stderr).
fn cli(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_agenthost"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("running agenthost");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `agenthost plugin keygen <id>`: the key file and the trusted-keys entry.
fn keygen(dir: &Path, id: &str) -> (std::path::PathBuf, String) {
    let key = dir.join(format!("{id}.key"));
    let (code, out, err) = cli(
        &["plugin", "keygen", id, "--out", key.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let entry = out
        .trim()
        .strip_prefix("AGENTHOST_PLUGIN_TRUSTED_KEYS=")
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the secret key is the owner's only");
    }
    // Never overwritten.
    let (code, _, err) = cli(
        &["plugin", "keygen", id, "--out", key.to_str().unwrap()],
        &[],
    );
    assert_ne!(code, 0);
    assert!(err.contains("must not exist"), "{err}");
    (key, entry)
}

fn sign(file: &Path, key: &Path, name: Option<&str>) {
    let mut args = vec![
        "plugin",
        "sign",
        file.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ];
    if let Some(n) = name {
        args.extend(["--name", n]);
    }
    let (code, _, err) = cli(&args, &[]);
    assert_eq!(code, 0, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_versions_signed_by_a_trusted_key_are_accepted_when_required() {
    let world = World::new(Setup::Embedded, &[("echo", "echo"), ("test-trap", "trap")]).await;
    let keys = tempfile::tempdir().unwrap();
    let (release, release_entry) = keygen(keys.path(), "release");
    let (stranger, _) = keygen(keys.path(), "stranger");
    // The folder: echo signed, trap not.
    sign(&world.plugins.path().join("echo.wasm"), &release, None);
    let host = world.start(&[
        ("AGENTHOST_PLUGIN_TRUSTED_KEYS", &release_entry),
        ("AGENTHOST_REQUIRE_SIGNED_PLUGINS", "true"),
    ]);
    host.ready().await;
    let storage = world.storage().await;

    let (status, _) = host.post_sms(&sid(1), LEAD, AGENT_NUMBER, "signed").await;
    assert_eq!(status, 200);
    assert_answered(&world, &host, "echo: signed").await;
    let active = storage
        .deploys()
        .deployment("echo")
        .await
        .unwrap()
        .and_then(|d| d.active_version)
        .expect("echo active");
    let meta = storage
        .deploys()
        .plugin_version_meta("echo", &active)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta.signed_by.as_deref(), Some("release"));
    assert!(
        storage
            .deploys()
            .deployment("trap")
            .await
            .unwrap()
            .is_none(),
        "the unsigned file was not imported"
    );
    let alerts = storage.alerts().recent(100).await.unwrap();
    assert!(
        alerts.iter().any(|a| a.kind == "plugin_load_failed"
            && a.message.contains("trap.wasm")
            && a.message.contains("must be signed")),
        "{alerts:?}"
    );

    // The API: unsigned, signed by a stranger, signed for another plugin → 403, alerted.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("echo.wasm");
    std::fs::write(&file, variant(plugin_bytes("echo"), "v2")).unwrap();
    let upload = |signature: Option<String>| {
        let bytes = std::fs::read(&file).unwrap();
        let url = host.admin_url("/admin/plugins/echo/versions");
        async move {
            let mut r = reqwest::Client::new()
                .post(url)
                .bearer_auth(ADMIN_TOKEN)
                .body(bytes);
            if let Some(s) = signature {
                r = r.header("x-agenthost-signature", s);
            }
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = upload(None).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("must be signed"),
        "{body}"
    );

    sign(&file, &stranger, None);
    let by_stranger = std::fs::read_to_string(dir.path().join("echo.wasm.sig")).unwrap();
    let (status, body) = upload(Some(by_stranger.trim().to_owned())).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not one of the trusted keys"),
        "{body}"
    );

    sign(&file, &release, Some("locator"));
    let for_locator = std::fs::read_to_string(dir.path().join("echo.wasm.sig")).unwrap();
    let (status, body) = upload(Some(for_locator.trim().to_owned())).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("does not verify"),
        "{body}"
    );
    let refused = storage
        .alerts()
        .recent(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.kind == "plugin_signature_refused")
        .count();
    assert_eq!(refused, 3, "one alert per refused upload");

    // The operator's flow: sign, upload with the CLI (it sends <file>.sig), activate.
    sign(&file, &release, None);
    let admin = host.admin_url("");
    let (code, out, err) = cli(
        &["plugin", "upload", file.to_str().unwrap(), "--activate"],
        &[
            ("AGENTHOST_ADMIN_URL", &admin),
            ("AGENTHOST_ADMIN_TOKEN", ADMIN_TOKEN),
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("\"signed_by\": \"release\""), "{out}");
    let (_, show) = host.admin(Method::GET, "/admin/plugins/echo", None).await;
    let upload_entry = show["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| {
            h["action"] == "upload"
                && h["details"]["signed_by"] == "release"
                && h["to_version"] != active.as_str()
        })
        .cloned();
    assert!(
        upload_entry.is_some(),
        "the signer is in the history: {show}"
    );
    let (status, _) = host.post_sms(&sid(2), LEAD, AGENT_NUMBER, "v2").await;
    assert_eq!(status, 200);
    assert_answered(&world, &host, "echo: v2").await;
}
