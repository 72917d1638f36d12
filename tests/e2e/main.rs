//! End-to-end tests: the real `agenthost` binary on loopback, against real PostgreSQL,
//! RabbitMQ and SQLite, with a fake Twilio (loopback) on the other side. Every scenario
//! runs on both setups: SQLite + embedded queue, and PostgreSQL + RabbitMQ.
//!
//! # Layout
//! - `harness`  — start/kill/restart the binary, sign and post webhooks, per-test databases.
//! - `pipeline` — the message path: reply, dedupe, forged signature, crash, dead letter.
//! - `deploys`  — upload/activate/rollback (API and CLI), automatic rollback, hot swap under
//!   load, canary, shadow, the plugins folder, replicas converging.
//! - `clock`    — time-driven behaviour on a libfaketime clock: follow-ups, SLA ladder,
//!   missed cron slots, one firing per slot across replicas.
//! - `agents`   — the three agents' conversations through the real host.
//! - `conversations` — the agents as renters text them: answers first, common questions
//!   from the data, constraints, messy numbers, scheduling with reminders, handoffs,
//!   Spanish, no repeats, the LLM guard, a config refused at load.
//! - `llm`      — agents with an LLM (fake OpenAI-compatible server): context in prompts,
//!   budget exhaustion falls back with one alert.
//! - `state`    — `scripts/verify-deploy.sh` and `agenthost state` against a real host.
//! - `hostile`  — one hostile plugin per attack on the sandbox boundary (huge strings,
//!   strangers, foreign conversations, spoofed alerts, NUL bytes, many memories, pool
//!   hogging, spent budgets): a typed refusal, the host's memory bounded, nothing sent or
//!   written, one alert naming the rule, every other plugin still answering.
//! - `compliance` — consent keywords and revocations across agents, HELP, quiet hours in
//!   the lead's zone on a libfaketime clock, the frequency cap, a backlog at the sender's
//!   pace across replicas, out-of-order status callbacks, the 30007 pause.
//! - `security` — the public listener serves Twilio and liveness only; scoped, audited
//!   admin tokens; only signed versions accepted when required (API, CLI, folder).
//! - `console`  — the operator's console: takeover held on every replica, staff replies
//!   under the consent rules, a plugin's handoff request, dead letters requeued and
//!   discarded with history, the live summary, the local SMS sink and `agenthost chat`,
//!   and the page itself driven in headless Chromium on a phone and a laptop.
//! - `ops`      — /metrics, alerts via a fake Discord, readiness through drains and outages,
//!   SIGTERM under load, config that fails fast, no secret in any log line.

mod agents;
mod clock;
mod compliance;
mod console;
mod conversations;
mod deploys;
mod harness;
mod hostile;
mod llm;
mod ops;
mod pipeline;
mod security;
mod state;
