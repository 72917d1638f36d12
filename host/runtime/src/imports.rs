//! The plugin's imports, defined by hand on the linker instead of through the traits
//! `bindgen!` generates, so that every string and list a plugin passes is measured IN
//! GUEST MEMORY before the host copies a byte of it. A `WasmStr`/`WasmList` is only a
//! bounds-checked view of the guest's memory; `take` reads its length there, refuses it
//! past the plugin's per-field limit or its invocation's remaining byte budget, and only
//! then copies. A plugin that passes a 32 MiB string costs the host a refusal, not 32 MiB.
//!
//! The host accepts only components whose strings are UTF-8 (`plugin::check_encodings`),
//! so viewing a string never transcodes (that would allocate before the check).

use wasmtime::StoreContextMut;
use wasmtime::component::{ComponentType, HasSelf, Lift, Linker, WasmList, WasmStr};

use crate::bindings::agenthost::plugin::{clock, effects, llm, log, types};
use crate::caps;
use crate::host::{
    HostState, MAX_ALERT_FIELD_NAME_BYTES, MAX_ALERT_FIELDS, MAX_CONFIG_KEY_BYTES,
    MAX_CONVERSATION_ID_BYTES, MAX_IDENTIFIER_BYTES, MAX_LLM_MESSAGES, MAX_LOG_LINE_BYTES,
    MAX_SMS_BODY_BYTES, MAX_STATE_KEY_BYTES, RuleViolation,
};
use crate::sms::MAX_E164_BYTES;
use agenthost_core::Severity;

const STATE: &str = "agenthost:plugin/state@0.1.0";
const LLM: &str = "agenthost:plugin/llm@0.1.0";
const LOG: &str = "agenthost:plugin/log@0.1.0";
const CONFIG: &str = "agenthost:plugin/config@0.1.0";
const EFFECTS: &str = "agenthost:plugin/effects@0.1.0";

/// `effects.alert`, lifted lazily.
#[derive(ComponentType, Lift)]
#[component(record)]
struct AlertArg {
    kind: WasmStr,
    severity: effects::Severity,
    message: WasmStr,
    fields: WasmList<(WasmStr, WasmStr)>,
}

/// `llm.chat-message`, lifted lazily.
#[derive(ComponentType, Lift)]
#[component(record)]
struct ChatArg {
    role: llm::Role,
    content: WasmStr,
}

/// `llm.completion-request`, lifted lazily.
#[derive(ComponentType, Lift)]
#[component(record)]
struct CompletionArg {
    system: Option<WasmStr>,
    messages: WasmList<ChatArg>,
    #[component(name = "max-tokens")]
    max_tokens: u32,
    temperature: Option<f32>,
}

type Store<'a> = StoreContextMut<'a, HostState>;

/// Copies the guest string `s` into the host after checking, in guest memory, that it
/// fits: at most `max` bytes (and the plugin's per-field limit), within what is left of
/// the invocation's byte budget, valid UTF-8 and free of NUL (which PostgreSQL cannot
/// store: refused here so that a commit can never fail on plugin data).
fn take(store: &mut Store<'_>, s: &WasmStr, what: &str, max: usize) -> wasmtime::Result<String> {
    let (field_limit, left) = {
        let h = store.data();
        let field = usize::try_from(h.limits.field_bytes).unwrap_or(usize::MAX);
        let left = h.limits.invocation_bytes.saturating_sub(h.bytes_used);
        (field.min(max), usize::try_from(left).unwrap_or(usize::MAX))
    };
    let owned = {
        let text = s.to_str(&*store).map_err(|e| {
            RuleViolation::refuse("text.utf8", format!("{what} is not valid UTF-8: {e}"))
        })?;
        if text.len() > field_limit {
            return Err(RuleViolation::refuse(
                "bytes.field",
                format!("{what} is {} bytes; the limit is {field_limit}", text.len()),
            ));
        }
        if text.len() > left {
            return Err(RuleViolation::refuse(
                "bytes.invocation",
                format!(
                    "{what} of {} bytes would pass this invocation's byte budget ({left} bytes left)",
                    text.len()
                ),
            ));
        }
        if text.contains('\0') {
            return Err(RuleViolation::refuse(
                "text.nul",
                format!("{what} contains a NUL byte, which the host cannot store"),
            ));
        }
        text.into_owned()
    };
    store.data_mut().bytes_used += owned.len() as u64;
    Ok(owned)
}

fn take_opt(
    store: &mut Store<'_>,
    s: &Option<WasmStr>,
    what: &str,
    max: usize,
) -> wasmtime::Result<Option<String>> {
    s.as_ref().map(|s| take(store, s, what, max)).transpose()
}

/// The elements of a guest list, after checking its length in guest memory.
fn items<T: Lift + 'static>(
    store: &mut Store<'_>,
    list: &WasmList<T>,
    what: &str,
    max: usize,
) -> wasmtime::Result<Vec<T>> {
    if list.len() > max {
        return Err(RuleViolation::refuse(
            "bytes.field",
            format!("{what} has {} entries; the limit is {max}", list.len()),
        ));
    }
    list.iter(&mut *store)?.collect()
}

/// A log line: lossy by design, so an over-long one is cut (in guest memory, before any
/// copy) instead of refused, and NULs are replaced.
fn take_log_line(store: &mut Store<'_>, s: &WasmStr) -> wasmtime::Result<String> {
    let line = {
        let text = s.to_str(&*store).map_err(|e| {
            RuleViolation::refuse("text.utf8", format!("log line is not valid UTF-8: {e}"))
        })?;
        let mut cut = text.len().min(MAX_LOG_LINE_BYTES);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut line = text[..cut].replace('\0', "\u{FFFD}");
        if cut < text.len() {
            line.push_str("… (truncated)");
        }
        line
    };
    store.data_mut().bytes_used += line.len() as u64;
    Ok(line)
}

/// Defines every import of the plugin world on `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    // No strings cross these two: the generated definitions are fine.
    types::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    clock::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;

    let mut state = linker.instance(STATE)?;
    state.func_wrap_async("get", |mut store: Store<'_>, (key,): (WasmStr,)| {
        Box::new(async move {
            let key = take(&mut store, &key, "state key", MAX_STATE_KEY_BYTES)?;
            Ok((store.data_mut().state_get(key).await?,))
        })
    })?;
    state.func_wrap_async(
        "list-keys",
        |mut store: Store<'_>, (prefix, limit): (WasmStr, u32)| {
            Box::new(async move {
                let prefix = take(&mut store, &prefix, "state key prefix", MAX_STATE_KEY_BYTES)?;
                Ok((store.data_mut().state_list_keys(prefix, limit).await?,))
            })
        },
    )?;
    state.func_wrap_async(
        "set",
        |mut store: Store<'_>, (key, value): (WasmStr, WasmStr)| {
            Box::new(async move {
                let key = take(&mut store, &key, "state key", MAX_STATE_KEY_BYTES)?;
                let value = take(&mut store, &value, "state value", usize::MAX)?;
                store.data_mut().state_set(key, Some(value))?;
                Ok(())
            })
        },
    )?;
    state.func_wrap_async("delete", |mut store: Store<'_>, (key,): (WasmStr,)| {
        Box::new(async move {
            let key = take(&mut store, &key, "state key", MAX_STATE_KEY_BYTES)?;
            store.data_mut().state_set(key, None)?;
            Ok(())
        })
    })?;

    let mut llm_instance = linker.instance(LLM)?;
    llm_instance.func_wrap_async(
        "complete",
        |mut store: Store<'_>, (request,): (CompletionArg,)| {
            Box::new(async move {
                let system =
                    take_opt(&mut store, &request.system, "llm system prompt", usize::MAX)?;
                let mut messages = Vec::new();
                for m in items(
                    &mut store,
                    &request.messages,
                    "llm messages",
                    MAX_LLM_MESSAGES,
                )? {
                    let content = take(&mut store, &m.content, "llm message", usize::MAX)?;
                    messages.push(caps::ChatMessage {
                        role: match m.role {
                            llm::Role::User => caps::ChatRole::User,
                            llm::Role::Assistant => caps::ChatRole::Assistant,
                        },
                        content,
                    });
                }
                let request = caps::CompletionRequest {
                    system,
                    messages,
                    max_tokens: request.max_tokens,
                    temperature: request.temperature,
                };
                let result = store.data_mut().llm_complete(request).await?;
                Ok((to_wit_completion(result),))
            })
        },
    )?;

    let mut log_instance = linker.instance(LOG)?;
    log_instance.func_wrap_async(
        "log",
        |mut store: Store<'_>, (level, message): (log::Level, WasmStr)| {
            Box::new(async move {
                if !store.data_mut().log_line_allowed() {
                    return Ok(());
                }
                let message = take_log_line(&mut store, &message)?;
                let h = store.data();
                let (p, v) = (&h.plugin, &h.version);
                match level {
                    log::Level::Debug => tracing::debug!(plugin = %p, version = %v, "{message}"),
                    log::Level::Info => tracing::info!(plugin = %p, version = %v, "{message}"),
                    log::Level::Warn => tracing::warn!(plugin = %p, version = %v, "{message}"),
                    log::Level::Error => tracing::error!(plugin = %p, version = %v, "{message}"),
                }
                Ok(())
            })
        },
    )?;

    let mut config = linker.instance(CONFIG)?;
    config.func_wrap_async("get", |mut store: Store<'_>, (key,): (WasmStr,)| {
        Box::new(async move {
            let key = take(&mut store, &key, "config key", MAX_CONFIG_KEY_BYTES)?;
            Ok((store.data().config.get(&key).cloned(),))
        })
    })?;

    let mut fx = linker.instance(EFFECTS)?;
    fx.func_wrap_async(
        "send-sms",
        |mut store: Store<'_>, (to, body): (WasmStr, WasmStr)| {
            Box::new(async move {
                let to = take(&mut store, &to, "sms recipient", MAX_E164_BYTES)?;
                let body = take(&mut store, &body, "sms body", MAX_SMS_BODY_BYTES)?;
                store.data_mut().send_sms(to, body).await
            })
        },
    )?;
    fx.func_wrap_async(
        "raise-alert",
        |mut store: Store<'_>, (alert,): (AlertArg,)| {
            Box::new(async move {
                let kind = take(&mut store, &alert.kind, "alert kind", MAX_IDENTIFIER_BYTES)?;
                let message = take(&mut store, &alert.message, "alert message", usize::MAX)?;
                let mut fields = Vec::new();
                for (k, v) in items(&mut store, &alert.fields, "alert fields", MAX_ALERT_FIELDS)? {
                    let k = take(
                        &mut store,
                        &k,
                        "alert field name",
                        MAX_ALERT_FIELD_NAME_BYTES,
                    )?;
                    let v = take(&mut store, &v, "alert field value", usize::MAX)?;
                    fields.push((k, v));
                }
                let severity = match alert.severity {
                    effects::Severity::Info => Severity::Info,
                    effects::Severity::Warning => Severity::Warning,
                    effects::Severity::Critical => Severity::Critical,
                };
                store
                    .data_mut()
                    .raise_alert(kind, severity, message, fields)
            })
        },
    )?;
    fx.func_wrap_async(
        "schedule-job",
        |mut store: Store<'_>,
         (key, name, delay_ms, payload, conversation_id): (
            WasmStr,
            WasmStr,
            u64,
            WasmStr,
            Option<WasmStr>,
        )| {
            Box::new(async move {
                let key = take(&mut store, &key, "job key", MAX_IDENTIFIER_BYTES)?;
                let name = take(&mut store, &name, "job name", MAX_IDENTIFIER_BYTES)?;
                let payload = take(&mut store, &payload, "job payload", usize::MAX)?;
                let conversation_id = take_opt(
                    &mut store,
                    &conversation_id,
                    "job conversation id",
                    MAX_CONVERSATION_ID_BYTES,
                )?;
                store
                    .data_mut()
                    .schedule_job(key, name, delay_ms, payload, conversation_id)
                    .await
            })
        },
    )?;
    fx.func_wrap_async("cancel-job", |mut store: Store<'_>, (key,): (WasmStr,)| {
        Box::new(async move {
            let key = take(&mut store, &key, "job key", MAX_IDENTIFIER_BYTES)?;
            store.data_mut().cancel_job(key)
        })
    })?;
    fx.func_wrap_async(
        "track-sla",
        |mut store: Store<'_>,
         (item_id, kind, description, deadline_at_ms): (WasmStr, WasmStr, WasmStr, u64)| {
            Box::new(async move {
                let item_id = take(&mut store, &item_id, "sla item id", MAX_IDENTIFIER_BYTES)?;
                let kind = take(&mut store, &kind, "sla kind", MAX_IDENTIFIER_BYTES)?;
                let description = take(&mut store, &description, "sla description", usize::MAX)?;
                store
                    .data_mut()
                    .track_sla(item_id, kind, description, deadline_at_ms)
            })
        },
    )?;
    fx.func_wrap_async(
        "resolve-sla",
        |mut store: Store<'_>, (item_id,): (WasmStr,)| {
            Box::new(async move {
                let item_id = take(&mut store, &item_id, "sla item id", MAX_IDENTIFIER_BYTES)?;
                store.data_mut().resolve_sla(item_id)
            })
        },
    )?;
    Ok(())
}

fn to_wit_completion(
    result: Result<caps::Completion, caps::LlmError>,
) -> Result<llm::Completion, llm::LlmError> {
    match result {
        Ok(c) => Ok(llm::Completion {
            text: c.text,
            provider: c.provider,
            model: c.model,
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
        }),
        Err(caps::LlmError::Unavailable(why)) => Err(llm::LlmError::Unavailable(why)),
        Err(caps::LlmError::BudgetExhausted) => Err(llm::LlmError::BudgetExhausted),
        Err(caps::LlmError::Timeout) => Err(llm::LlmError::Timeout),
        Err(caps::LlmError::Failed(why)) => Err(llm::LlmError::Failed(why)),
    }
}

impl types::Host for HostState {}

impl clock::Host for HostState {
    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(self.caps.clock.now_ms())
    }
}
