//! End-to-end tests: the real `agenthost` binary on loopback, against real PostgreSQL,
//! RabbitMQ and SQLite, with a fake Twilio (loopback) on the other side. Every scenario
//! runs on both setups: SQLite + embedded queue, and PostgreSQL + RabbitMQ.
//!
//! # Layout
//! - `harness`  — start/kill/restart the binary, sign and post webhooks, per-test databases.
//! - `pipeline` — the message path: reply, dedupe, forged signature, crash, dead letter.

mod agents;
mod harness;
mod pipeline;
