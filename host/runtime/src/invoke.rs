//! Running one invocation in a fresh instance and classifying how it ended.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use agenthost_core::{
    CronJob, Direction, Effects, InboundMessage, Invocation, InvocationReport, Outcome, PluginName,
    VersionId,
};
use tokio::sync::OwnedSemaphorePermit;
use wasmtime::{Store, Trap, UpdateDeadline};

use crate::bindings::PluginPre;
use crate::bindings::agenthost::plugin::types as wit;
use crate::engine::Runtime;
use crate::host::{BudgetExceeded, HostFailure, HostState, Policy, RuleViolation, Scope};
use crate::limits::{Limits, MemoryLimitExceeded, RequestedLimits};
use crate::plugin::{Description, Plugin};

pub(crate) enum Call {
    Describe,
    Message(wit::InboundMessage),
    Job(wit::Job),
}

pub(crate) enum CallResult {
    Described(Box<Description>),
    Handled,
}

/// The deadline's own error, raised from the epoch callback.
#[derive(Debug, thiserror::Error)]
#[error("wall-clock deadline exceeded")]
struct DeadlineExceeded;

/// Permission to run one invocation now: a slot of the plugin's own concurrency and an
/// instance of the engine's pool. Taken before a worker claims an event's lease, so that
/// waiting for capacity never eats into a lease, and dropped when the invocation ends.
#[derive(Debug)]
pub struct Admission {
    _slot: OwnedSemaphorePermit,
    _instance: OwnedSemaphorePermit,
    /// Held by shadow runs: one of the bounded shadow slots.
    _shadow: Option<OwnedSemaphorePermit>,
}

impl Plugin {
    /// Waits for a concurrency slot of this plugin, then for an instance of the pool.
    pub async fn admit(&self) -> Admission {
        let p = &self.inner;
        let slot = p
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("plugin semaphore is never closed");
        let instance = p.runtime.instance_permit().await;
        Admission {
            _slot: slot,
            _instance: instance,
            _shadow: None,
        }
    }

    /// Admission for a shadow run, or `None` when shadows are at their own bound, the
    /// candidate is at its concurrency, or the pool has no free instance: shadow work is
    /// shed first, never queued ahead of (or behind) real work.
    pub fn try_admit_shadow(&self) -> Option<Admission> {
        let p = &self.inner;
        let shadow = p.runtime.try_shadow_permit()?;
        let slot = p.permits.clone().try_acquire_owned().ok()?;
        let instance = p.runtime.try_instance_permit()?;
        Some(Admission {
            _slot: slot,
            _instance: instance,
            _shadow: Some(shadow),
        })
    }

    /// Runs `invocation` in a fresh instance of this version, waiting for admission first.
    /// Never panics and never returns early: every ending is an `Outcome`.
    pub async fn invoke(&self, invocation: Invocation, scope: Scope) -> InvocationReport {
        let admission = self.admit().await;
        self.invoke_admitted(&admission, invocation, scope).await
    }

    /// Runs `invocation` under an admission taken earlier (one admission may serve
    /// several runs in turn, e.g. a re-run after a state conflict).
    pub async fn invoke_admitted(
        &self,
        _admission: &Admission,
        invocation: Invocation,
        scope: Scope,
    ) -> InvocationReport {
        let p = &self.inner;
        let call = match invocation {
            Invocation::Message(m) => Call::Message(to_wit_message(m)),
            Invocation::Job(j) => Call::Job(wit::Job {
                name: j.name,
                conversation_id: j.conversation_id.map(String::from),
                payload: j.payload,
                scheduled_at_ms: j.scheduled_at_ms,
                dry_run: j.dry_run,
            }),
        };
        let started = Instant::now();
        let (outcome, _, (effects, fuel_used)) = run(
            &p.runtime, &p.name, &p.version, &p.config, &p.limits, &p.policy, scope, &p.pre, call,
        )
        .await;
        InvocationReport {
            plugin: p.name.clone(),
            version: p.version.clone(),
            effects: if outcome.is_ok() {
                effects
            } else {
                Effects::default()
            },
            outcome,
            fuel_used,
            duration: started.elapsed(),
        }
    }
}

fn to_wit_message(m: InboundMessage) -> wit::InboundMessage {
    wit::InboundMessage {
        conversation_id: m.conversation_id.into_string(),
        message_id: m.message_id,
        from: m.from,
        to: m.to,
        body: m.body,
        received_at_ms: m.received_at_ms,
        history: m
            .history
            .into_iter()
            .map(|h| wit::HistoryEntry {
                direction: match h.direction {
                    Direction::Inbound => wit::Direction::Inbound,
                    Direction::Outbound => wit::Direction::Outbound,
                },
                body: h.body,
                at_ms: h.at_ms,
            })
            .collect(),
        dry_run: m.dry_run,
    }
}

/// One invocation in a fresh store: limits applied, the call awaited under the deadline,
/// the ending classified. Returns the outcome, the call's value if it returned, and the
/// buffered effects with the fuel used.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    runtime: &Runtime,
    name: &PluginName,
    version: &VersionId,
    config: &Arc<BTreeMap<String, String>>,
    limits: &Limits,
    policy: &Arc<Policy>,
    scope: Scope,
    pre: &PluginPre<HostState>,
    call: Call,
) -> (Outcome, Option<CallResult>, (Effects, u64)) {
    let inner = &runtime.inner;
    let started = Instant::now();
    let deadline = started + limits.wall_clock;
    let state = HostState::new(
        name.clone(),
        version.clone(),
        config.clone(),
        inner.caps.clone(),
        deadline,
        *limits,
        scope,
        policy.clone(),
    );
    let mut store = Store::new(&inner.engine, state);
    store.limiter(|s| &mut s.limiter);
    if let Err(e) = store.set_fuel(limits.fuel) {
        return (
            Outcome::HostError {
                message: format!("setting fuel: {e}"),
            },
            None,
            Default::default(),
        );
    }
    // Checked every epoch tick while wasm runs: past the deadline the guest traps;
    // before it, the guest yields its thread so a spinning plugin cannot hog a worker.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline {
            Err(DeadlineExceeded.into())
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });

    // The timeout covers time spent awaiting host imports, where no epoch check runs.
    let result = tokio::time::timeout_at(deadline.into(), call_plugin(&mut store, pre, call)).await;
    let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
    store.data_mut().flush_guest_stdio();
    let after_ms = started.elapsed().as_millis() as u64;
    let (outcome, value) = match result {
        Err(_elapsed) => (Outcome::Deadline { after_ms }, None),
        Ok(Ok((outcome, value))) => (outcome, value),
        Ok(Err(e)) => (classify(&e, store.data(), limits, after_ms), None),
    };
    if !outcome.is_ok() {
        tracing::warn!(plugin = %name, version = %version, outcome = outcome.label(), "{outcome}");
    }
    let effects = std::mem::take(&mut store.data_mut().effects);
    (outcome, value, (effects, fuel_used))
}

async fn call_plugin(
    store: &mut Store<HostState>,
    pre: &PluginPre<HostState>,
    call: Call,
) -> wasmtime::Result<(Outcome, Option<CallResult>)> {
    let bindings = pre.instantiate_async(&mut *store).await?;
    let handled = |r: Result<(), wit::PluginError>| match r {
        Ok(()) => (Outcome::Ok, Some(CallResult::Handled)),
        Err(e) => (
            Outcome::PluginError {
                code: e.code,
                message: e.message,
                retryable: e.retryable,
            },
            None,
        ),
    };
    Ok(match call {
        Call::Describe => {
            let d = bindings.call_describe(&mut *store).await?;
            (
                Outcome::Ok,
                Some(CallResult::Described(Box::new(from_wit_description(d)))),
            )
        }
        Call::Message(m) => handled(bindings.call_handle_message(&mut *store, &m).await?),
        Call::Job(j) => handled(bindings.call_handle_job(&mut *store, &j).await?),
    })
}

fn from_wit_description(d: wit::Description) -> Description {
    Description {
        name: d.name,
        version: d.version,
        summary: d.summary,
        cron_jobs: d
            .cron_jobs
            .into_iter()
            .map(|c| CronJob {
                name: c.name,
                schedule: c.schedule,
                timezone: c.timezone,
            })
            .collect(),
        limits: RequestedLimits {
            fuel: d.limits.fuel,
            memory_bytes: d.limits.memory_bytes,
            wall_clock_ms: d.limits.wall_clock_ms,
            max_concurrency: d.limits.max_concurrency,
            max_attempts: d.limits.max_attempts,
            ..RequestedLimits::default()
        },
    }
}

fn classify(e: &wasmtime::Error, state: &HostState, limits: &Limits, after_ms: u64) -> Outcome {
    if e.downcast_ref::<DeadlineExceeded>().is_some() {
        return Outcome::Deadline { after_ms };
    }
    if state.limiter.hit || e.downcast_ref::<MemoryLimitExceeded>().is_some() {
        return Outcome::MemoryLimit {
            limit_bytes: limits.memory_bytes,
        };
    }
    if let Some(h) = e.downcast_ref::<HostFailure>() {
        return Outcome::HostError {
            message: h.0.clone(),
        };
    }
    if let Some(r) = e.downcast_ref::<RuleViolation>() {
        return Outcome::RuleViolation {
            rule: r.rule.to_owned(),
            message: r.message.clone(),
        };
    }
    if let Some(b) = e.downcast_ref::<BudgetExceeded>() {
        return Outcome::BudgetExhausted {
            budget: b.budget.as_str().to_owned(),
            limit: b.limit,
        };
    }
    // The pool had no free instance: the host's capacity, not this plugin's fault.
    if let Some(p) = e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        return Outcome::HostError {
            message: p.to_string(),
        };
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Outcome::FuelExhausted { fuel: limits.fuel },
        Some(Trap::Interrupt) => Outcome::Deadline { after_ms },
        Some(trap) => Outcome::Trap {
            message: trap.to_string(),
        },
        None => Outcome::Trap {
            message: format!("{:#}", e),
        },
    }
}
