//! `FakeTwilio`: a loopback stand-in for Twilio's Messages API, for tests in this crate and
//! the host's end-to-end tests. It records every send, checks basic auth like Twilio, and
//! answers with Twilio's own shapes — a Message resource (201) or Twilio's error JSON —
//! including scripted failures per `To` number, throttling and server errors.
//!
//! Only built with the `fake` feature.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::client::TwilioConfig;

/// The account sid [`FakeTwilio::start`] accepts.
pub const FAKE_ACCOUNT_SID: &str = "AC0000000000000000000000000000fa4e";
/// The auth token [`FakeTwilio::start`] accepts.
pub const FAKE_AUTH_TOKEN: &str = "fake-twilio-auth-token";

/// One request the fake received on the Messages resource, whatever it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedSms {
    /// The `To` form field (empty when missing).
    pub to: String,
    /// The `From` form field, when sent.
    pub from: Option<String>,
    /// The `Body` form field (empty when missing).
    pub body: String,
    /// The `MessagingServiceSid` form field, when sent.
    pub messaging_service_sid: Option<String>,
    /// Whether basic auth matched the fake's account sid and token.
    pub auth_ok: bool,
    /// The HTTP status the fake answered.
    pub status: u16,
    /// The message sid the fake assigned, when it accepted the message (201).
    pub sid: Option<String>,
    /// When it was accepted, as Twilio's `date_created` (empty otherwise).
    pub created: String,
    /// The `ValidityPeriod` form field, when sent.
    pub validity_period: Option<String>,
    /// The `StatusCallback` form field, when sent.
    pub status_callback: Option<String>,
    /// Every form field as sent, in order (for checking against Twilio's API description).
    pub fields: Vec<(String, String)>,
    /// When the fake received it.
    pub at: std::time::Instant,
}

impl RecordedSms {
    /// Whether the fake accepted this message (answered 201).
    pub fn accepted(&self) -> bool {
        self.status == 201
    }
}

/// What the fake should answer instead of accepting.
#[derive(Debug, Default)]
struct Script {
    /// `To` number → Twilio error code answered with 400 for every send to it.
    failing: HashMap<String, i64>,
    /// How many of the next requests get 429 with `Retry-After: 1`.
    throttle: u32,
    /// HTTP statuses for the next requests, in order (e.g. 500, 503).
    errors: VecDeque<u16>,
    /// How many of the next messages are accepted (recorded, listed) but answered only
    /// after this long: a client with a shorter timeout sees an ambiguous failure.
    stall: u32,
    stall_for: Duration,
}

struct Shared {
    account_sid: String,
    auth_token: String,
    script: Mutex<Script>,
    log: Mutex<Vec<RecordedSms>>,
    /// The number of recorded requests, for [`FakeTwilio::wait_for`].
    count: watch::Sender<usize>,
    next_sid: Mutex<u64>,
}

/// Locks ignoring poison: a panicking test thread must not take the fake down with it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A fake Twilio on `127.0.0.1:<random port>`. Stops when dropped or on
/// [`FakeTwilio::shutdown`].
pub struct FakeTwilio {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeTwilio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeTwilio")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FakeTwilio {
    /// Starts a fake accepting [`FAKE_ACCOUNT_SID`] / [`FAKE_AUTH_TOKEN`].
    ///
    /// # Panics
    /// If no loopback port can be bound; use [`FakeTwilio::try_start`] to handle that.
    pub async fn start() -> FakeTwilio {
        match Self::try_start(FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN).await {
            Ok(fake) => fake,
            Err(e) => panic!("fake twilio could not bind 127.0.0.1:0: {e}"),
        }
    }

    /// Starts a fake accepting the given credentials.
    pub async fn try_start(account_sid: &str, auth_token: &str) -> std::io::Result<FakeTwilio> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (count, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            script: Mutex::new(Script::default()),
            log: Mutex::new(Vec::new()),
            count,
            next_sid: Mutex::new(0),
        });
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account_sid}/Messages.json",
                post(create_message).get(list_messages),
            )
            .fallback(not_found)
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "fake twilio server stopped with an error");
            }
        });
        Ok(FakeTwilio {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:<port>`: the `api_base` to point a client at.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client config for this fake: its base URL and the credentials it accepts.
    pub fn config(&self) -> TwilioConfig {
        TwilioConfig {
            api_base: self.base_url(),
            account_sid: self.shared.account_sid.clone(),
            auth_token: self.shared.auth_token.clone(),
            messaging_service_sid: None,
            timeout: Duration::from_secs(5),
        }
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedSms> {
        lock(&self.shared.log).clone()
    }

    /// The requests the fake accepted (201), in arrival order.
    pub fn accepted(&self) -> Vec<RecordedSms> {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.accepted())
            .cloned()
            .collect()
    }

    /// Every send to `to` from now on gets HTTP 400 with Twilio error `code` (e.g. 21211
    /// invalid number, 21610 opted out).
    pub fn fail_number(&self, to: &str, code: i64) {
        lock(&self.shared.script)
            .failing
            .insert(to.to_owned(), code);
    }

    /// Sends to `to` are accepted again.
    pub fn heal_number(&self, to: &str) {
        lock(&self.shared.script).failing.remove(to);
    }

    /// Forgets every scripted failure: from now on every valid request is accepted.
    pub fn heal_all(&self) {
        *lock(&self.shared.script) = Script::default();
    }

    /// The next `n` requests (any `To`) get HTTP 429 with `Retry-After: 1`.
    pub fn throttle_next(&self, n: u32) {
        lock(&self.shared.script).throttle = n;
    }

    /// The next `n` requests (after any throttling) get HTTP `status`, e.g. 500 or 503,
    /// with Twilio's error JSON.
    pub fn error_next(&self, n: u32, status: u16) {
        let mut script = lock(&self.shared.script);
        script
            .errors
            .extend(std::iter::repeat_n(status, n as usize));
    }

    /// The next `n` messages are accepted (they count as sent and are listed) but
    /// answered only after `delay`: what a client sees when Twilio took a message and the
    /// answer was lost.
    pub fn accept_then_stall_next(&self, n: u32, delay: Duration) {
        let mut script = lock(&self.shared.script);
        script.stall = n;
        script.stall_for = delay;
    }

    /// Waits until at least `n` requests have been received (whatever was answered) or
    /// `timeout` passes, and returns all requests so far — possibly fewer than `n` on
    /// timeout, so the caller's assertion shows what did arrive.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<RecordedSms> {
        let mut rx = self.shared.count.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|c| *c >= n)).await;
        self.requests()
    }

    /// How many requests have been received so far (without copying them).
    pub fn count(&self) -> usize {
        *self.shared.count.borrow()
    }

    /// Like [`FakeTwilio::wait_for`], returning only the count: nothing is copied, so a
    /// timing loop measures the host, not the fake.
    pub async fn wait_for_count(&self, n: usize, timeout: Duration) -> usize {
        let mut rx = self.shared.count.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|c| *c >= n)).await;
        self.count()
    }

    /// Like [`FakeTwilio::wait_for`], counting only accepted (201) messages.
    pub async fn wait_for_accepted(&self, n: usize, timeout: Duration) -> Vec<RecordedSms> {
        let mut rx = self.shared.count.subscribe();
        let shared = Arc::clone(&self.shared);
        let enough =
            move |_: &usize| lock(&shared.log).iter().filter(|r| r.accepted()).count() >= n;
        let _ = tokio::time::timeout(timeout, rx.wait_for(enough)).await;
        self.accepted()
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Twilio's error JSON with its headers.
fn twilio_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = serde_json::json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, axum::Json(body)).into_response()
}

fn error_message(code: i64, to: &str) -> String {
    match code {
        21211 => format!("Invalid 'To' Phone Number: {to}"),
        21408 => format!(
            "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}"
        ),
        21610 => "Attempt to send to unsubscribed recipient".to_owned(),
        21614 => format!("'To' number {to} is not a valid mobile number"),
        other => format!("fake twilio error {other}"),
    }
}

async fn not_found() -> Response {
    twilio_error(
        StatusCode::NOT_FOUND,
        20404,
        "The requested resource was not found",
    )
}

fn basic_auth_ok(headers: &HeaderMap, sid: &str, token: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(decoded) = BASE64.decode(encoded.trim()) else {
        return false;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return false;
    };
    decoded.split_once(':') == Some((sid, token))
}

async fn create_message(
    State(shared): State<Arc<Shared>>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut fields: HashMap<String, String> = HashMap::new();
    for (k, v) in form_urlencoded::parse(&body) {
        fields
            .entry(k.into_owned())
            .or_insert_with(|| v.into_owned());
    }
    let mut record = RecordedSms {
        to: fields.get("To").cloned().unwrap_or_default(),
        from: fields.get("From").cloned(),
        body: fields.get("Body").cloned().unwrap_or_default(),
        messaging_service_sid: fields.get("MessagingServiceSid").cloned(),
        auth_ok: basic_auth_ok(&headers, &shared.account_sid, &shared.auth_token),
        status: 0,
        sid: None,
        created: String::new(),
        validity_period: fields.get("ValidityPeriod").cloned(),
        status_callback: fields.get("StatusCallback").cloned(),
        fields: form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        at: std::time::Instant::now(),
    };
    let response = answer(&shared, &account_sid, &headers, &mut record);
    record.status = response.status().as_u16();
    let stall = {
        let mut script = lock(&shared.script);
        (record.accepted() && script.stall > 0).then(|| {
            script.stall -= 1;
            script.stall_for
        })
    };
    lock(&shared.log).push(record);
    shared.count.send_modify(|c| *c += 1);
    if let Some(delay) = stall {
        tokio::time::sleep(delay).await;
    }
    response
}

/// `GET Messages.json?To=&From=&PageSize=`: the accepted messages, newest first, as
/// Twilio's list resource shapes them.
async fn list_messages(
    State(shared): State<Arc<Shared>>,
    Path(account_sid): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !basic_auth_ok(&headers, &shared.account_sid, &shared.auth_token) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let page_size: usize = query
        .get("PageSize")
        .and_then(|p| p.parse().ok())
        .unwrap_or(50);
    let messages: Vec<serde_json::Value> = lock(&shared.log)
        .iter()
        .rev()
        .filter(|r| r.accepted())
        .filter(|r| query.get("To").is_none_or(|to| *to == r.to))
        .filter(|r| {
            query
                .get("From")
                .is_none_or(|from| Some(from) == r.from.as_ref())
        })
        .take(page_size)
        .map(|r| message_json(&account_sid, r))
        .collect();
    axum::Json(serde_json::json!({
        "messages": messages,
        "end": messages.len().saturating_sub(1),
        "first_page_uri": format!("/2010-04-01/Accounts/{account_sid}/Messages.json?PageSize={page_size}&Page=0"),
        "next_page_uri": null,
        "page": 0,
        "page_size": page_size,
        "previous_page_uri": null,
        "start": 0,
        "uri": format!("/2010-04-01/Accounts/{account_sid}/Messages.json?PageSize={page_size}&Page=0"),
    }))
    .into_response()
}

/// Decides the answer, in the order Twilio checks: auth, resource, script, validation.
fn answer(
    shared: &Shared,
    account_sid: &str,
    headers: &HeaderMap,
    record: &mut RecordedSms,
) -> Response {
    if !record.auth_ok {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    if account_sid != shared.account_sid {
        return twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            &format!(
                "The requested resource /2010-04-01/Accounts/{account_sid}/Messages.json was not found"
            ),
        );
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return twilio_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            20415,
            "fake twilio expects application/x-www-form-urlencoded",
        );
    }
    {
        let mut script = lock(&shared.script);
        if script.throttle > 0 {
            script.throttle -= 1;
            let mut response =
                twilio_error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests");
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return response;
        }
        if let Some(status) = script.errors.pop_front() {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return twilio_error(status, 20500, "An internal server error has occurred");
        }
        if record.to.is_empty() {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                21604,
                "A 'To' phone number is required.",
            );
        }
        if record.from.is_none() && record.messaging_service_sid.is_none() {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                21603,
                "A 'From' phone number is required.",
            );
        }
        if record.body.is_empty() {
            return twilio_error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
        }
        if let Some(&code) = script.failing.get(&record.to) {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                code,
                &error_message(code, &record.to),
            );
        }
    }
    let sid = {
        let mut next = lock(&shared.next_sid);
        *next += 1;
        format!("SM{:032x}", *next)
    };
    record.sid = Some(sid);
    record.created = rfc2822_now();
    (
        StatusCode::CREATED,
        axum::Json(message_json(account_sid, record)),
    )
        .into_response()
}

/// Now as Twilio writes dates: `Thu, 24 Aug 2023 05:01:45 +0000`.
fn rfc2822_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{weekday}, {day:02} {} {year} {:02}:{:02}:{:02} +0000",
        months[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A Message resource for an accepted message.
fn message_json(account_sid: &str, record: &RecordedSms) -> serde_json::Value {
    let sid = record.sid.clone().unwrap_or_default();
    let uri = format!("/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json");
    serde_json::json!({
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": record.body,
        "date_created": record.created,
        "date_sent": null,
        "date_updated": record.created,
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": record.from,
        "messaging_service_sid": record.messaging_service_sid,
        "num_media": "0",
        "num_segments": "1",
        "price": null,
        "price_unit": null,
        "sid": sid,
        "status": if record.messaging_service_sid.is_some() { "accepted" } else { "queued" },
        "subresource_uris": { "media": format!("/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json") },
        "to": record.to,
        "uri": uri,
    })
}
