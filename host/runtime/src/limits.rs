//! Per-plugin resource limits: what a plugin asks for, the host's defaults and ceilings,
//! and the memory limiter that enforces the linear-memory cap.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Limits a plugin asks for in its description, or an operator sets for it. `None`
/// means "the host default".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedLimits {
    pub fuel: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub wall_clock_ms: Option<u32>,
    pub max_concurrency: Option<u32>,
    pub max_attempts: Option<u32>,
    /// Largest string (or list, in bytes) one import call may hand the host. Operator only:
    /// a plugin's description cannot raise it.
    #[serde(default)]
    pub field_bytes: Option<u64>,
    /// Everything one invocation may make the host buffer: effects, state writes, log
    /// lines, LLM prompts. Operator only.
    #[serde(default)]
    pub invocation_bytes: Option<u64>,
    /// Per-day budgets, enforced durably by the host. Operator only.
    #[serde(default)]
    pub sms_segments_per_day: Option<u64>,
    #[serde(default)]
    pub jobs_per_day: Option<u64>,
}

impl RequestedLimits {
    /// `self` where set, else `fallback`: operator overrides win over the plugin's ask.
    pub fn or(self, fallback: RequestedLimits) -> RequestedLimits {
        RequestedLimits {
            fuel: self.fuel.or(fallback.fuel),
            memory_bytes: self.memory_bytes.or(fallback.memory_bytes),
            wall_clock_ms: self.wall_clock_ms.or(fallback.wall_clock_ms),
            max_concurrency: self.max_concurrency.or(fallback.max_concurrency),
            max_attempts: self.max_attempts.or(fallback.max_attempts),
            field_bytes: self.field_bytes.or(fallback.field_bytes),
            invocation_bytes: self.invocation_bytes.or(fallback.invocation_bytes),
            sms_segments_per_day: self.sms_segments_per_day.or(fallback.sms_segments_per_day),
            jobs_per_day: self.jobs_per_day.or(fallback.jobs_per_day),
        }
    }

    /// Only what a plugin may ask for itself: the byte limits and daily budgets are the
    /// operator's to set, so a description's values for them are ignored.
    pub fn plugin_askable(self) -> RequestedLimits {
        RequestedLimits {
            field_bytes: None,
            invocation_bytes: None,
            sms_segments_per_day: None,
            jobs_per_day: None,
            ..self
        }
    }
}

/// What a plugin may spend per UTC day, counted durably by the host (in the database, so
/// restarts and replicas share one count). Reaching one ends the invocation as
/// `budget_exhausted` with one alert per plugin, budget and day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyBudgets {
    /// SMS segments (GSM-7 153/160, UCS-2 67/70 per segment) committed for sending.
    pub sms_segments: u64,
    /// One-off jobs scheduled.
    pub jobs: u64,
    // LLM tokens are budgeted by the LLM gateway (`AGENTHOST_LLM_DAILY_TOKENS`), counted
    // in the same durable ledger.
}

/// Effective limits of one plugin version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub fuel: u64,
    pub memory_bytes: u64,
    pub wall_clock: Duration,
    pub max_concurrency: u32,
    pub max_attempts: u32,
    /// Largest single string or list (bytes) an import call may pass.
    pub field_bytes: u64,
    /// Total bytes one invocation may make the host buffer.
    pub invocation_bytes: u64,
    pub budgets: DailyBudgets,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // ~ a few hundred ms of busy guest code; an echo needs ~20k.
            fuel: 500_000_000,
            memory_bytes: 64 << 20,
            wall_clock: Duration::from_secs(30),
            max_concurrency: 16,
            max_attempts: 5,
            // Far above anything an agent sends (an SMS is at most 6.4 KB, a lead's
            // record a few KB), far below what hurts the host.
            field_bytes: 256 << 10,
            invocation_bytes: 4 << 20,
            // A busy leasing office sends a few thousand texts a day; these stop a spray
            // at a bill an operator notices, not a catastrophe.
            budgets: DailyBudgets {
                sms_segments: 50_000,
                jobs: 100_000,
            },
        }
    }
}

/// The most any plugin may get, whatever it asks. Also sizes the engine's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ceilings {
    pub fuel: u64,
    pub memory_bytes: u64,
    pub wall_clock: Duration,
    pub max_concurrency: u32,
    pub max_attempts: u32,
    pub field_bytes: u64,
    pub invocation_bytes: u64,
}

impl Default for Ceilings {
    fn default() -> Self {
        Ceilings {
            fuel: 20_000_000_000,
            memory_bytes: 512 << 20,
            wall_clock: Duration::from_secs(120),
            max_concurrency: 256,
            max_attempts: 50,
            field_bytes: 4 << 20,
            invocation_bytes: 32 << 20,
        }
    }
}

impl Limits {
    /// Applies `requested` over `defaults`, each value clamped to `[1, ceiling]`.
    pub fn resolve(requested: RequestedLimits, defaults: Limits, ceilings: Ceilings) -> Limits {
        let wall_ms = requested
            .wall_clock_ms
            .map(|ms| Duration::from_millis(u64::from(ms)))
            .unwrap_or(defaults.wall_clock);
        Limits {
            fuel: requested
                .fuel
                .unwrap_or(defaults.fuel)
                .clamp(1, ceilings.fuel),
            memory_bytes: requested
                .memory_bytes
                .unwrap_or(defaults.memory_bytes)
                .clamp(64 << 10, ceilings.memory_bytes),
            wall_clock: wall_ms.clamp(Duration::from_millis(1), ceilings.wall_clock),
            max_concurrency: requested
                .max_concurrency
                .unwrap_or(defaults.max_concurrency)
                .clamp(1, ceilings.max_concurrency),
            max_attempts: requested
                .max_attempts
                .unwrap_or(defaults.max_attempts)
                .clamp(1, ceilings.max_attempts),
            field_bytes: requested
                .field_bytes
                .unwrap_or(defaults.field_bytes)
                .clamp(1 << 10, ceilings.field_bytes),
            invocation_bytes: requested
                .invocation_bytes
                .unwrap_or(defaults.invocation_bytes)
                .clamp(1 << 10, ceilings.invocation_bytes),
            budgets: DailyBudgets {
                sms_segments: requested
                    .sms_segments_per_day
                    .unwrap_or(defaults.budgets.sms_segments),
                jobs: requested.jobs_per_day.unwrap_or(defaults.budgets.jobs),
            },
        }
    }

    /// This plugin's concurrency, clamped so that it can never hold more than its share
    /// of the instance pool (`pool_share` instances), whatever it asked for.
    pub fn clamp_concurrency(mut self, pool_share: u32) -> Limits {
        self.max_concurrency = self.max_concurrency.min(pool_share.max(1));
        self
    }
}

/// Tables are only used for indirect calls; a guest that grows one past this is broken or
/// hostile ("guest-controlled resource exhaustion").
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Enforces the memory cap on the SUM of an instance's linear memories (a component may
/// hold several, one per core module), and remembers that it had to, so the outcome can
/// say "memory limit" rather than a generic trap.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    pub max_bytes: usize,
    /// Bytes of every memory of this instance together, as granted so far.
    pub total_bytes: usize,
    pub hit: bool,
}

impl MemoryLimiter {
    pub fn new(max_bytes: usize) -> MemoryLimiter {
        MemoryLimiter {
            max_bytes,
            total_bytes: 0,
            hit: false,
        }
    }
}

/// The error a denied memory growth raises inside the guest.
#[derive(Debug, thiserror::Error)]
#[error(
    "memory limit of {limit_bytes} bytes exceeded (all memories together would be {desired_bytes})"
)]
pub(crate) struct MemoryLimitExceeded {
    pub limit_bytes: usize,
    pub desired_bytes: usize,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Called for each memory's initial size at instantiation (current 0) and for
        // every growth after, so the running total covers all memories of the instance.
        let total = self
            .total_bytes
            .saturating_sub(current)
            .saturating_add(desired);
        if total > self.max_bytes {
            self.hit = true;
            return Err(MemoryLimitExceeded {
                limit_bytes: self.max_bytes,
                desired_bytes: total,
            }
            .into());
        }
        self.total_bytes = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_limits_are_clamped_to_ceilings_and_defaults_fill_gaps() {
        let ceilings = Ceilings {
            fuel: 1_000,
            memory_bytes: 1 << 20,
            wall_clock: Duration::from_secs(2),
            max_concurrency: 4,
            max_attempts: 3,
            field_bytes: 64 << 10,
            invocation_bytes: 1 << 20,
        };
        let requested = RequestedLimits {
            fuel: Some(5_000),
            memory_bytes: None,
            wall_clock_ms: Some(500),
            max_concurrency: Some(0),
            max_attempts: None,
            field_bytes: Some(1 << 30),
            ..Default::default()
        };
        let l = Limits::resolve(requested, Limits::default(), ceilings);
        assert_eq!(l.fuel, 1_000, "fuel clamps to the ceiling");
        assert_eq!(
            l.memory_bytes,
            1 << 20,
            "default 64 MiB clamps to the 1 MiB ceiling"
        );
        assert_eq!(l.wall_clock, Duration::from_millis(500));
        assert_eq!(
            l.max_concurrency, 1,
            "zero concurrency would deadlock; floor is 1"
        );
        assert_eq!(l.max_attempts, 3);
        assert_eq!(
            l.field_bytes,
            64 << 10,
            "byte limits clamp to their ceiling"
        );
        assert_eq!(l.invocation_bytes, 1 << 20);
        assert_eq!(l.clamp_concurrency(2).max_concurrency, 1);
        let wide = Limits {
            max_concurrency: 200,
            ..l
        };
        assert_eq!(wide.clamp_concurrency(64).max_concurrency, 64);
    }

    #[test]
    fn a_plugin_cannot_ask_for_operator_only_limits() {
        let asked = RequestedLimits {
            fuel: Some(7),
            field_bytes: Some(1 << 30),
            sms_segments_per_day: Some(u64::MAX),
            ..Default::default()
        }
        .plugin_askable();
        assert_eq!(asked.fuel, Some(7));
        assert_eq!(asked.field_bytes, None);
        assert_eq!(asked.sms_segments_per_day, None);
    }

    #[test]
    fn the_memory_cap_is_on_the_sum_of_all_memories() {
        use wasmtime::ResourceLimiter;
        let mut l = MemoryLimiter::new(64 << 20);
        // Four memories instantiated at 10 MiB each: 40 MiB in all.
        for _ in 0..4 {
            assert!(l.memory_growing(0, 10 << 20, None).unwrap());
        }
        // One grows to 30 MiB: 60 MiB in all, still under.
        assert!(l.memory_growing(10 << 20, 30 << 20, None).unwrap());
        // Another grows to 20 MiB: 70 MiB in all, refused although that memory alone is small.
        assert!(l.memory_growing(10 << 20, 20 << 20, None).is_err());
        assert!(l.hit);
        assert_eq!(l.total_bytes, 60 << 20);
    }

    #[test]
    fn operator_overrides_win_over_the_plugins_request() {
        let plugin = RequestedLimits {
            fuel: Some(10),
            wall_clock_ms: Some(100),
            ..Default::default()
        };
        let operator = RequestedLimits {
            fuel: Some(20),
            ..Default::default()
        };
        let merged = operator.or(plugin);
        assert_eq!(merged.fuel, Some(20));
        assert_eq!(merged.wall_clock_ms, Some(100));
    }
}
