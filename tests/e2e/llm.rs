//! Agents with an LLM through the real host, against a fake OpenAI-compatible server on
//! loopback: the prompt carries the conversation, and a spent daily token budget falls
//! back to the deterministic reply with exactly one alert.

use std::path::PathBuf;
use std::time::Duration;

use crate::harness::*;

const LANDLORD: &str = "+15550003001";
const WAIT: Duration = Duration::from_secs(30);
const LLM_ANSWER: &str = "The rooftop deck at Jeffery Shores is open 7am to 10pm every day.";

async fn landlord_world(llm: &FakeLlm, extra: &[(&str, &str)]) -> (World, Host) {
    let world = World::new(Setup::Embedded, &[("landlord-rep", "landlord-rep")]).await;
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/plugins");
    std::fs::copy(
        config.join("landlord-rep.json"),
        world.plugins.path().join("landlord-rep.json"),
    )
    .unwrap();
    let base = llm.base_url();
    let mut env = vec![
        ("AGENTHOST_ROUTES", format!("{LANDLORD}=landlord-rep")),
        ("OPENAI_API_KEY", "sk-e2e".to_owned()),
        ("OPENAI_BASE_URL", base),
        ("AGENTHOST_LLM_CHAIN", "openai".to_owned()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let host = world.start(&refs);
    host.ready().await;
    (world, host)
}

async fn say(world: &World, host: &Host, n: usize, lead: &str, body: &str) -> String {
    let before = world.twilio.requests().len();
    let (status, _) = host
        .post_sms(&format!("SMLLM{n:029}"), lead, LANDLORD, body)
        .await;
    assert_eq!(status, 200);
    let sent = world.twilio.wait_for(before + 1, WAIT).await;
    assert!(
        sent.len() > before,
        "no reply to {body:?}; log:\n{}",
        host.logs()
    );
    sent.last().unwrap().body.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prompt_carries_the_conversation_and_the_answer_comes_back() {
    let llm = FakeLlm::start(LLM_ANSWER).await;
    let (world, host) = landlord_world(&llm, &[]).await;
    let lead = "+15557652001";
    let first = say(
        &world,
        &host,
        1,
        lead,
        "What's available at jeffery shores?",
    )
    .await;
    assert!(first.contains("Jeffery Shores Apartments"), "{first}");
    assert!(llm.requests().is_empty(), "answered from the data, no LLM");
    let reply = say(
        &world,
        &host,
        2,
        lead,
        "is the rooftop deck nice in the summer?",
    )
    .await;
    assert_eq!(reply, LLM_ANSWER);
    let requests = llm.requests();
    assert_eq!(requests.len(), 1);
    let messages = requests[0]["messages"].as_array().unwrap();
    let said = |role: &str, text: &str| {
        messages
            .iter()
            .any(|m| m["role"] == role && m["content"].as_str().unwrap_or_default().contains(text))
    };
    assert!(
        said("system", "Jeffery Shores"),
        "facts in the system prompt: {messages:?}"
    );
    assert!(
        said("user", "What's available at jeffery shores?"),
        "the lead's earlier message: {messages:?}"
    );
    assert!(
        said(
            "assistant",
            "Jeffery Shores Apartments (7130 S Jeffery Blvd"
        ),
        "our earlier reply: {messages:?}"
    );
    assert_eq!(
        messages.last().unwrap()["content"],
        "is the rooftop deck nice in the summer?"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_token_budget_falls_back_to_the_deterministic_reply_with_one_alert() {
    let llm = FakeLlm::start(LLM_ANSWER).await;
    // 30 tokens per call: the first call spends the budget.
    let (world, host) = landlord_world(
        &llm,
        &[("AGENTHOST_LLM_PLUGIN_DAILY_TOKENS", "landlord-rep:30")],
    )
    .await;
    let lead = "+15557652002";
    say(&world, &host, 10, lead, "hi, looking at jeffery shores").await;
    let reply = say(
        &world,
        &host,
        11,
        lead,
        "is the rooftop deck nice in the summer?",
    )
    .await;
    assert_eq!(reply, LLM_ANSWER, "within budget: the LLM answers");
    for n in 12..15 {
        let reply = say(&world, &host, n, lead, "can I paint the walls blue?").await;
        assert!(
            reply.starts_with("I can help with availability, rent, pets, parking and tours"),
            "deterministic fallback once the budget is spent: {reply}"
        );
    }
    assert_eq!(llm.requests().len(), 1, "no provider call past the budget");
    let storage = world.storage().await;
    let alerts = eventually(WAIT, || async {
        let a: Vec<_> = storage
            .alerts()
            .recent(100)
            .await
            .ok()?
            .into_iter()
            .filter(|a| a.kind == "llm_budget_exhausted")
            .collect();
        (!a.is_empty()).then_some(a)
    })
    .await
    .expect("a budget alert");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let n = storage
        .alerts()
        .recent(100)
        .await
        .unwrap()
        .iter()
        .filter(|a| a.kind == "llm_budget_exhausted")
        .count();
    assert_eq!(
        n, 1,
        "one alert however many calls hit the spent budget: {alerts:?}"
    );
    assert_eq!(alerts[0].plugin.as_deref(), Some("landlord-rep"));
}
