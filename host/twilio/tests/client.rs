//! `TwilioClient` against loopback servers: a small hand-written Twilio in this file that
//! checks the request byte for byte, and the crate's own `FakeTwilio`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agenthost_twilio::{
    FAKE_ACCOUNT_SID, FakeTwilio, MessageStatus, SendError, TwilioClient, TwilioConfig,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;

const SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const TOKEN: &str = "tok-en:with/odd+chars";
const FROM: &str = "+13125550100";

/// What the hand-written server saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    form: Vec<(String, String)>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Answers by `To`: +15550000201 → 201, …429 → 429 Retry-After: 2, …400 → 400/21211,
/// …500 → 500, …401 → 401/20003.
async fn handler(
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    log.lock().expect("log lock").push(Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        authorization: header(header::AUTHORIZATION),
        content_type: header(header::CONTENT_TYPE),
        form: form.clone(),
    });
    let to = form
        .iter()
        .find(|(k, _)| k == "To")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let error = |status: StatusCode, code: i64, message: &str| {
        let body = serde_json::json!({
            "code": code, "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        });
        (status, axum::Json(body)).into_response()
    };
    match to.as_str() {
        "+15550000201" => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({
                "account_sid": SID, "api_version": "2010-04-01", "body": "hi",
                "direction": "outbound-api", "error_code": null, "error_message": null,
                "from": FROM, "messaging_service_sid": null, "num_media": "0",
                "num_segments": "1", "price": null, "price_unit": null,
                "sid": "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "status": "queued",
                "to": to, "uri": "/x.json",
            })),
        )
            .into_response(),
        "+15550000429" => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests");
            r.headers_mut()
                .insert(header::RETRY_AFTER, "2".parse().expect("header value"));
            r
        }
        "+15550000400" => error(
            StatusCode::BAD_REQUEST,
            21211,
            "Invalid 'To' Phone Number: +15550000400",
        ),
        "+15550000401" => error(StatusCode::UNAUTHORIZED, 20003, "Authenticate"),
        "+15550000500" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "+15550000999" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::CREATED.into_response()
        }
        _ => error(StatusCode::BAD_REQUEST, 21604, "unexpected To in test"),
    }
}

struct Server {
    base: String,
    log: Log,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn server() -> anyhow::Result<Server> {
    let log: Log = Arc::default();
    let app = Router::new()
        .fallback(any(handler))
        .with_state(Arc::clone(&log));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Server {
        base,
        log,
        _stop: stop,
    })
}

fn config(base: &str) -> TwilioConfig {
    TwilioConfig {
        api_base: format!("{base}/"),
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
        messaging_service_sid: None,
        timeout: Duration::from_secs(5),
    }
}

fn last(log: &Log) -> Seen {
    log.lock()
        .expect("log lock")
        .last()
        .cloned()
        .expect("a request")
}

#[tokio::test]
async fn sends_twilios_request_and_reads_the_message() -> anyhow::Result<()> {
    let s = server().await?;
    let client = TwilioClient::new(config(&s.base))?;
    let body = "Tour at 3pm? Reply YES & we'll hold it — 🏠 ünïcode, 100% + plus";
    let sent = client.send("+15550000201", FROM, body).await?;
    assert_eq!(sent.sid, "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(sent.status, MessageStatus::Queued);

    let seen = last(&s.log);
    assert_eq!(seen.method, "POST");
    assert_eq!(
        seen.path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
    let expected_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
    );
    assert_eq!(seen.authorization.as_deref(), Some(expected_auth.as_str()));
    assert_eq!(
        seen.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let fields: HashMap<_, _> = seen.form.iter().cloned().collect();
    assert_eq!(seen.form.len(), 3, "{:?}", seen.form);
    assert_eq!(fields["To"], "+15550000201");
    assert_eq!(fields["From"], FROM);
    assert_eq!(fields["Body"], body);
    Ok(())
}

#[tokio::test]
async fn messaging_service_replaces_from() -> anyhow::Result<()> {
    let s = server().await?;
    let mut c = config(&s.base);
    c.messaging_service_sid = Some("MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".into());
    let client = TwilioClient::new(c)?;
    client.send("+15550000201", FROM, "hi").await?;
    let seen = last(&s.log);
    let names: Vec<&str> = seen.form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["To", "MessagingServiceSid", "Body"]);
    assert_eq!(seen.form[1].1, "MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    Ok(())
}

#[tokio::test]
async fn classifies_each_answer() -> anyhow::Result<()> {
    let s = server().await?;
    let client = TwilioClient::new(config(&s.base))?;

    let e = client.send("+15550000429", FROM, "x").await.unwrap_err();
    assert!(
        matches!(&e, SendError::Transient { retry_after: Some(d), maybe_sent: false, .. } if *d == Duration::from_secs(2)),
        "a 429 is a clear refusal: {e:?}"
    );

    let e = client.send("+15550000400", FROM, "x").await.unwrap_err();
    assert_eq!(
        e,
        SendError::Permanent {
            code: Some(21211),
            message: "Invalid 'To' Phone Number: +15550000400".into(),
            http_status: 400,
        }
    );

    let e = client.send("+15550000500", FROM, "x").await.unwrap_err();
    assert!(
        matches!(&e, SendError::Transient { retry_after: None, message, maybe_sent: true } if message.contains("500") && message.contains("boom")),
        "{e:?}"
    );

    let e = client.send("+15550000401", FROM, "x").await.unwrap_err();
    assert!(!e.is_permanent(), "{e:?}");
    assert!(e.to_string().contains("20003"), "{e}");
    assert!(!e.to_string().contains(TOKEN), "{e}");
    Ok(())
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_transient() -> anyhow::Result<()> {
    let s = server().await?;
    let mut c = config(&s.base);
    c.timeout = Duration::from_millis(200);
    let client = TwilioClient::new(c)?;
    let e = client.send("+15550000999", FROM, "x").await.unwrap_err();
    assert!(
        matches!(&e, SendError::Transient { message, maybe_sent: true, .. } if message.contains("timed out")),
        "a timeout may have been accepted: {e:?}"
    );

    // A port that was just free: nothing listens there.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?
    };
    let client = TwilioClient::new(config(&format!("http://{closed}")))?;
    let e = client.send("+15550000201", FROM, "x").await.unwrap_err();
    assert!(
        matches!(&e, SendError::Transient { message, maybe_sent: false, .. } if message.contains("connect")),
        "a refused connection never reached Twilio: {e:?}"
    );
    Ok(())
}

// ---- the crate's FakeTwilio, used the way the host's end-to-end tests use it ----

#[tokio::test]
async fn fake_accepts_records_and_assigns_sids() -> anyhow::Result<()> {
    let fake = FakeTwilio::start().await;
    let client = TwilioClient::new(fake.config())?;
    let a = client.send("+15551230001", FROM, "one").await?;
    let b = client.send("+15551230002", FROM, "two").await?;
    assert!(a.sid.starts_with("SM") && a.sid.len() == 34, "{}", a.sid);
    assert_ne!(a.sid, b.sid);
    let got = fake.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].to, "+15551230001");
    assert_eq!(got[0].from.as_deref(), Some(FROM));
    assert_eq!(got[0].body, "one");
    assert_eq!(got[0].messaging_service_sid, None);
    assert!(got[0].auth_ok);
    assert_eq!(got[0].sid.as_deref(), Some(a.sid.as_str()));
    assert_eq!(fake.accepted().len(), 2);
    fake.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn fake_scripts_failures_per_number() -> anyhow::Result<()> {
    let fake = FakeTwilio::start().await;
    let client = TwilioClient::new(fake.config())?;
    fake.fail_number("+15551230666", 21610);
    fake.fail_number("+15551230667", 21614);
    let e = client.send("+15551230666", FROM, "hi").await.unwrap_err();
    assert!(
        matches!(&e, SendError::Permanent { code: Some(21610), http_status: 400, message } if message.contains("unsubscribed")),
        "{e:?}"
    );
    let e = client.send("+15551230667", FROM, "hi").await.unwrap_err();
    assert!(
        matches!(
            e,
            SendError::Permanent {
                code: Some(21614),
                ..
            }
        ),
        "{e:?}"
    );
    // Other numbers are unaffected; healing a number lets it through.
    client.send("+15551230668", FROM, "hi").await?;
    fake.heal_number("+15551230666");
    client.send("+15551230666", FROM, "hi").await?;
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400, 400, 201, 201]);
    Ok(())
}

#[tokio::test]
async fn fake_throttles_then_recovers_and_backoff_honours_it() -> anyhow::Result<()> {
    let fake = FakeTwilio::start().await;
    let client = TwilioClient::new(fake.config())?;
    fake.throttle_next(2);
    let backoff =
        agenthost_core::Backoff::full(Duration::from_millis(10), Duration::from_millis(100));
    let mut delays = Vec::new();
    let sent = loop {
        match client.send("+15551230001", FROM, "hi").await {
            Ok(sent) => break sent,
            Err(e) => {
                assert!(!e.is_permanent(), "{e:?}");
                let d = backoff.delay(delays.len() as u32, e.retry_after());
                delays.push(d);
                assert!(delays.len() <= 2, "still throttled after {delays:?}");
            }
        }
    };
    assert_eq!(delays.len(), 2);
    assert!(
        delays.iter().all(|d| *d >= Duration::from_secs(1)),
        "{delays:?}"
    );
    assert!(sent.sid.starts_with("SM"));
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 201]);
    Ok(())
}

#[tokio::test]
async fn fake_server_errors_are_transient() -> anyhow::Result<()> {
    let fake = FakeTwilio::start().await;
    let client = TwilioClient::new(fake.config())?;
    fake.error_next(2, 503);
    for _ in 0..2 {
        let e = client.send("+15551230001", FROM, "hi").await.unwrap_err();
        assert!(
            matches!(&e, SendError::Transient { message, retry_after: None, .. } if message.contains("503")),
            "{e:?}"
        );
    }
    client.send("+15551230001", FROM, "hi").await?;
    Ok(())
}

#[tokio::test]
async fn fake_rejects_wrong_credentials_like_twilio() -> anyhow::Result<()> {
    let fake = FakeTwilio::start().await;
    let mut c = fake.config();
    c.auth_token = "wrong".into();
    let client = TwilioClient::new(c)?;
    let e = client.send("+15551230001", FROM, "hi").await.unwrap_err();
    assert!(
        matches!(&e, SendError::Transient { message, .. } if message.contains("401") && message.contains("20003")),
        "{e:?}"
    );
    let mut c = fake.config();
    c.account_sid = "AC1111111111111111111111111111fa4e".into();
    let e = TwilioClient::new(c)?
        .send("+15551230001", FROM, "hi")
        .await
        .unwrap_err();
    assert!(
        !e.is_permanent(),
        "a wrong account sid is config, not the message: {e:?}"
    );
    let got = fake.requests();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|r| !r.auth_ok && r.status == 401));
    Ok(())
}

#[tokio::test]
async fn fake_records_messaging_service_sends() -> anyhow::Result<()> {
    let fake = FakeTwilio::start().await;
    let mut c = fake.config();
    c.messaging_service_sid = Some("MGcccccccccccccccccccccccccccccccc".into());
    let sent = TwilioClient::new(c)?
        .send("+15551230001", FROM, "hi")
        .await?;
    assert_eq!(sent.status, MessageStatus::Accepted);
    let got = fake.wait_for_accepted(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].from, None);
    assert_eq!(
        got[0].messaging_service_sid.as_deref(),
        Some("MGcccccccccccccccccccccccccccccccc")
    );
    Ok(())
}

#[tokio::test]
async fn fake_wait_for_returns_what_arrived_on_timeout() -> anyhow::Result<()> {
    let fake = FakeTwilio::start().await;
    let client = TwilioClient::new(fake.config())?;
    client.send("+15551230001", FROM, "hi").await?;
    let got = fake.wait_for(3, Duration::from_millis(100)).await;
    assert_eq!(got.len(), 1);
    // wait_for wakes on requests that arrive while it waits.
    let waiter = fake.wait_for(2, Duration::from_secs(5));
    let sender = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        client.send("+15551230002", FROM, "hi").await
    };
    let (got, sent) = tokio::join!(waiter, sender);
    sent?;
    assert_eq!(got.len(), 2);
    assert_eq!(fake.base_url(), fake.config().api_base);
    assert!(fake.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(fake.config().account_sid, FAKE_ACCOUNT_SID);
    Ok(())
}

#[tokio::test]
async fn fake_validates_required_fields_and_content_type() -> anyhow::Result<()> {
    let fake = FakeTwilio::start().await;
    let client = TwilioClient::new(fake.config())?;
    let e = client.send("", FROM, "hi").await.unwrap_err();
    assert!(
        matches!(
            e,
            SendError::Permanent {
                code: Some(21604),
                ..
            }
        ),
        "{e:?}"
    );
    let e = client.send("+15551230001", FROM, "").await.unwrap_err();
    assert!(
        matches!(
            e,
            SendError::Permanent {
                code: Some(21602),
                ..
            }
        ),
        "{e:?}"
    );

    // A JSON body (not what Twilio takes) is refused.
    let url = format!(
        "{}/2010-04-01/Accounts/{FAKE_ACCOUNT_SID}/Messages.json",
        fake.base_url()
    );
    let status = reqwest::Client::new()
        .post(&url)
        .basic_auth(FAKE_ACCOUNT_SID, Some(agenthost_twilio::FAKE_AUTH_TOKEN))
        .json(&serde_json::json!({"To": "+15551230001", "From": FROM, "Body": "hi"}))
        .send()
        .await?
        .status();
    assert_eq!(status, 415);
    let status = reqwest::Client::new()
        .post(format!("{}/elsewhere", fake.base_url()))
        .send()
        .await?
        .status();
    assert_eq!(status, 404);
    Ok(())
}

#[tokio::test]
async fn a_message_accepted_behind_a_lost_answer_is_found_by_lookup() -> anyhow::Result<()> {
    let fake = FakeTwilio::start().await;
    let mut c = fake.config();
    c.timeout = Duration::from_millis(300);
    let client = TwilioClient::new(c)?;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64
        - 2_000;
    client.send("+15551230009", FROM, "an older reply").await?;
    fake.accept_then_stall_next(1, Duration::from_secs(2));
    let e = client
        .send("+15551230009", FROM, "see you saturday at 11")
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            SendError::Transient {
                maybe_sent: true,
                ..
            }
        ),
        "{e:?}"
    );
    // Twilio has it: the lookup finds it by recipient, sender and body.
    let found = client
        .find_sent("+15551230009", FROM, "see you saturday at 11", before)
        .await?
        .expect("the accepted message is listed");
    let accepted = fake.accepted();
    assert_eq!(Some(found.sid), accepted.last().and_then(|m| m.sid.clone()));
    // Another body, another sender, or only older messages: not found.
    assert_eq!(
        client
            .find_sent("+15551230009", FROM, "something else", before)
            .await?,
        None
    );
    assert_eq!(
        client
            .find_sent(
                "+15551230009",
                "+15550009999",
                "see you saturday at 11",
                before
            )
            .await?,
        None
    );
    let later = before + 3_600_000;
    assert_eq!(
        client
            .find_sent("+15551230009", FROM, "an older reply", later)
            .await?,
        None,
        "an identical body sent before the row existed is not this message"
    );
    Ok(())
}

/// Twilio's own API description of `Messages.json` (an excerpt of twilio-oai, MIT).
fn messages_spec() -> serde_json::Value {
    serde_json::from_str(include_str!("data/messages.openapi.json")).unwrap()
}

/// Checks one recorded create-message request against Twilio's API description: every
/// field is one the operation declares, required ones are there, integers are integers
/// within the documented range, URIs are absolute http(s) URLs, phone numbers E.164.
fn assert_valid_create(request: &agenthost_twilio::RecordedSms) {
    let spec = messages_spec();
    let schema = &spec["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]["post"]["requestBody"]
        ["content"]["application/x-www-form-urlencoded"]["schema"];
    let properties = schema["properties"].as_object().unwrap();
    for required in schema["required"].as_array().unwrap() {
        let name = required.as_str().unwrap();
        assert!(
            request.fields.iter().any(|(k, _)| k == name),
            "missing required {name}: {:?}",
            request.fields
        );
    }
    for (name, value) in &request.fields {
        let property = properties
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not a field of Messages.json"));
        match (property["type"].as_str(), property["format"].as_str()) {
            (Some("integer"), _) => {
                let n: i64 = value.parse().unwrap_or_else(|_| panic!("{name}={value:?}"));
                if name == "ValidityPeriod" {
                    assert!((1..=36_000).contains(&n), "{name}={n} outside 1..=36000");
                }
            }
            (_, Some("uri")) => assert!(
                value.starts_with("https://") || value.starts_with("http://"),
                "{name}={value:?} is not a URI"
            ),
            (_, Some("phone-number")) => assert!(
                value.starts_with('+') && value[1..].bytes().all(|b| b.is_ascii_digit()),
                "{name}={value:?} is not E.164"
            ),
            _ => {}
        }
    }
}

#[tokio::test]
async fn requests_validate_against_twilios_api_description() -> anyhow::Result<()> {
    let fake = FakeTwilio::start().await;
    let client = TwilioClient::new(fake.config())?;
    client.send("+15551230001", FROM, "plain").await?;
    client
        .send_with(
            "+15551230001",
            FROM,
            "with options",
            &agenthost_twilio::SendOptions {
                validity_period_secs: Some(90_000),
                status_callback: Some("https://sms.example.test/hooks/twilio/status".into()),
            },
        )
        .await?;
    let sent = fake.requests();
    assert_eq!(sent.len(), 2);
    for request in &sent {
        assert_valid_create(request);
    }
    assert_eq!(
        sent[1].validity_period.as_deref(),
        Some("36000"),
        "clamped to Twilio's maximum"
    );
    assert_eq!(
        sent[1].status_callback.as_deref(),
        Some("https://sms.example.test/hooks/twilio/status")
    );
    // The lookup's query parameters are ones the list operation declares.
    let spec = messages_spec();
    let declared: Vec<&str> =
        spec["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
    for used in ["To", "From", "PageSize"] {
        assert!(declared.contains(&used), "{used} is not a list parameter");
    }
    Ok(())
}
