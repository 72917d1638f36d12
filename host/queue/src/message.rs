//! What travels through a lane, and which lane names are allowed.

use agenthost_core::EventId;
use serde::{Deserialize, Serialize};

use crate::QueueError;

/// Longest lane name accepted. Lanes become RabbitMQ queue names (at most 255 bytes with
/// the prefix and suffixes) and database values, so they stay short.
pub const MAX_LANE_BYTES: usize = 100;

/// One unit of work: "process event `event_id`". The event itself lives in storage; the
/// queue only carries its id, so messages are tiny and the event is stored once.
///
/// Serialized as JSON on the RabbitMQ wire: `{"event_id":"...","attempt":1}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QueueMessage {
    /// The stored event to process; also the idempotency key of its effects.
    pub event_id: EventId,
    /// Which delivery attempt this is; `Delivery::retry` re-delivers with `attempt + 1`.
    pub attempt: u32,
}

impl QueueMessage {
    /// A first attempt (`attempt == 1`) at processing `event_id`.
    pub fn new(event_id: impl Into<EventId>) -> Self {
        Self {
            event_id: event_id.into(),
            attempt: 1,
        }
    }
}

/// Checks that `lane` is a usable lane name: 1 to [`MAX_LANE_BYTES`] bytes of ASCII
/// letters, digits, `-`, `_` and `.` (plugin names such as `landlord-rep` qualify).
pub fn validate_lane(lane: &str) -> Result<(), QueueError> {
    let invalid = |reason: &'static str| QueueError::InvalidLane {
        lane: lane.chars().take(MAX_LANE_BYTES).collect(),
        reason,
    };
    if lane.is_empty() {
        return Err(invalid("empty"));
    }
    if lane.len() > MAX_LANE_BYTES {
        return Err(invalid("longer than 100 bytes"));
    }
    if !lane
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(invalid(
            "only ASCII letters, digits, '-', '_' and '.' are allowed",
        ));
    }
    Ok(())
}

/// Cuts `reason` to at most `max_bytes` bytes on a character boundary.
pub(crate) fn truncate_reason(reason: &str, max_bytes: usize) -> &str {
    if reason.len() <= max_bytes {
        return reason;
    }
    let mut end = max_bytes;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_are_validated() {
        for ok in ["echo", "landlord-rep", "a_b.c", "X9"] {
            assert!(validate_lane(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a/b", "é", &"x".repeat(MAX_LANE_BYTES + 1)] {
            assert!(validate_lane(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn message_wire_format_is_stable() {
        let json = serde_json::to_string(&QueueMessage::new("ev-1")).unwrap();
        assert_eq!(json, r#"{"event_id":"ev-1","attempt":1}"#);
    }

    #[test]
    fn reasons_are_cut_on_char_boundaries() {
        assert_eq!(truncate_reason("héllo", 2), "h");
        assert_eq!(truncate_reason("hello", 10), "hello");
    }
}
