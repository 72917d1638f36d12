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
        }
    }
}

/// Effective limits of one plugin version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub fuel: u64,
    pub memory_bytes: u64,
    pub wall_clock: Duration,
    pub max_concurrency: u32,
    pub max_attempts: u32,
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
}

impl Default for Ceilings {
    fn default() -> Self {
        Ceilings {
            fuel: 20_000_000_000,
            memory_bytes: 512 << 20,
            wall_clock: Duration::from_secs(120),
            max_concurrency: 256,
            max_attempts: 50,
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
        }
    }
}

/// Tables are only used for indirect calls; a guest that grows one past this is broken or
/// hostile ("guest-controlled resource exhaustion").
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Enforces the linear-memory cap and remembers that it had to, so the outcome can say
/// "memory limit" rather than a generic trap.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    pub max_bytes: usize,
    pub hit: bool,
}

/// The error a denied memory growth raises inside the guest.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit_bytes} bytes exceeded (wanted {desired_bytes})")]
pub(crate) struct MemoryLimitExceeded {
    pub limit_bytes: usize,
    pub desired_bytes: usize,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.hit = true;
            return Err(MemoryLimitExceeded {
                limit_bytes: self.max_bytes,
                desired_bytes: desired,
            }
            .into());
        }
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
        };
        let requested = RequestedLimits {
            fuel: Some(5_000),
            memory_bytes: None,
            wall_clock_ms: Some(500),
            max_concurrency: Some(0),
            max_attempts: None,
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
