//! Composing a reply that fits three SMS segments without cutting it, and that never
//! repeats an earlier reply word for word.
//!
//! A reply is built from [`Part`]s: each has one or more forms (longest first) and a
//! priority. [`compose`] joins them; while the text is too long it first swaps the
//! lowest-priority part that has a shorter form, then drops the lowest-priority optional
//! part, and only then shortens required parts. Agents build a reply for seeds 0, 1, 2...
//! (seeds choose template variants) and keep the first that is not a repeat
//! ([`first_fresh`]).

use crate::text::{MAX_SEGMENTS, segments, to_plain_ascii};

/// One piece of a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// Forms of the part, longest first; an empty form drops the part.
    pub forms: Vec<String>,
    /// Higher keeps longer: the answer outranks the pleasantries.
    pub priority: u8,
    /// A required part is never dropped, only shortened.
    pub required: bool,
}

/// Priorities used by the agents, highest first.
pub mod priority {
    /// The direct answer to what was asked, a booking confirmation, a quote.
    pub const ANSWER: u8 = 90;
    /// A caveat that changes the answer (a dog over a weight limit).
    pub const CAVEAT: u8 = 70;
    /// The one next question.
    pub const QUESTION: u8 = 50;
    /// Extra detail that helps.
    pub const DETAIL: u8 = 30;
    /// Greeting, sign-off, filler.
    pub const SOCIAL: u8 = 10;
}

impl Part {
    pub fn required(text: impl Into<String>, priority: u8) -> Part {
        Part {
            forms: vec![text.into()],
            priority,
            required: true,
        }
    }

    pub fn optional(text: impl Into<String>, priority: u8) -> Part {
        Part {
            forms: vec![text.into()],
            priority,
            required: false,
        }
    }

    /// Adds a shorter form, used when the reply does not fit.
    pub fn or(mut self, shorter: impl Into<String>) -> Part {
        self.forms.push(shorter.into());
        self
    }
}

/// True when `text` (after the ASCII pass every SMS gets) fits in three segments.
pub fn fits(text: &str) -> bool {
    segments(&to_plain_ascii(text.trim())) <= MAX_SEGMENTS
}

/// Joins `parts` into a reply that fits three segments if any choice of forms does; the
/// boolean says whether it fits.
pub fn compose(parts: &[Part]) -> (String, bool) {
    let mut chosen: Vec<Option<usize>> = parts.iter().map(|_| Some(0)).collect();
    let render = |chosen: &[Option<usize>]| -> String {
        parts
            .iter()
            .zip(chosen)
            .filter_map(|(p, c)| c.and_then(|i| p.forms.get(i)))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    loop {
        let text = render(&chosen);
        if fits(&text) {
            return (text, true);
        }
        // The lowest-priority part that can give way does: it takes its next shorter
        // form, or, if it has none and is optional, it is dropped. Required parts are
        // never dropped; on equal priority the later part gives way first.
        let can_shrink = |i: usize| chosen[i].is_some_and(|f| f + 1 < parts[i].forms.len());
        let can_drop = |i: usize| !parts[i].required && chosen[i].is_some();
        let next = (0..parts.len())
            .filter(|&i| can_shrink(i) || can_drop(i))
            .min_by_key(|&i| (parts[i].priority, std::cmp::Reverse(i)));
        match next {
            Some(i) if can_shrink(i) => chosen[i] = chosen[i].map(|f| f + 1),
            Some(i) => chosen[i] = None,
            None => return (text, false),
        }
    }
}

/// A reply normalised for comparison: case, spacing and trailing punctuation ignored.
pub fn normalized(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .trim_end_matches(['.', '!', '?'])
        .to_owned()
}

/// A short fingerprint of a reply (FNV-1a of its normalised form), kept in state so a
/// repeat is caught even beyond the history the host hands over.
pub fn fingerprint(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in normalized(text).bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// True when `text` was already sent: the same as one of `earlier` (recent outbound
/// messages) or of `fingerprints`.
pub fn is_repeat(text: &str, earlier: &[String], fingerprints: &[u64]) -> bool {
    let n = normalized(text);
    let f = fingerprint(text);
    earlier.iter().any(|e| normalized(e) == n) || fingerprints.contains(&f)
}

/// The first reply from `build(seed)` for seeds `0..tries` that fits and is not a repeat;
/// failing that, the first that is not a repeat; failing that, seed 0's. `build` returns
/// the reply's parts.
pub fn first_fresh(
    tries: usize,
    earlier: &[String],
    fingerprints: &[u64],
    mut build: impl FnMut(usize) -> Vec<Part>,
) -> String {
    let mut first: Option<String> = None;
    let mut fresh_unfit: Option<String> = None;
    for seed in 0..tries.max(1) {
        let (text, ok) = compose(&build(seed));
        if text.is_empty() {
            continue;
        }
        let repeat = is_repeat(&text, earlier, fingerprints);
        if ok && !repeat {
            return text;
        }
        if !repeat && fresh_unfit.is_none() {
            fresh_unfit = Some(text.clone());
        }
        if first.is_none() {
            first = Some(text);
        }
    }
    fresh_unfit.or(first).unwrap_or_default()
}

/// Keeps the last `keep` fingerprints, adding `text`'s.
pub fn remember(fingerprints: &mut Vec<u64>, text: &str, keep: usize) {
    fingerprints.push(fingerprint(text));
    if fingerprints.len() > keep {
        let cut = fingerprints.len() - keep;
        fingerprints.drain(..cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::priority::*;

    #[test]
    fn composes_within_three_segments_by_dropping_and_shortening() {
        let long = "x".repeat(300);
        let parts = vec![
            Part::optional("Hi there!", SOCIAL),
            Part::required(long.clone(), ANSWER).or("short answer"),
            Part::optional("y".repeat(200), DETAIL),
            Part::optional("When do you move?", QUESTION),
        ];
        let (text, ok) = compose(&parts);
        assert!(ok);
        // The detail is dropped first (lowest optional), then the greeting; the long
        // answer fits with the question.
        assert_eq!(text, format!("{long} When do you move?"));
        assert!(!text.ends_with("..."));
        let parts = vec![
            Part::required("a".repeat(400), ANSWER).or("the short answer"),
            Part::required("b".repeat(100), QUESTION),
        ];
        let (text, ok) = compose(&parts);
        assert!(ok);
        assert!(text.starts_with("the short answer"), "{text}");
    }

    #[test]
    fn never_repeats_when_a_variant_exists() {
        let earlier = vec!["Hi! How can I help?".to_owned()];
        let text = first_fresh(5, &earlier, &[], |seed| {
            vec![Part::required(
                ["Hi! How can I help?", "Hello - what can I do for you?"][seed % 2],
                ANSWER,
            )]
        });
        assert_eq!(text, "Hello - what can I do for you?");
        let mut fp = Vec::new();
        remember(&mut fp, &text, 2);
        assert!(is_repeat("hello - what can I do for you", &[], &fp));
        remember(&mut fp, "a", 2);
        remember(&mut fp, "b", 2);
        assert_eq!(fp.len(), 2);
        assert!(!is_repeat(&text, &[], &fp));
    }
}
