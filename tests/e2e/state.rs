//! The deployment record and the post-deploy verification against a real host: the
//! `scripts/verify-deploy.sh` the pipeline runs after a deploy, and `agenthost state`
//! (from the running host and straight from the database) after an upload, an
//! activation, an automatic rollback and a dead letter.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

const DRY_RUN_SENDER: &str = "+15550009999";
const LANDLORD: &str = "+15550003001";
const WAIT: Duration = Duration::from_secs(30);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn verify(host: &Host, to: &str, from: &str) -> (bool, String) {
    let out = Command::new(repo().join("scripts/verify-deploy.sh"))
        .args([
            "--base-url",
            &host.public_url(""),
            "--admin-url",
            &host.admin_url(""),
            "--public-url",
            "https://sms.example.test:8443/hooks",
            "--timeout",
            "20",
        ])
        .env("TWILIO_AUTH_TOKEN", agenthost_twilio::fake::FAKE_AUTH_TOKEN)
        .env("AGENTHOST_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("VERIFY_TO", to)
        .env("VERIFY_FROM", from)
        .output()
        .expect("running scripts/verify-deploy.sh");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verification_script_passes_against_a_local_host_and_sends_nothing() {
    let world = World::new(Setup::Embedded, &[("landlord-rep", "landlord-rep")]).await;
    std::fs::copy(
        repo().join("config/plugins/landlord-rep.json"),
        world.plugins.path().join("landlord-rep.json"),
    )
    .unwrap();
    let routes = format!("{LANDLORD}=landlord-rep");
    let host = world.start(&[
        ("AGENTHOST_ROUTES", routes.as_str()),
        ("AGENTHOST_DRY_RUN_NUMBERS", DRY_RUN_SENDER),
    ]);
    host.ready().await;
    // Lanes count as consumed once the workers' first heartbeat is in.
    let (ok, out) = verify(&host, LANDLORD, DRY_RUN_SENDER);
    assert!(ok, "{out}\nhost log:\n{}", host.logs());
    for check in [
        "ok admin healthz",
        "ok admin readyz",
        "ok webhook",
        "ok event",
        "ok state",
    ] {
        assert!(out.contains(check), "{check} missing from\n{out}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        world.twilio.requests().is_empty(),
        "a dry-run sender's reply is never sent"
    );
    // From a real sender the reply is sent, so the check must fail: it proves the path
    // without texting anyone.
    let (ok, out) = verify(&host, LANDLORD, LEAD);
    assert!(!ok, "{out}");
    assert!(out.contains("FAIL event"), "{out}");
    // A number nobody serves fails too.
    let (ok, out) = verify(&host, "+15550004444", DRY_RUN_SENDER);
    assert!(!ok, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_records_upload_activation_automatic_rollback_and_dead_letter() {
    let world = World::new(Setup::Embedded, &[("echo", "echo"), ("test-trap", "trap")]).await;
    let mut host = world.start(&[
        ("AGENTHOST_AUTO_ROLLBACK", "min=2,rate=0.5"),
        ("AGENTHOST_PLUGIN_LIMITS", "trap:attempts=1"),
    ]);
    host.ready().await;
    // A dead letter.
    host.post_sms(
        "SM00000000000000000000000000000501",
        LEAD,
        TRAP_NUMBER,
        "dies",
    )
    .await;
    // An upload, an activation with a reason, and the automatic rollback it earns.
    let (_, up) = host.upload("echo", plugin_bytes("test-trap")).await;
    let bad = up["version"].as_str().unwrap().to_owned();
    let (status, _) = host
        .admin(
            Method::POST,
            "/admin/plugins/echo/activate",
            Some(json!({ "version": bad, "reason": "ship the new greeting" })),
        )
        .await;
    assert_eq!(status, 200);
    for n in 0..3 {
        host.post_sms(&format!("SM{:032}", 600 + n), LEAD, AGENT_NUMBER, "hi")
            .await;
    }
    let v1 = sha256_hex(&plugin_bytes("echo"));
    eventually(WAIT, || async {
        (host.serving("echo").await.as_deref() == Some(v1.as_str())).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("no automatic rollback; log:\n{}", host.logs()));

    let admin_url = host.admin_url("");
    let cli = |args: &[&str], extra: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_agenthost"));
        c.args(args)
            .env_clear()
            .env("AGENTHOST_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("AGENTHOST_ADMIN_URL", &admin_url)
            .env("AGENTHOST_DATA_DIR", world.data.path());
        for (k, v) in extra {
            c.env(k, v);
        }
        let out = c.output().expect("running agenthost state");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let check = |md: &str| {
        for needle in [
            "# Deployment state",
            "## Plugins",
            "| echo | `",
            "| upload | `—` | `",
            "| activate | `",
            "ship the new greeting",
            "| auto_rollback | `",
            "agenthost (automatic rollback)",
            "of 2 invocations failed",
            "## Dead letters",
            "`sms:SM00000000000000000000000000000501` of trap",
            "`auto_rollback`",
        ] {
            assert!(md.contains(needle), "missing {needle:?} in\n{md}");
        }
    };
    let live = cli(&["state"], &[]);
    check(&live);
    assert!(live.contains(&format!("`{}`", &v1[..12])), "{live}");
    let (_, json_state) = host.admin(Method::GET, "/admin/state", None).await;
    assert!(
        json_state["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("# Deployment state")
    );
    // With every replica down, the record is still there, straight from the database.
    host.kill9();
    let direct = cli(&["state", "--direct"], &[]);
    check(&direct);
}
