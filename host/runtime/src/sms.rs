//! SMS arithmetic the host needs at the boundary: how many segments a body costs (what
//! carriers bill and what the daily SMS budget counts) and whether a number is E.164.

/// Characters of the GSM 03.38 default alphabet (one septet each).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Characters of its extension table (an escape plus one septet: two each).
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

/// Septets of a GSM-7 body, or `None` if some character needs UCS-2.
fn gsm7_septets(body: &str) -> Option<usize> {
    body.chars().try_fold(0usize, |n, c| {
        if GSM7_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM7_EXTENSION.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    })
}

/// Segments `body` is sent as: GSM-7 holds 160 septets in one segment and 153 per segment
/// when concatenated; anything else goes as UCS-2, 70 UTF-16 units alone or 67 per
/// segment. An empty body still costs one.
pub fn segments(body: &str) -> u32 {
    let (units, single, multi) = match gsm7_septets(body) {
        Some(septets) => (septets, 160, 153),
        None => (body.encode_utf16().count(), 70, 67),
    };
    let n = if units <= single {
        1
    } else {
        units.div_ceil(multi)
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Longest E.164 number: `+` and at most 15 digits.
pub const MAX_E164_BYTES: usize = 16;

/// Whether `number` is E.164: `+`, a non-zero first digit, 8 to 15 digits in all.
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_gsm7_and_ucs2_rules() {
        assert_eq!(segments(""), 1);
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"a".repeat(306)), 2);
        assert_eq!(segments(&"a".repeat(307)), 3);
        // Extension characters take two septets.
        assert_eq!(segments(&"€".repeat(80)), 1);
        assert_eq!(segments(&"€".repeat(81)), 2);
        // One character outside GSM-7 turns the whole body into UCS-2.
        assert_eq!(segments(&format!("{}’", "a".repeat(69))), 1);
        assert_eq!(segments(&format!("{}’", "a".repeat(70))), 2);
        assert_eq!(
            segments(&"👍".repeat(35)),
            1,
            "an emoji is two UTF-16 units"
        );
        assert_eq!(segments(&"👍".repeat(36)), 2);
        assert_eq!(segments(&"x".repeat(1_600)), 11);
    }

    #[test]
    fn e164_numbers_are_recognised() {
        for ok in ["+15557654321", "+442071838750", "+4930123456"] {
            assert!(is_e164(ok), "{ok}");
        }
        for bad in [
            "",
            "15557654321",
            "+1555",
            "+05557654321",
            "+1555765432a",
            "+1234567890123456",
            "+1 555 765 4321",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }
}
