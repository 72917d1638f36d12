//! The operator's console end to end: human takeover (held on every replica, staff replies
//! through the outbox under the same consent rules, release), a plugin's handoff request,
//! dead letters listed, requeued and discarded with history, the live summary, the page
//! itself, the local SMS sink and `agenthost chat` — and the page driven in headless
//! Chromium (`tests/browser/console.mjs`) on a phone and a laptop viewport.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

on_both_setups!(
    takeover_holds_staff_replies_and_release_resumes,
    dead_letters_are_listed_requeued_and_discarded_with_history,
);

const WAIT: Duration = Duration::from_secs(30);
const LANDLORD: &str = "+15550004001";

fn sid(tag: &str, n: usize) -> String {
    format!("SM{tag}{n:0width$}", width = 32 - tag.len())
}

/// A conversation id as a path segment.
fn path_id(agent: &str, lead: &str) -> String {
    format!("{agent}|{lead}")
        .replace('+', "%2B")
        .replace('|', "%7C")
}

async fn thread(host: &Host, agent: &str, lead: &str) -> Value {
    let (status, v) = host
        .admin(
            Method::GET,
            &format!("/admin/conversations/{}", path_id(agent, lead)),
            None,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

/// The outcome the thread shows for the lead's text `body`.
async fn outcome_of(host: &Host, agent: &str, lead: &str, body: &str) -> Option<String> {
    let t = thread(host, agent, lead).await;
    t["messages"]
        .as_array()?
        .iter()
        .find(|m| m["direction"] == "inbound" && m["body"] == body)
        .and_then(|m| m["outcome"].as_str().map(str::to_owned))
}

async fn wait_outcome(host: &Host, agent: &str, lead: &str, body: &str, want: &str) {
    eventually(WAIT, || async {
        (outcome_of(host, agent, lead, body).await.as_deref() == Some(want)).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("{body:?} never became {want}; log:\n{}", host.logs()));
}

fn sent_to(world: &World, to: &str) -> Vec<String> {
    world
        .twilio
        .requests()
        .into_iter()
        .filter(|s| s.to == to)
        .map(|s| s.body)
        .collect()
}

async fn takeover_holds_staff_replies_and_release_resumes(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let host = world.start(&[]);
    host.ready().await;
    let id = path_id(AGENT_NUMBER, LEAD);
    host.post_sms(&sid("TK", 1), LEAD, AGENT_NUMBER, "first")
        .await;
    world.twilio.wait_for(1, WAIT).await;
    assert_eq!(sent_to(&world, LEAD), ["echo: first"]);

    // Take over: the agent is paused for this lead.
    let (status, t) = host
        .admin(
            Method::POST,
            &format!("/admin/conversations/{id}/takeover"),
            Some(json!({ "reason": "tour question" })),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["takeover"]["by"], "admin");
    assert_eq!(t["takeover"]["until_ms"], Value::Null);
    host.post_sms(&sid("TK", 2), LEAD, AGENT_NUMBER, "are you there?")
        .await;
    wait_outcome(
        &host,
        AGENT_NUMBER,
        LEAD,
        "are you there?",
        "held_for_staff",
    )
    .await;
    // The list shows the takeover, and nothing of the plugin went out.
    let (_, list) = host
        .admin(Method::GET, "/admin/conversations?q=7654321", None)
        .await;
    assert_eq!(
        list["conversations"][0]["takeover"]["by"], "admin",
        "{list}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sent_to(&world, LEAD), ["echo: first"]);

    // A staff reply goes through the outbox once, whatever the retries.
    for _ in 0..2 {
        let (status, r) = host
            .admin(
                Method::POST,
                &format!("/admin/conversations/{id}/reply"),
                Some(json!({ "body": "Hi, Sam from the office here.", "idempotency_key": "k-1" })),
            )
            .await;
        assert_eq!(status, 202, "{r}");
    }
    let sent = world.twilio.wait_for(2, WAIT).await;
    assert_eq!(sent[1].body, "Hi, Sam from the office here.");
    assert_eq!(sent[1].from.as_deref(), Some(AGENT_NUMBER));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sent_to(&world, LEAD).len(),
        2,
        "one text per idempotency key"
    );
    let t = thread(&host, AGENT_NUMBER, LEAD).await;
    let staff: Vec<&Value> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"] == "staff")
        .collect();
    assert_eq!(staff.len(), 1, "{t}");
    assert_eq!(staff[0]["staff"], "admin");
    // The agent's reply carries the version that handled the lead's text and its effects.
    let first = &t["messages"][0];
    assert_eq!(first["outcome"], "done");
    assert_eq!(first["version"], sha256_hex(&plugin_bytes("echo")).as_str());
    assert_eq!(first["effects"]["sms"], 1);

    // Released: what was held counts as handled by staff; the next text is the agent's.
    let (status, r) = host
        .admin(
            Method::POST,
            &format!("/admin/conversations/{id}/release"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["takeover"], Value::Null);
    assert_eq!(
        outcome_of(&host, AGENT_NUMBER, LEAD, "are you there?")
            .await
            .as_deref(),
        Some("handled_by_staff")
    );
    host.post_sms(&sid("TK", 3), LEAD, AGENT_NUMBER, "back to you")
        .await;
    world.twilio.wait_for(3, WAIT).await;
    assert_eq!(sent_to(&world, LEAD)[2], "echo: back to you");

    // STOP wins over staff too: the reply is refused and nothing is sent.
    host.post_sms(&sid("TK", 4), LEAD, AGENT_NUMBER, "STOP")
        .await;
    let before = world.twilio.wait_for(4, WAIT).await.len();
    let (status, r) = host
        .admin(
            Method::POST,
            &format!("/admin/conversations/{id}/reply"),
            Some(json!({ "body": "one more thing", "idempotency_key": "k-2" })),
        )
        .await;
    assert_eq!(status, 409, "{r}");
    assert!(r["error"].as_str().unwrap().contains("opted out"), "{r}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(world.twilio.requests().len(), before);

    // Bad input is named.
    let (status, r) = host
        .admin(
            Method::POST,
            &format!("/admin/conversations/{id}/reply"),
            Some(json!({ "body": "x", "idempotency_key": "no spaces allowed" })),
        )
        .await;
    assert_eq!(status, 400, "{r}");
    assert!(r["error"].as_str().unwrap().contains("idempotency_key"));
    let (status, _) = host
        .admin(
            Method::POST,
            "/admin/conversations/%2B1%7C%2B2/takeover",
            None,
        )
        .await;
    assert_eq!(status, 404);
}

/// Two replicas on PostgreSQL + RabbitMQ: a conversation taken over through one is never
/// handed to a plugin by either, while another lead is answered as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn takeover_holds_on_every_replica() {
    let world = World::new(Setup::Distributed, &[("echo", "echo")]).await;
    let a = world.start(&[]);
    let b = world.start(&[]);
    a.ready().await;
    b.ready().await;
    a.post_sms(&sid("RP", 0), LEAD, AGENT_NUMBER, "hello").await;
    world.twilio.wait_for(1, WAIT).await;
    let (status, _) = a
        .admin(
            Method::POST,
            &format!(
                "/admin/conversations/{}/takeover",
                path_id(AGENT_NUMBER, LEAD)
            ),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let other = "+15557650000";
    for n in 1..=10 {
        let host = if n % 2 == 0 { &a } else { &b };
        host.post_sms(&sid("RP", n), LEAD, AGENT_NUMBER, &format!("held {n}"))
            .await;
        host.post_sms(&sid("RQ", n), other, AGENT_NUMBER, &format!("free {n}"))
            .await;
    }
    for n in 1..=10 {
        wait_outcome(
            &a,
            AGENT_NUMBER,
            LEAD,
            &format!("held {n}"),
            "held_for_staff",
        )
        .await;
    }
    world.twilio.wait_for(11, WAIT).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        sent_to(&world, LEAD),
        ["echo: hello"],
        "nothing for the held lead"
    );
    assert_eq!(
        sent_to(&world, other).len(),
        10,
        "the other lead is answered"
    );
}

async fn dead_letters_are_listed_requeued_and_discarded_with_history(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let host = world.start(&[
        ("AGENTHOST_PLUGIN_LIMITS", "echo:attempts=1"),
        ("AGENTHOST_AUTO_ROLLBACK", "echo:off"),
    ]);
    host.ready().await;
    let good = sha256_hex(&plugin_bytes("echo"));
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
    for n in 0..3 {
        host.post_sms(&sid("DL", n), LEAD, AGENT_NUMBER, &format!("lost {n}"))
            .await;
    }
    let letters = eventually(WAIT, || async {
        let (_, v) = host
            .admin(Method::GET, "/admin/dead-letters?plugin=echo", None)
            .await;
        let l = v["dead_letters"].as_array().cloned().unwrap_or_default();
        (l.len() == 3).then_some(l)
    })
    .await
    .unwrap_or_else(|| panic!("three dead letters; log:\n{}", host.logs()));
    for l in &letters {
        assert_eq!(l["version"], bad.as_str());
        assert_eq!(l["outcome"], "trap");
        assert_eq!(l["kind"], "message");
        assert!(l["body"].as_str().unwrap().starts_with("lost "), "{l}");
    }
    let (_, summary) = host.admin(Method::GET, "/admin/summary", None).await;
    assert_eq!(summary["dead_letters"], 3, "{summary}");

    // Discarding needs a reason, and is recorded.
    let first = sid("DL", 0);
    let (status, r) = host
        .admin(
            Method::POST,
            &format!("/admin/dead-letters/sms:{first}/discard"),
            Some(json!({ "reason": " " })),
        )
        .await;
    assert_eq!(status, 400, "{r}");
    let (status, r) = host
        .admin(
            Method::POST,
            &format!("/admin/dead-letters/sms:{first}/discard"),
            Some(json!({ "reason": "test traffic" })),
        )
        .await;
    assert_eq!(status, 200, "{r}");

    // Back to the good version; a version that serves nothing is refused.
    let (status, _) = host
        .admin(
            Method::POST,
            "/admin/plugins/echo/rollback",
            Some(json!({ "reason": "traps" })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, r) = host
        .admin(
            Method::POST,
            "/admin/plugins/echo/dead-letters/requeue",
            Some(json!({ "version": &bad[..12] })),
        )
        .await;
    assert_eq!(status, 409, "{r}");
    let (status, r) = host
        .admin(
            Method::POST,
            "/admin/plugins/echo/dead-letters/requeue",
            Some(json!({ "reason": "fixed by the rollback" })),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["version"], good.as_str());
    assert_eq!(r["requeued"].as_array().unwrap().len(), 2, "{r}");
    let sent = world.twilio.wait_for(2, WAIT).await;
    let mut bodies: Vec<_> = sent.iter().map(|s| s.body.clone()).collect();
    bodies.sort();
    assert_eq!(bodies, ["echo: lost 1", "echo: lost 2"]);
    let (_, v) = host.admin(Method::GET, "/admin/dead-letters", None).await;
    assert_eq!(v["dead_letters"], json!([]));
    // Both operations are in the plugin's history, newest first.
    let (_, d) = host.admin(Method::GET, "/admin/plugins/echo", None).await;
    let actions: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(&actions[..3], ["requeue", "rollback", "discard"], "{d}");
    assert_eq!(d["history"][0]["to_version"], good.as_str());
    assert_eq!(d["history"][0]["reason"], "fixed by the rollback");
    assert_eq!(d["history"][2]["reason"], "test traffic");
}

/// The Landlord Rep asks for a person when the lead does: the host pauses it for that
/// conversation and raises one `handoff` alert linking the thread; the lead's next text
/// waits for staff; when nobody picks it up before the timeout, the agent answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handoff_request_pauses_the_agent_until_released_or_timed_out() {
    let world = World::new(Setup::Embedded, &[("landlord-rep", "landlord-rep")]).await;
    let config = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/plugins/landlord-rep.json");
    std::fs::copy(config, world.plugins.path().join("landlord-rep.json")).unwrap();
    let clock = world.fake_clock();
    let mut env: Vec<(&str, String)> = clock.env();
    env.push(("AGENTHOST_ROUTES", format!("{LANDLORD}=landlord-rep")));
    env.push(("AGENTHOST_HANDOFF_TIMEOUT_SECS", "3600".into()));
    env.push((
        "AGENTHOST_CONSOLE_URL",
        "https://ops.example.test/admin/ui".into(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let host = world.start(&env);
    host.ready().await;
    let lead = "+15557661234";
    host.post_sms(
        &sid("HO", 1),
        lead,
        LANDLORD,
        "can I talk to a real person please",
    )
    .await;
    world.twilio.wait_for(1, WAIT).await;
    let storage = world.storage().await;
    let alert = eventually(WAIT, || async {
        storage
            .alerts()
            .recent(50)
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.kind == "handoff")
    })
    .await
    .unwrap_or_else(|| panic!("a host handoff alert; log:\n{}", host.logs()));
    assert_eq!(alert.plugin.as_deref(), Some("landlord-rep"));
    let link = &alert.fields.iter().find(|(k, _)| k == "link").unwrap().1;
    assert_eq!(
        link,
        &format!(
            "https://ops.example.test/admin/ui#/conversations/{}",
            path_id(LANDLORD, lead)
        )
    );
    let t = thread(&host, LANDLORD, lead).await;
    assert_eq!(
        t["conversation"]["takeover"]["requested_by_plugin"], true,
        "{t}"
    );
    assert_eq!(t["conversation"]["takeover"]["by"], "plugin landlord-rep");

    host.post_sms(&sid("HO", 2), lead, LANDLORD, "is there parking?")
        .await;
    wait_outcome(&host, LANDLORD, lead, "is there parking?", "held_for_staff").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sent_to(&world, lead).len(), 1, "the agent waits for staff");

    // Nobody picked it up within the hour: the agent answers what was held. (An hour
    // late the answer is agent-initiated: it leaves once quiet hours allow, so the thread
    // is what shows it, whatever the time of day this runs.)
    clock.advance(Duration::from_secs(3_700));
    wait_outcome(&host, LANDLORD, lead, "is there parking?", "done").await;
    let t = thread(&host, LANDLORD, lead).await;
    let messages = t["messages"].as_array().unwrap();
    let held_at = messages
        .iter()
        .position(|m| m["body"] == "is there parking?")
        .unwrap();
    assert!(
        messages[held_at + 1..]
            .iter()
            .any(|m| m["author"] == "agent"),
        "the agent answered the held text: {t}"
    );
    assert_eq!(
        t["conversation"]["takeover"],
        Value::Null,
        "the pause ran out: {t}"
    );
}

/// Without Twilio credentials texts go to the local sink (printed, delivered-locally,
/// never sent), and `agenthost chat` talks to an agent through the signed webhook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_sink_and_chat_show_a_newcomer_the_replies() {
    use std::io::{Read as _, Write as _};
    let world = World::new(Setup::Embedded, &[("echo", "echo")]).await;
    let host = world.start(&[("AGENTHOST_SMS_SINK", "local")]);
    host.ready().await;
    let mut chat = std::process::Command::new(env!("CARGO_BIN_EXE_agenthost"))
        .args(["chat", AGENT_NUMBER, "--from", LEAD])
        .env_clear()
        .env("AGENTHOST_LISTEN", format!("127.0.0.1:{}", host.port))
        .env(
            "AGENTHOST_ADMIN_LISTEN",
            format!("127.0.0.1:{}", host.admin_port),
        )
        .env(
            "AGENTHOST_PUBLIC_URL",
            "https://sms.example.test:8443/hooks",
        )
        .env("AGENTHOST_ADMIN_TOKEN", ADMIN_TOKEN)
        .env(
            "TWILIO_ACCOUNT_SID",
            agenthost_twilio::fake::FAKE_ACCOUNT_SID,
        )
        .env("TWILIO_AUTH_TOKEN", agenthost_twilio::fake::FAKE_AUTH_TOKEN)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting agenthost chat");
    let mut stdin = chat.stdin.take().unwrap();
    stdin.write_all(b"hello there\n").unwrap();
    drop(stdin);
    let status = chat.wait().unwrap();
    let mut out = String::new();
    chat.stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    chat.stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{out}\n{err}");
    assert!(
        out.contains("agent> echo: hello there"),
        "chat output:\n{out}\n{err}"
    );
    // Nothing reached Twilio; the console line and the delivery status say where it went.
    assert!(world.twilio.requests().is_empty());
    let t = thread(&host, AGENT_NUMBER, LEAD).await;
    let reply = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["direction"] == "outbound")
        .cloned()
        .unwrap();
    let delivered = eventually(WAIT, || async {
        let t = thread(&host, AGENT_NUMBER, LEAD).await;
        t["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["delivery_status"] == "delivered-locally")
            .then_some(())
    })
    .await;
    assert!(delivered.is_some(), "{reply}");
    assert!(
        host.logs()
            .contains(&format!("[sms {AGENT_NUMBER} -> {LEAD}] echo: hello there")),
        "{}",
        host.logs()
    );
}

/// The page is served on the admin listener without a token (it holds no data) under a
/// strict CSP, never on the public one; the summary counts what the host did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_page_and_live_summary() {
    let world = World::new(Setup::Embedded, &[("echo", "echo")]).await;
    let host = world.start(&[("AGENTHOST_ADMIN_TOKENS", "sam:staff:staff-token-0123456789")]);
    host.ready().await;
    let http = reqwest::Client::new();
    for (path, kind) in [
        ("/admin/ui", "text/html"),
        ("/admin/ui/app.js", "text/javascript"),
        ("/admin/ui/app.css", "text/css"),
    ] {
        let r = http.get(host.admin_url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        assert!(h["content-type"].to_str().unwrap().starts_with(kind));
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
        assert!(!r.text().await.unwrap().is_empty(), "{path} is empty");
        let public = http.get(host.public_url(path)).send().await.unwrap();
        assert_eq!(public.status(), 404, "{path} on the public listener");
    }
    for n in 0..5 {
        host.post_sms(&sid("SU", n), LEAD, AGENT_NUMBER, &format!("m{n}"))
            .await;
    }
    world.twilio.wait_for(5, WAIT).await;
    let (status, s) = host.admin(Method::GET, "/admin/summary", None).await;
    assert_eq!(status, 200, "{s}");
    let echo = s["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["plugin"] == "echo")
        .cloned()
        .unwrap();
    assert_eq!(echo["active"], sha256_hex(&plugin_bytes("echo")).as_str());
    assert!(
        echo["invocations_per_sec"]["ok"].as_f64().unwrap() > 0.0,
        "{echo}"
    );
    assert!(echo["p50_ms"].as_f64().unwrap() > 0.0, "{echo}");
    assert!(echo["p99_ms"].as_f64().unwrap() >= echo["p50_ms"].as_f64().unwrap());
    assert_eq!(echo["queue"]["depth"], 0);
    // The last sends are recorded right after the fake Twilio saw them.
    let drained = eventually(WAIT, || async {
        let (_, s) = host.admin(Method::GET, "/admin/summary", None).await;
        (s["outbox"]["pending"] == 0).then_some(())
    })
    .await;
    assert!(drained.is_some(), "the outbox drains");
    // Without a token the data is refused.
    let r = http
        .get(host.admin_url("/admin/summary"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A staff token takes conversations over and replies, and deploys nothing.
    let staff = |method: Method, path: &str, body: Value| {
        http.request(method, host.admin_url(path))
            .bearer_auth("staff-token-0123456789")
            .json(&body)
            .send()
    };
    let id = path_id(AGENT_NUMBER, LEAD);
    let r = staff(
        Method::POST,
        &format!("/admin/conversations/{id}/takeover"),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["takeover"]["by"], "sam");
    let r = staff(
        Method::POST,
        &format!("/admin/conversations/{id}/reply"),
        json!({ "body": "Sam here", "idempotency_key": "s-1" }),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 202);
    for path in [
        "/admin/plugins/echo/rollback",
        "/admin/plugins/echo/dead-letters/requeue",
        "/admin/dead-letters/sms:x/discard",
    ] {
        let r = staff(Method::POST, path, json!({ "reason": "x" }))
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    let t = thread(&host, AGENT_NUMBER, LEAD).await;
    let last = t["messages"].as_array().unwrap().last().cloned().unwrap();
    assert_eq!(
        (last["author"].as_str(), last["staff"].as_str()),
        (Some("staff"), Some("sam"))
    );
}

/// The console in headless Chromium (`tests/browser/console.mjs`, Playwright driving
/// Debian's `chromium`) against the real binary, on a phone and on a laptop: sign in, see
/// the plugin, roll it back and see the history change, upload a version through the file
/// input, canary it and promote it, upload another and shadow it then abort, requeue a
/// dead letter and see it answered by the promoted version, take a conversation over,
/// reply as staff (the fake Twilio receives it), release. Screenshots of every screen land
/// in `target/console-screenshots/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser_on_a_phone_and_a_laptop() {
    for viewport in ["phone", "laptop"] {
        browser_scenario(viewport).await;
    }
}

async fn browser_scenario(viewport: &str) {
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = repo.join("tests/browser/console.mjs");
    assert!(
        repo.join("tests/browser/node_modules/playwright-core")
            .exists(),
        "playwright-core missing: run `npm ci --prefix tests/browser` (scripts/test.sh does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} missing: apt-get install chromium (scripts/test.sh does)"
    );
    let artifacts = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo.join("target"))
        .join("console-screenshots");
    std::fs::create_dir_all(&artifacts).unwrap();

    let world = World::new(Setup::Embedded, &[("echo", "echo")]).await;
    let host = world.start(&[
        ("AGENTHOST_PLUGIN_LIMITS", "echo:attempts=1"),
        ("AGENTHOST_AUTO_ROLLBACK", "echo:off"),
    ]);
    host.ready().await;
    // A conversation to take over, answered by the good version. The lead's text is
    // markup: shown as text it is harmless; run as HTML, the page's CSP would refuse the
    // handler and the script fails on the console error.
    host.post_sms(
        &sid("BR", 1),
        LEAD,
        AGENT_NUMBER,
        "hi <img src=x onerror=alert(1)><script>alert(2)</script>",
    )
    .await;
    world.twilio.wait_for(1, WAIT).await;
    // ...then a bad version, and a lead whose text it dead-letters.
    let (status, up) = host.upload("echo", plugin_bytes("test-trap")).await;
    assert_eq!(status, 201, "{up}");
    let (status, _) = host
        .admin(
            Method::POST,
            "/admin/plugins/echo/activate",
            Some(json!({ "version": up["version"], "reason": "try the new build" })),
        )
        .await;
    assert_eq!(status, 200);
    let unlucky = "+15557659999";
    host.post_sms(&sid("BR", 2), unlucky, AGENT_NUMBER, "anyone home?")
        .await;
    eventually(WAIT, || async {
        let (_, v) = host.admin(Method::GET, "/admin/dead-letters", None).await;
        (v["dead_letters"].as_array()?.len() == 1).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("a dead letter; log:\n{}", host.logs()));

    // Two new, working echo builds for the page to upload: the first is canaried and
    // promoted (it then answers the requeued dead letter), the second shadowed and aborted.
    let uploads: Vec<(std::path::PathBuf, String)> = ["canary", "shadow"]
        .iter()
        .map(|tag| {
            let bytes = variant(plugin_bytes("echo"), &format!("console-{viewport}-{tag}"));
            let path = world
                .data
                .path()
                .join(format!("echo-{viewport}-{tag}.wasm"));
            std::fs::write(&path, &bytes).unwrap();
            (path, sha256_hex(&bytes))
        })
        .collect();
    let (promoted, shadowed) = (uploads[0].1.clone(), uploads[1].1.clone());
    // Only this run's screenshots count.
    for e in std::fs::read_dir(&artifacts)
        .unwrap()
        .filter_map(Result::ok)
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!("{viewport}-")) && name.ends_with(".png") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }

    let staff_reply = format!("Hi, this is Sam from the office ({viewport}).");
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            agenthost_twilio::fake::FAKE_ACCOUNT_SID,
            agenthost_twilio::fake::FAKE_AUTH_TOKEN
        ))
    };
    let mut node = std::process::Command::new("node");
    node.arg(&script)
        .env("CONSOLE_URL", host.admin_url("/admin/ui"))
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        .env("VIEWPORT", viewport)
        .env("ARTIFACTS", &artifacts)
        .env("PLUGIN", "echo")
        .env("UPLOAD_WASM", &uploads[0].0)
        .env("UPLOAD_WASM_2", &uploads[1].0)
        .env("CHROMIUM", &chromium)
        .env(
            "TWILIO_MESSAGES_URL",
            format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                world.twilio.base_url(),
                agenthost_twilio::fake::FAKE_ACCOUNT_SID
            ),
        )
        .env("TWILIO_BASIC_AUTH", basic)
        .env("LEAD", LEAD)
        .env("STAFF_REPLY", &staff_reply);
    // The fake Twilio answers on this runtime: the browser waits on another thread.
    let out = tokio::task::spawn_blocking(move || node.output())
        .await
        .unwrap()
        .expect("running node tests/browser/console.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser scenario failed on {viewport}:\n{stdout}\n{stderr}\nhost log:\n{}",
        host.logs()
    );
    // What the browser did, seen from the other side.
    let sent = world.twilio.requests();
    assert!(
        sent.iter()
            .any(|s| s.to == unlucky && s.body == "echo: anyone home?"),
        "the requeued dead letter was answered: {sent:?}"
    );
    assert_eq!(
        sent.iter()
            .filter(|s| s.to == LEAD && s.body == staff_reply)
            .count(),
        1,
        "the staff reply went out once: {sent:?}"
    );
    let (_, d) = host.admin(Method::GET, "/admin/plugins/echo", None).await;
    let actions: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.get(..8),
        Some(
            &[
                "requeue", "abort", "rollout", "upload", "promote", "rollout", "upload", "rollback"
            ][..]
        ),
        "{d}"
    );
    let h = &d["history"];
    // The page rolled back from the trapping build to the good one.
    let rolled_back = h[7]["to_version"].as_str().unwrap();
    assert_eq!(rolled_back, sha256_hex(&plugin_bytes("echo")), "{d}");
    // Requeued onto the promoted version, which stayed active through the shadow's abort.
    assert_eq!(d["active_version"], promoted.as_str(), "{d}");
    assert_eq!(d["previous_version"], rolled_back, "{d}");
    assert_eq!(d["rollout"]["mode"], "none", "{d}");
    assert_eq!(h[0]["to_version"], promoted.as_str());
    let from_to = |e: &Value| (e["from_version"].clone(), e["to_version"].clone());
    assert_eq!(from_to(&h[1]), (json!(shadowed), json!(promoted)), "abort");
    assert_eq!(h[1]["details"]["mode"], "shadow");
    assert_eq!(from_to(&h[2]), (json!(promoted), json!(shadowed)), "shadow");
    assert_eq!(
        h[2]["details"],
        json!({ "mode": "shadow", "candidate": shadowed, "percent": 0 })
    );
    assert_eq!(from_to(&h[3]), (Value::Null, json!(shadowed)), "upload");
    assert_eq!(
        from_to(&h[4]),
        (json!(rolled_back), json!(promoted)),
        "promote"
    );
    assert_eq!(
        h[4]["details"],
        json!({ "mode": "canary", "candidate": promoted, "percent": 50 })
    );
    assert_eq!(
        from_to(&h[5]),
        (json!(rolled_back), json!(promoted)),
        "canary"
    );
    assert_eq!(
        h[5]["details"],
        json!({ "mode": "canary", "candidate": promoted, "percent": 50 })
    );
    assert_eq!(from_to(&h[6]), (Value::Null, json!(promoted)), "upload");
    for (i, what) in [
        (1, "abort"),
        (2, "shadow"),
        (3, "second upload"),
        (4, "promote"),
        (5, "canary"),
        (6, "upload"),
    ] {
        let reason = h[i]["reason"].as_str().unwrap_or_default();
        assert!(
            reason.starts_with(&format!("browser test {what} {viewport}-")),
            "history[{i}] reason {reason:?}"
        );
    }
    let t = thread(&host, AGENT_NUMBER, LEAD).await;
    assert_eq!(t["conversation"]["takeover"], Value::Null, "released: {t}");
    for shot in [
        "signin-refused",
        "signin",
        "rollback",
        "upload",
        "canary",
        "promote",
        "upload-second",
        "shadow",
        "shadow-abort",
        "dead-letters",
        "requeued-reply",
        "takeover",
        "staff-reply",
        "release",
        "live",
        "alerts",
    ] {
        // `{viewport}-{NN}-{shot}.png`
        let found = std::fs::read_dir(&artifacts)
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix(&format!("{viewport}-"))
                    .and_then(|n| n.split_once('-'))
                    .is_some_and(|(nn, rest)| {
                        nn.len() == 2
                            && nn.bytes().all(|b| b.is_ascii_digit())
                            && rest == format!("{shot}.png")
                    })
            });
        assert!(
            found,
            "no {viewport} screenshot of {shot} in {}",
            artifacts.display()
        );
    }
}

/// The console's CLI against a running host: search, take over, reply as staff, show the
/// thread, release; dead letters listed, requeued by plugin and discarded; the summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_from_the_cli() {
    let world = World::new(Setup::Embedded, &[("echo", "echo")]).await;
    let host = world.start(&[("AGENTHOST_PLUGIN_LIMITS", "echo:attempts=1")]);
    host.ready().await;
    let admin = format!("http://127.0.0.1:{}", host.admin_port);
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_agenthost"))
            .args(args)
            .env_clear()
            .env("AGENTHOST_ADMIN_URL", &admin)
            .env("AGENTHOST_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("USER", "sam")
            .output()
            .expect("running agenthost");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {stdout}\n{stderr}");
        stdout
    };
    host.post_sms(&sid("CL", 1), LEAD, AGENT_NUMBER, "hello")
        .await;
    world.twilio.wait_for(1, WAIT).await;
    let id = format!("{AGENT_NUMBER}|{LEAD}");

    let found: Value = serde_json::from_str(&cli(&["conversations", "search", "7654321"])).unwrap();
    assert_eq!(found["conversations"][0]["id"], id.as_str());
    let t: Value = serde_json::from_str(&cli(&[
        "conversations",
        "takeover",
        &id,
        "--reason",
        "wants a call",
    ]))
    .unwrap();
    assert_eq!(t["takeover"]["by"], "admin (cli:sam)");
    cli(&["conversations", "reply", &id, "Sam from the office here."]);
    world.twilio.wait_for(2, WAIT).await;
    assert_eq!(sent_to(&world, LEAD)[1], "Sam from the office here.");
    let shown = cli(&["conversations", "show", &id]);
    assert!(shown.contains("taken over by admin (cli:sam)"), "{shown}");
    assert!(shown.contains("[lead] hello  (done by "), "{shown}");
    assert!(
        shown.contains("[staff admin (cli:sam)] Sam from the office here."),
        "{shown}"
    );
    let released: Value = serde_json::from_str(&cli(&["conversations", "release", &id])).unwrap();
    assert_eq!(released["takeover"], Value::Null);

    // A dead letter, requeued by plugin once the version is fixed, and one discarded.
    let (_, up) = host.upload("echo", plugin_bytes("test-trap")).await;
    host.admin(
        Method::POST,
        "/admin/plugins/echo/activate",
        Some(json!({ "version": up["version"] })),
    )
    .await;
    host.post_sms(&sid("CL", 2), "+15557650001", AGENT_NUMBER, "one")
        .await;
    host.post_sms(&sid("CL", 3), "+15557650002", AGENT_NUMBER, "two")
        .await;
    let listed = eventually(WAIT, || async {
        let v: Value =
            serde_json::from_str(&cli(&["dead-letters", "list", "--plugin", "echo"])).ok()?;
        (v["dead_letters"].as_array()?.len() == 2).then_some(v)
    })
    .await
    .unwrap_or_else(|| panic!("two dead letters; log:\n{}", host.logs()));
    assert_eq!(listed["dead_letters"][0]["outcome"], "trap");
    let discard = format!("sms:{}", sid("CL", 3));
    cli(&[
        "dead-letters",
        "discard",
        &discard,
        "--reason",
        "test traffic",
    ]);
    cli(&["plugin", "rollback", "echo", "--reason", "traps"]);
    let requeued: Value = serde_json::from_str(&cli(&[
        "dead-letters",
        "requeue",
        "--plugin",
        "echo",
        "--reason",
        "fixed",
    ]))
    .unwrap();
    assert_eq!(
        requeued["requeued"],
        json!([format!("sms:{}", sid("CL", 2))])
    );
    let sent = world.twilio.wait_for(3, WAIT).await;
    assert!(sent.iter().any(|s| s.body == "echo: one"), "{sent:?}");
    let summary: Value = serde_json::from_str(&cli(&["summary"])).unwrap();
    assert_eq!(summary["dead_letters"], 0, "{summary}");
    let alerts: Value = serde_json::from_str(&cli(&["alerts", "--limit", "5"])).unwrap();
    assert!(
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "dead_letter"),
        "{alerts}"
    );
}
