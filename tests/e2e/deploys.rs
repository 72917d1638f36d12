//! Plugin deploys end to end: upload, activate, roll back (by hand and by itself),
//! canary, shadow, hot swap under load, the plugins folder, and two replicas converging.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

on_both_setups!(
    upload_activate_rollback_and_refused_uploads,
    a_version_that_traps_is_rolled_back_by_itself,
    a_swap_under_load_loses_and_fails_nothing,
    canary_splits_by_percentage_and_sticks_to_a_conversation,
    shadow_sends_nothing_and_reports_differences,
);

const WAIT: Duration = Duration::from_secs(30);

fn sid(n: usize) -> String {
    format!("SM{n:032}")
}

/// The version whose effects committed for an inbound SMS, once it is done.
async fn served_by(host: &Host, sid: &str) -> Option<String> {
    let (status, v) = host
        .admin(Method::GET, &format!("/admin/events/{sid}"), None)
        .await;
    (status == 200 && v["status"] == "done")
        .then(|| v["served_by_version"].as_str().map(str::to_owned))
        .flatten()
}

async fn wait_served_by(host: &Host, sid: &str) -> String {
    eventually(WAIT, || served_by(host, sid))
        .await
        .unwrap_or_else(|| panic!("event {sid} never done; log:\n{}", host.logs()))
}

async fn upload_activate_rollback_and_refused_uploads(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let host = world.start(&[]);
    host.ready().await;
    let v1 = sha256_hex(&plugin_bytes("echo"));
    assert_eq!(host.serving("echo").await.as_deref(), Some(v1.as_str()));

    // Upload v2; the same bytes again return the same version.
    let v2_bytes = variant(plugin_bytes("echo"), "v2");
    let v2 = sha256_hex(&v2_bytes);
    let (status, up) = host.upload("echo", v2_bytes.clone()).await;
    assert_eq!(status, 201, "{up}");
    assert_eq!(up["version"], v2.as_str());
    assert_eq!(up["wit_world"], "agenthost:plugin/plugin@0.1.0");
    assert_eq!(
        up["description"]["name"], "echo",
        "the self-description is stored"
    );
    let (status, again) = host.upload("echo", v2_bytes).await;
    assert_eq!((status, again["created"].clone()), (200, json!(false)));
    assert_eq!(again["version"], v2.as_str());

    // Refused uploads say what is wrong and change nothing.
    let refusals: [(&str, Vec<u8>, u16, &str); 4] = [
        (
            "not wasm",
            b"hello, not a component".to_vec(),
            400,
            "not a WebAssembly",
        ),
        (
            "core module",
            b"\0asm\x01\0\0\0".to_vec(),
            400,
            "core WebAssembly module, not a component",
        ),
        (
            "wrong world",
            b"\0asm\x0d\0\x01\0".to_vec(),
            422,
            "does not implement agenthost:plugin",
        ),
        (
            "traps in describe",
            plugin_bytes("test-describe-trap"),
            422,
            "describe() did not succeed",
        ),
    ];
    for (what, bytes, want, words) in refusals {
        let (status, body) = host.upload("echo", bytes).await;
        assert_eq!(status, want, "{what}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(words), "{what}: {error}");
    }
    let (status, body) = host
        .admin(Method::POST, "/admin/plugins/echo/versions", None)
        .await;
    assert_eq!(status, 400, "empty body: {body}");
    // Its own client: the host refuses before reading the body and closes the connection.
    let r = reqwest::Client::new()
        .post(host.url("/admin/plugins/echo/versions"))
        .bearer_auth(ADMIN_TOKEN)
        .body(vec![0u8; 51 * 1024 * 1024])
        .send()
        .await
        .expect("oversized upload answered");
    assert_eq!(r.status(), 413, "over the 50 MiB upload limit");
    let (_, detail) = host.admin(Method::GET, "/admin/plugins/echo", None).await;
    assert_eq!(detail["versions"].as_array().unwrap().len(), 2, "{detail}");
    assert_eq!(detail["active_version"], v1.as_str());

    // Activate by prefix → served by v2; roll back → served by v1.
    let (status, d) = host
        .admin(
            Method::POST,
            "/admin/plugins/echo/activate",
            Some(json!({ "version": &v2[..10], "reason": "try v2" })),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        (d["active_version"].as_str(), d["previous_version"].as_str()),
        (Some(v2.as_str()), Some(v1.as_str()))
    );
    host.post_sms(&sid(1), LEAD, AGENT_NUMBER, "to v2").await;
    assert_eq!(wait_served_by(&host, &sid(1)).await, v2);
    let (status, d) = host
        .admin(
            Method::POST,
            "/admin/plugins/echo/rollback",
            Some(json!({ "reason": "v2 answers wrong" })),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["active_version"], v1.as_str());
    host.post_sms(&sid(2), LEAD, AGENT_NUMBER, "to v1").await;
    assert_eq!(wait_served_by(&host, &sid(2)).await, v1);
    assert_eq!(world.twilio.wait_for(2, WAIT).await.len(), 2);

    // Errors of the operations themselves.
    let (status, body) = host
        .admin(
            Method::POST,
            "/admin/plugins/echo/activate",
            Some(json!({ "version": "ffffffffff" })),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = host
        .admin(Method::POST, "/admin/plugins/nope/rollback", None)
        .await;
    assert_eq!(status, 409);
    let r = reqwest::Client::new()
        .get(host.url("/admin/plugins"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the token is required");

    // The history: who, what, why, newest first.
    let (_, detail) = host.admin(Method::GET, "/admin/plugins/echo", None).await;
    let history: Vec<(String, String, String)> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap_or_default().to_owned(),
                h["actor"].as_str().unwrap_or_default().to_owned(),
                h["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        history[0],
        (
            "rollback".into(),
            // The token's name (AGENTHOST_ADMIN_TOKEN is `admin`).
            "admin".into(),
            "v2 answers wrong".into()
        )
    );
    assert_eq!(
        history[1],
        ("activate".into(), "admin".into(), "try v2".into())
    );
    assert_eq!(history[2].0, "upload");
    assert_eq!(history[2].1, "admin (e2e-test)", "the token, for whom");
    assert!(
        history
            .iter()
            .any(|h| h.0 == "activate" && h.1 == "plugin-dir")
    );

    // The CLI speaks to the running host the same way.
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_agenthost"))
            .args(args)
            .env_clear()
            .env("AGENTHOST_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("AGENTHOST_ADMIN_URL", host.admin_url(""))
            .output()
            .expect("running the CLI")
    };
    let v3_file = world.data.path().join("echo-v3.wasm");
    std::fs::write(&v3_file, variant(plugin_bytes("echo"), "v3")).unwrap();
    let out = cli(&[
        "plugin",
        "upload",
        v3_file.to_str().unwrap(),
        "--name",
        "echo",
        "--note",
        "from the cli",
        "--activate",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v3 = sha256_hex(&std::fs::read(&v3_file).unwrap());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&v3));
    assert_eq!(host.serving("echo").await.as_deref(), Some(v3.as_str()));
    let out = cli(&["plugin", "rollback", "echo", "--reason", "cli rollback"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(host.serving("echo").await.as_deref(), Some(v1.as_str()));
    let out = cli(&["plugin", "show", "echo"]);
    let shown: Value = serde_json::from_slice(&out.stdout).expect("show prints JSON");
    assert_eq!(shown["history"][0]["reason"], "cli rollback");
    assert!(
        shown["history"][0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("admin (cli:")
    );
    let out = cli(&["plugin", "activate", "echo", "zzzzzzzz"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("404"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn a_version_that_traps_is_rolled_back_by_itself(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let host = world.start(&[("AGENTHOST_AUTO_ROLLBACK", "min=3,rate=0.5")]);
    host.ready().await;
    let v1 = sha256_hex(&plugin_bytes("echo"));
    let (status, up) = host.upload("echo", plugin_bytes("test-trap")).await;
    assert_eq!(status, 201, "{up}");
    let bad = up["version"].as_str().unwrap().to_owned();
    let (status, _) = host
        .admin(
            Method::POST,
            "/admin/plugins/echo/activate",
            Some(json!({ "version": bad })),
        )
        .await;
    assert_eq!(status, 200);
    for n in 0..4 {
        host.post_sms(&sid(100 + n), LEAD, AGENT_NUMBER, &format!("m{n}"))
            .await;
    }
    // Rolled back by itself, with the evidence in the history and one alert.
    let rolled = eventually(WAIT, || async {
        let (_, d) = host.admin(Method::GET, "/admin/plugins/echo", None).await;
        (d["active_version"] == v1.as_str()).then_some(d)
    })
    .await
    .unwrap_or_else(|| panic!("no automatic rollback; log:\n{}", host.logs()));
    let auto = &rolled["history"][0];
    assert_eq!(auto["action"], "auto_rollback", "{rolled}");
    assert_eq!(auto["from_version"], bad.as_str());
    assert_eq!(auto["to_version"], v1.as_str());
    assert!(auto["details"]["failures"].as_u64().unwrap() >= 3, "{auto}");
    assert_eq!(
        auto["details"]["outcomes"]["trap"],
        auto["details"]["failures"]
    );
    // The events the bad version failed are served by the restored one.
    for n in 0..4 {
        assert_eq!(wait_served_by(&host, &sid(100 + n)).await, v1, "event {n}");
    }
    let sent = world.twilio.wait_for(4, WAIT).await;
    let mut bodies: Vec<_> = sent.iter().map(|s| s.body.clone()).collect();
    bodies.sort();
    assert_eq!(bodies, ["echo: m0", "echo: m1", "echo: m2", "echo: m3"]);
    let storage = world.storage().await;
    let alerts = storage.alerts().recent(100).await.unwrap();
    let rollbacks: Vec<_> = alerts
        .iter()
        .filter(|a| a.kind == "auto_rollback")
        .collect();
    assert_eq!(rollbacks.len(), 1, "{alerts:?}");
    assert!(rollbacks[0].message.contains(&bad[..12]) && rollbacks[0].message.contains(&v1[..12]));
}

async fn a_swap_under_load_loses_and_fails_nothing(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let host = world.start(&[]);
    host.ready().await;
    let v1 = sha256_hex(&plugin_bytes("echo"));
    let (_, up) = host
        .upload("echo", variant(plugin_bytes("echo"), "v2"))
        .await;
    let v2 = up["version"].as_str().unwrap().to_owned();
    const N: usize = 60;
    let poster = async {
        for n in 0..N {
            let (status, _) = host
                .post_sms(
                    &sid(200 + n),
                    &format!("+1555100{n:04}"),
                    AGENT_NUMBER,
                    &format!("load {n}"),
                )
                .await;
            assert_eq!(status, 200);
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    };
    let swapper = async {
        for i in 0..6 {
            tokio::time::sleep(Duration::from_millis(120)).await;
            let v = if i % 2 == 0 { &v2 } else { &v1 };
            let (status, body) = host
                .admin(
                    Method::POST,
                    "/admin/plugins/echo/activate",
                    Some(json!({ "version": v })),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
    };
    tokio::join!(poster, swapper);
    let sent = world.twilio.wait_for(N, WAIT).await;
    assert_eq!(sent.len(), N, "log:\n{}", host.logs());
    let bodies: HashSet<_> = sent.iter().map(|s| s.body.clone()).collect();
    assert_eq!(bodies.len(), N, "one reply per event, none twice");
    let mut by_version: BTreeMap<String, usize> = BTreeMap::new();
    for n in 0..N {
        *by_version
            .entry(wait_served_by(&host, &sid(200 + n)).await)
            .or_default() += 1;
    }
    assert_eq!(by_version.len(), 2, "both versions served: {by_version:?}");
    let storage = world.storage().await;
    assert!(storage.events().dead_letters(100).await.unwrap().is_empty());
}

async fn canary_splits_by_percentage_and_sticks_to_a_conversation(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let host = world.start(&[]);
    host.ready().await;
    let (_, up) = host
        .upload("echo", variant(plugin_bytes("echo"), "canary"))
        .await;
    let candidate = up["version"].as_str().unwrap().to_owned();
    let (status, d) = host
        .admin(
            Method::PUT,
            "/admin/plugins/echo/rollout",
            Some(json!({ "mode": "canary", "candidate": candidate, "percent": 30 })),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["rollout"]["percent"], 30);
    const LEADS: usize = 120;
    for round in 0..2 {
        for n in 0..LEADS {
            host.post_sms(
                &sid(1000 * (round + 1) + n),
                &format!("+1555200{n:04}"),
                AGENT_NUMBER,
                "hi",
            )
            .await;
        }
    }
    let mut on_candidate = 0;
    for n in 0..LEADS {
        let first = wait_served_by(&host, &sid(1000 + n)).await;
        let second = wait_served_by(&host, &sid(2000 + n)).await;
        assert_eq!(first, second, "lead {n} talked to two versions");
        on_candidate += usize::from(first == candidate);
    }
    // 30% of 120 = 36; a stable hash of 120 numbers stays well within ±15.
    assert!(
        (21..=51).contains(&on_candidate),
        "{on_candidate} of {LEADS} on the canary"
    );
    // Promote: everyone on the candidate; abort without a rollout is a conflict.
    let (status, d) = host
        .admin(
            Method::PUT,
            "/admin/plugins/echo/rollout",
            Some(json!({ "mode": "promote" })),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["active_version"], candidate.as_str());
    assert_eq!(d["rollout"]["mode"], "none");
    let (status, _) = host
        .admin(
            Method::PUT,
            "/admin/plugins/echo/rollout",
            Some(json!({ "mode": "abort" })),
        )
        .await;
    assert_eq!(status, 409);
    let (status, body) = host
        .admin(
            Method::PUT,
            "/admin/plugins/echo/rollout",
            Some(json!({ "mode": "canary", "candidate": candidate, "percent": 0 })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

async fn shadow_sends_nothing_and_reports_differences(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let host = world.start(&[]);
    host.ready().await;
    let v1 = sha256_hex(&plugin_bytes("echo"));
    // A candidate that behaves the same, then one that traps.
    let (_, same) = host
        .upload("echo", variant(plugin_bytes("echo"), "same"))
        .await;
    let same = same["version"].as_str().unwrap().to_owned();
    let (_, trap) = host.upload("echo", plugin_bytes("test-trap")).await;
    let trap = trap["version"].as_str().unwrap().to_owned();
    for (round, candidate) in [(0usize, &same), (1, &trap)] {
        let (status, d) = host
            .admin(
                Method::PUT,
                "/admin/plugins/echo/rollout",
                Some(json!({ "mode": "shadow", "candidate": candidate })),
            )
            .await;
        assert_eq!(status, 200, "{d}");
        for n in 0..3 {
            host.post_sms(
                &sid(3000 + round * 10 + n),
                LEAD,
                AGENT_NUMBER,
                &format!("s{round}{n}"),
            )
            .await;
        }
        for n in 0..3 {
            assert_eq!(wait_served_by(&host, &sid(3000 + round * 10 + n)).await, v1);
        }
    }
    // Only the active version's replies went out.
    let sent = world.twilio.wait_for(6, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(world.twilio.requests().len(), 6);
    assert!(sent.iter().all(|s| s.body.starts_with("echo: s")));
    // Differences: none for the identical candidate, every event for the trapping one.
    let runs = eventually(WAIT, || async {
        let (_, v) = host
            .admin(
                Method::GET,
                "/admin/plugins/echo/shadow?differences=false",
                None,
            )
            .await;
        let runs = v["runs"].as_array().cloned().unwrap_or_default();
        (runs.len() == 6).then_some(runs)
    })
    .await
    .unwrap_or_else(|| panic!("shadow runs not recorded; log:\n{}", host.logs()));
    for r in &runs {
        let candidate = r["candidate"]["version"].as_str().unwrap();
        assert_eq!(r["active"]["outcome"], "ok");
        if candidate == same {
            assert_eq!(r["differs"], false, "{r}");
            assert_eq!(r["candidate"]["effects"], r["active"]["effects"]);
        } else {
            assert_eq!(candidate, trap);
            assert_eq!(r["differs"], true, "{r}");
            assert_eq!(r["candidate"]["outcome"], "trap");
            assert!(
                r["active"]["effects"]["sms"][0]["body"]
                    .as_str()
                    .unwrap()
                    .starts_with("echo: s1")
            );
        }
    }
    let (_, diffs) = host
        .admin(Method::GET, "/admin/plugins/echo/shadow", None)
        .await;
    assert_eq!(
        diffs["runs"].as_array().unwrap().len(),
        3,
        "only differences by default"
    );
    // The trapping candidate's failures stay in the shadow: nothing retried or dead-lettered.
    let storage = world.storage().await;
    assert!(storage.events().dead_letters(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_converge_within_a_second() {
    let world = World::new(Setup::Distributed, &[("echo", "echo")]).await;
    let a = world.start(&[]);
    a.ready().await;
    let b = world.start(&[]);
    b.ready().await;
    let v1 = sha256_hex(&plugin_bytes("echo"));
    assert_eq!(b.serving("echo").await.as_deref(), Some(v1.as_str()));
    let (_, up) = a.upload("echo", variant(plugin_bytes("echo"), "v2")).await;
    let v2 = up["version"].as_str().unwrap().to_owned();
    for (target, other) in [(&v2, &v1), (&v1, &v2)] {
        let started = Instant::now();
        let (status, _) = a
            .admin(
                Method::POST,
                "/admin/plugins/echo/activate",
                Some(json!({ "version": target })),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            a.serving("echo").await.as_deref(),
            Some(target.as_str()),
            "the activating replica swaps before answering"
        );
        let converged = eventually(Duration::from_secs(1), || async {
            (b.serving("echo").await.as_deref() == Some(target.as_str())).then_some(())
        })
        .await;
        assert!(
            converged.is_some(),
            "replica b still serves {other} after {:?}; log:\n{}",
            started.elapsed(),
            b.logs()
        );
    }
    // A replica that starts later serves what is active (v1 was re-activated; the
    // folder holds v1 too, so use v2 to tell them apart).
    a.admin(
        Method::POST,
        "/admin/plugins/echo/activate",
        Some(json!({ "version": v2 })),
    )
    .await;
    let c = world.start(&[]);
    c.ready().await;
    assert_eq!(c.serving("echo").await.as_deref(), Some(v2.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugins_folder_swaps_live_and_refuses_broken_files() {
    let world = World::new(Setup::Embedded, &[("echo", "echo")]).await;
    let host = world.start(&[]);
    host.ready().await;
    let file = world.plugins.path().join("echo.wasm");
    let v2_bytes = variant(plugin_bytes("echo"), "rebuilt");
    let v2 = sha256_hex(&v2_bytes);
    std::fs::write(&file, &v2_bytes).unwrap();
    let swapped = eventually(Duration::from_secs(10), || async {
        (host.serving("echo").await.as_deref() == Some(v2.as_str())).then_some(())
    })
    .await;
    assert!(
        swapped.is_some(),
        "rebuilt file not activated; log:\n{}",
        host.logs()
    );
    // A broken file: refused with an alert, v2 keeps serving.
    std::fs::write(&file, b"\0asm garbage").unwrap();
    let storage = world.storage().await;
    let alerted = eventually(Duration::from_secs(10), || async {
        storage
            .alerts()
            .recent(50)
            .await
            .ok()?
            .into_iter()
            .find(|a| a.kind == "plugin_upload_rejected")
    })
    .await
    .unwrap_or_else(|| panic!("no alert for the broken file; log:\n{}", host.logs()));
    assert!(alerted.message.contains("echo.wasm"), "{}", alerted.message);
    assert_eq!(host.serving("echo").await.as_deref(), Some(v2.as_str()));
    host.post_sms(&sid(4000), LEAD, AGENT_NUMBER, "still here")
        .await;
    assert_eq!(wait_served_by(&host, &sid(4000)).await, v2);
    // A new plugin dropped into the folder starts serving (its lane starts too).
    std::fs::copy(plugin_path("echo"), world.plugins.path().join("echo2.wasm")).unwrap();
    let (status, _) = host
        .admin(
            Method::PUT,
            "/admin/routes/+15550003333",
            Some(json!({ "plugin": "echo2" })),
        )
        .await;
    assert_eq!(status, 200);
    eventually(Duration::from_secs(10), || async {
        host.serving("echo2").await
    })
    .await
    .expect("echo2 activated from the folder");
    host.post_sms(&sid(4001), LEAD, "+15550003333", "new lane")
        .await;
    wait_served_by(&host, &sid(4001)).await;
}
