//! Plain-text helpers for SMS agents: keeping a reply within SMS sense, and the small
//! parsing every agent needs (words, amounts, counts). Pure Rust, no host calls, so
//! plugins can unit-test their logic natively.
//!
//! # SMS length
//! A reply may use at most [`MAX_SEGMENTS`] segments: 459 GSM-7 units (3 x 153) when every
//! character is in the GSM-7 alphabet (extension characters such as `{`, `}`, `[`, `]`,
//! `~`, `|`, `^`, `\` and the euro sign count twice), otherwise 201 UTF-16 units (3 x 67). [`fit_sms`]
//! first replaces common typographic characters with ASCII, then cuts a too-long text at
//! a word boundary and ends it with "...".

/// Segments a reply may use.
pub const MAX_SEGMENTS: usize = 3;
/// GSM-7 units that fit in [`MAX_SEGMENTS`] concatenated segments (153 each).
pub const MAX_GSM7_UNITS: usize = 153 * MAX_SEGMENTS;
/// UTF-16 units that fit in [`MAX_SEGMENTS`] concatenated UCS-2 segments (67 each).
pub const MAX_UCS2_UNITS: usize = 67 * MAX_SEGMENTS;

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENDED: &str = "^{}\\[~]|€\u{0C}";

/// GSM-7 units for `c` (1 basic, 2 extension), or `None` if `c` needs UCS-2.
fn gsm7_units_of(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENDED.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// True when every character of `s` is in the GSM-7 alphabet (basic or extension).
pub fn is_gsm7(s: &str) -> bool {
    s.chars().all(|c| gsm7_units_of(c).is_some())
}

/// How many SMS segments `s` takes.
pub fn segments(s: &str) -> usize {
    if s.is_empty() {
        return 1;
    }
    let (units, single, multi) = if is_gsm7(s) {
        (
            s.chars()
                .map(|c| gsm7_units_of(c).unwrap_or(1))
                .sum::<usize>(),
            160,
            153,
        )
    } else {
        (s.encode_utf16().count(), 70, 67)
    };
    if units <= single {
        1
    } else {
        units.div_ceil(multi)
    }
}

/// Replaces typographic characters (curly quotes, dashes, ellipsis, non-breaking spaces,
/// bullets) with plain ASCII and strips accents GSM-7 lacks (á, í, ó, ú; é, ñ, ü, ¿, ¡
/// are GSM-7 and kept), so replies and LLM-phrased text stay in GSM-7.
pub fn to_plain_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{2032}' | '`' => out.push('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{2033}' => out.push('"'),
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
            | '\u{2212}' => out.push('-'),
            '\u{2026}' => out.push_str("..."),
            '\u{00A0}' | '\u{2007}' | '\u{202F}' | '\u{2009}' | '\t' => out.push(' '),
            '\u{2022}' | '\u{00B7}' => out.push('-'),
            '\u{00D7}' => out.push('x'),
            // Accented letters outside GSM-7 (Spanish á, í, ó, ú) lose the accent rather
            // than push the whole reply into UCS-2 (3 x 67 characters instead of 3 x 153).
            'á' | 'â' | 'ã' => out.push('a'),
            'Á' | 'Â' | 'Ã' | 'À' => out.push('A'),
            'í' | 'î' | 'ï' => out.push('i'),
            'Í' | 'Î' | 'Ï' | 'Ì' => out.push('I'),
            'ó' | 'ô' | 'õ' => out.push('o'),
            'Ó' | 'Ô' | 'Õ' | 'Ò' => out.push('O'),
            'ú' | 'û' => out.push('u'),
            'Ú' | 'Û' | 'Ù' => out.push('U'),
            'ê' | 'ë' => out.push('e'),
            'Ê' | 'Ë' | 'È' => out.push('E'),
            'ç' => out.push('c'),
            _ => out.push(c),
        }
    }
    out
}

/// `body` made fit for one SMS reply: typographic characters replaced with ASCII, then, if
/// it still exceeds [`MAX_SEGMENTS`] segments, cut at the last word boundary that fits and
/// ended with "...". A text that already fits is returned unchanged (after the ASCII pass).
pub fn fit_sms(body: &str) -> String {
    let text = to_plain_ascii(body.trim());
    let gsm = is_gsm7(&text);
    let limit = if gsm { MAX_GSM7_UNITS } else { MAX_UCS2_UNITS };
    let units_of = |c: char| {
        if gsm {
            gsm7_units_of(c).unwrap_or(1)
        } else {
            c.len_utf16()
        }
    };
    let total: usize = text.chars().map(units_of).sum();
    if total <= limit {
        return text;
    }
    // Keep room for the "..." (3 units in either encoding).
    let budget = limit - 3;
    let mut used = 0;
    let mut cut = 0; // byte index: text[..cut] fits
    for (i, c) in text.char_indices() {
        let u = units_of(c);
        if used + u > budget {
            break;
        }
        used += u;
        cut = i + c.len_utf8();
    }
    let head = &text[..cut];
    // Back off to a word boundary unless the next character already is one, or the only
    // boundary is so early that cutting there would throw away most of the text.
    let next_is_break = text[cut..].starts_with(char::is_whitespace);
    let head = if next_is_break {
        head
    } else {
        match head.rfind(char::is_whitespace) {
            Some(ws) if ws >= head.len() / 2 => &head[..ws],
            _ => head,
        }
    };
    let head = head
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-' | '('));
    format!("{head}...")
}

/// True if the whole word (or phrase of words) `needle` occurs in `haystack`, comparing
/// ASCII case-insensitively and treating any non-alphanumeric character as a boundary.
pub fn contains_word(haystack: &str, needle: &str) -> bool {
    let hay = haystack.to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase();
    if needle.is_empty() {
        return false;
    }
    let bytes = hay.as_bytes();
    let mut from = 0;
    while let Some(pos) = hay[from..].find(&needle) {
        let start = from + pos;
        let end = start + needle.len();
        let before_ok = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let after_ok = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if before_ok && after_ok {
            return true;
        }
        from = start + 1;
        while !hay.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

/// True if any of `needles` is a whole word or phrase of `haystack` (see [`contains_word`]).
pub fn contains_any_word(haystack: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| contains_word(haystack, n))
}

/// Lowercase ASCII words of `s` (runs of alphanumerics; an apostrophe inside a word is
/// dropped, so "don't" is "dont").
pub fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            cur.push(c.to_ascii_lowercase());
        } else if (c == '\'' || c == '\u{2019}') && !cur.is_empty() {
            continue;
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A number written as a small English word ("zero" to "twelve", "a"/"an"/"one", "none", "no").
pub fn word_number(word: &str) -> Option<u64> {
    Some(match word.to_ascii_lowercase().as_str() {
        "zero" | "none" | "no" => 0,
        "one" | "a" | "an" | "single" => 1,
        "two" | "couple" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        _ => return None,
    })
}

/// A number as written in a message: "$1,250", "1.2k", "25000", "3".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Amount {
    /// The value with any "k" applied (so "1.2k" is 1200.0).
    pub value: f64,
    /// Written with a "$" before it.
    pub dollar: bool,
    /// Written with a "k" after it (thousands).
    pub thousands: bool,
    /// Digits only, no separators, "$" or "k" (e.g. a ZIP code "60615").
    pub plain_digits: usize,
    /// Byte range of the number (including "$" and "k") in the text.
    pub start: usize,
    pub end: usize,
}

/// Every number written in digits in `s`, with its "$" / "k" / thousands separators
/// understood. Digits glued to letters other than "k" (e.g. "2br", "3rd") are still
/// numbers; the caller looks at the text around `start..end` for meaning.
pub fn amounts(s: &str) -> Vec<Amount> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // A digit run that continues a word ("unit2b") still counts; callers decide.
        let start_digits = i;
        let mut raw = String::new();
        let mut seps = false;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_digit() {
                raw.push(c as char);
                i += 1;
            } else if c == b','
                && !raw.contains('.')
                && i + 4 <= b.len()
                && b[i + 1..i + 4].iter().all(u8::is_ascii_digit)
                && (i + 4 == b.len() || !b[i + 4].is_ascii_digit())
            {
                seps = true;
                i += 1;
            } else if c == b'.'
                && i + 1 < b.len()
                && b[i + 1].is_ascii_digit()
                && !raw.contains('.')
            {
                raw.push('.');
                i += 1;
            } else {
                break;
            }
        }
        let mut value: f64 = raw.parse().unwrap_or(0.0);
        let mut end = i;
        let mut thousands = false;
        if i < b.len()
            && (b[i] == b'k' || b[i] == b'K')
            && (i + 1 == b.len() || !b[i + 1].is_ascii_alphabetic())
        {
            thousands = true;
            value *= 1000.0;
            end = i + 1;
            i += 1;
        }
        let mut start = start_digits;
        let dollar = if start > 0 && b[start - 1] == b'$' {
            start -= 1;
            true
        } else {
            false
        };
        let plain_digits = if !seps && !thousands && !dollar && !raw.contains('.') {
            raw.len()
        } else {
            0
        };
        out.push(Amount {
            value,
            dollar,
            thousands,
            plain_digits,
            start,
            end,
        });
    }
    out
}

/// Formats whole dollars with thousands separators: 1250 -> "$1,250".
pub fn dollars(amount: u64) -> String {
    let digits = amount.to_string();
    let mut out = String::from("$");
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats cents as dollars with two decimals: 1234 -> "$12.34", 123456 -> "$1,234.56".
pub fn dollars_cents(cents: u64) -> String {
    format!("{}.{:02}", dollars(cents / 100), cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_unchanged() {
        assert_eq!(fit_sms("Hi there"), "Hi there");
        assert_eq!(segments("Hi there"), 1);
    }

    #[test]
    fn typographic_characters_become_ascii() {
        assert_eq!(
            fit_sms("It\u{2019}s \u{201C}great\u{201D} \u{2014} really\u{2026}"),
            "It's \"great\" - really..."
        );
    }

    #[test]
    fn long_gsm_text_is_cut_at_a_word_within_three_segments() {
        let long = "word ".repeat(200);
        let fitted = fit_sms(&long);
        assert!(fitted.len() <= MAX_GSM7_UNITS, "{}", fitted.len());
        assert!(fitted.ends_with("word..."), "{fitted}");
        assert_eq!(segments(&fitted), 3);
        let exactly = "a".repeat(MAX_GSM7_UNITS);
        assert_eq!(fit_sms(&exactly), exactly);
        assert_eq!(fit_sms(&(exactly.clone() + "b")).len(), MAX_GSM7_UNITS);
    }

    #[test]
    fn extension_characters_count_twice() {
        let s = "{".repeat(230); // 460 units
        let f = fit_sms(&s);
        assert!(f.ends_with("..."));
        assert_eq!((f.len() - 3) * 2 + 3, MAX_GSM7_UNITS, "{f}");
        assert_eq!(segments(&"{".repeat(80)), 1);
        assert_eq!(segments(&"{".repeat(81)), 2);
    }

    #[test]
    fn non_gsm_text_is_held_to_201_units() {
        let s = "\u{1F600} hello ".repeat(40);
        let fitted = fit_sms(&s);
        assert!(fitted.encode_utf16().count() <= MAX_UCS2_UNITS);
        assert!(fitted.ends_with("..."));
        assert!(segments(&fitted) <= 3);
    }

    #[test]
    fn spanish_stays_in_gsm7() {
        let s = fit_sms("¿Cuántas recámaras? Sí, el sábado a las 11. Señor Muñoz, ¡qué bien!");
        assert_eq!(
            s,
            "¿Cuantas recamaras? Si, el sabado a las 11. Señor Muñoz, ¡qué bien!"
        );
        assert!(is_gsm7(&s));
    }

    #[test]
    fn words_match_on_boundaries() {
        assert!(contains_word("I'd like a HUMAN please", "human"));
        assert!(!contains_word("humane society", "human"));
        assert!(contains_word("call me, thanks", "call me"));
        assert!(contains_any_word(
            "no thanks",
            &["not interested", "no thanks"]
        ));
        assert_eq!(
            words("Don't stop-me now"),
            vec!["dont", "stop", "me", "now"]
        );
    }

    #[test]
    fn amounts_understand_dollars_separators_and_k() {
        let a = amounts("budget $1,250 or 1.3k, zip 60615, 2br");
        let v: Vec<f64> = a.iter().map(|a| a.value).collect();
        assert_eq!(v, vec![1250.0, 1300.0, 60615.0, 2.0]);
        assert!(a[0].dollar && !a[0].thousands && a[0].plain_digits == 0);
        assert!(a[1].thousands);
        assert_eq!(a[2].plain_digits, 5);
        assert_eq!(&"budget $1,250"[a[0].start..a[0].end], "$1,250");
        assert_eq!(
            amounts("1,2").iter().map(|a| a.value).collect::<Vec<_>>(),
            vec![1.0, 2.0]
        );
    }

    #[test]
    fn money_formats() {
        assert_eq!(dollars(1250), "$1,250");
        assert_eq!(dollars(100000), "$100,000");
        assert_eq!(dollars(999), "$999");
        assert_eq!(dollars_cents(2035), "$20.35");
        assert_eq!(dollars_cents(123405), "$1,234.05");
    }
}
