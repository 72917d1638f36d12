//! The message path, from a durably accepted event to a sent SMS.
//!
//! # Layout
//! - `routes`   — which plugin answers each Twilio number.
//! - `ingest`   — group commit of accepted webhooks, then durable enqueue on the plugin's lane.
//! - `worker`   — one consumer per lane slot: claim (a lease on the event and its
//!   conversation), invoke the version `agenthost_runtime::Registry` selects, commit
//!   effects in ONE transaction, ack; failures follow `agenthost_core::RetryPolicy`.
//! - `leases`   — this process's lease tokens and the heartbeat that keeps them alive.
//! - `policy`   — the send policy: quiet hours, frequency cap, pace, pauses (with
//!   `agenthost-compliance`'s rules).
//! - `delivery` — Twilio's status callbacks: monotonic delivery status, filtered-rate pause.
//! - `outbox`   — sends committed SMS through Twilio; retries, permanent failures, leases.
//! - `metrics`  — invocations by outcome, duration, fuel, retries, dead letters (Prometheus).
//! - `sweep`    — re-publishes events that were stored but never reached the queue.
//! - `state`    — the runtime's `StateReader`, `Directory` and `BudgetLedger` over storage.
//!
//! Invariant: an event is acknowledged only after its effects committed, and a commit
//! happens at most once per event (`Claims::commit` refuses an event already done), so
//! redelivery never duplicates a reply.

pub mod delivery;
pub mod handoff;
pub mod ingest;
pub mod leases;
pub mod metrics;
pub mod outbox;
pub mod policy;
pub mod routes;
pub mod state;
pub mod sweep;
pub mod worker;

pub use agenthost_core::now_ms;
