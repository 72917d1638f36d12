//! Before an SMS is queued: typographic characters replaced by their GSM-7 look-alikes
//! where the meaning is kept, so one curly apostrophe does not turn a 1-segment text into
//! a UCS-2 one billed at 70 characters a segment.

/// Characters outside GSM-7 and what keeps their meaning inside it.
const REPLACEMENTS: &[(char, &str)] = &[
    ('\u{2018}', "'"),   // left single quote
    ('\u{2019}', "'"),   // right single quote / apostrophe
    ('\u{201A}', "'"),   // low single quote
    ('\u{2032}', "'"),   // prime
    ('\u{201C}', "\""),  // left double quote
    ('\u{201D}', "\""),  // right double quote
    ('\u{201E}', "\""),  // low double quote
    ('\u{2033}', "\""),  // double prime
    ('\u{2013}', "-"),   // en dash
    ('\u{2014}', "-"),   // em dash
    ('\u{2012}', "-"),   // figure dash
    ('\u{2212}', "-"),   // minus sign
    ('\u{2026}', "..."), // ellipsis
    ('\u{00A0}', " "),   // no-break space
    ('\u{2009}', " "),   // thin space
    ('\u{200B}', ""),    // zero-width space
    ('\u{2022}', "-"),   // bullet
];

/// `body` with typographic characters replaced by GSM-7 ones that mean the same. Emoji
/// and letters outside GSM-7 stay: they mean something no replacement keeps.
pub fn normalize(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    for c in body.chars() {
        match REPLACEMENTS.iter().find(|(from, _)| *from == c) {
            Some((_, to)) => out.push_str(to),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn smart_punctuation_becomes_gsm7_and_meaning_stays() {
        assert_eq!(
            normalize("We’re open 9–5 — “any” time…"),
            "We're open 9-5 - \"any\" time..."
        );
        assert_eq!(normalize("plain text"), "plain text");
        // Not replaceable without losing meaning: kept.
        assert_eq!(normalize("👍 señor"), "👍 señor");
    }
}
