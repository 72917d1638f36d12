//! What an inbound text says about consent, decided at ingest, before any plugin runs:
//! the carrier keywords that opt a number out of every agent, and back in.

/// Keywords that opt a number out (CTIA / carrier conventions), as the whole message.
pub const OPT_OUT_WORDS: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
];
/// Keywords that opt a number back in.
pub const OPT_IN_WORDS: &[&str] = &["START", "UNSTOP", "YES"];

/// `Some(true)` if `body` opts its sender out, `Some(false)` if back in, `None` otherwise.
/// A keyword counts as the whole message, in any case, with surrounding whitespace and
/// punctuation ignored ("Stop.", " STOP!! ").
pub fn keyword(body: &str) -> Option<bool> {
    let word = body
        .trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
        .to_ascii_uppercase();
    if OPT_OUT_WORDS.contains(&word.as_str()) {
        Some(true)
    } else if OPT_IN_WORDS.contains(&word.as_str()) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::keyword;

    #[test]
    fn keywords_are_whole_messages_in_any_case() {
        for out in [
            "STOP",
            "stop",
            " Stop. ",
            "STOP!!",
            "unsubscribe",
            "Quit",
            "optout",
            "revoke",
        ] {
            assert_eq!(keyword(out), Some(true), "{out:?}");
        }
        for back in ["START", "start", "Unstop", "yes!"] {
            assert_eq!(keyword(back), Some(false), "{back:?}");
        }
        for neither in [
            "",
            "stop texting the other guy",
            "is the 2br free?",
            "yes please, saturday",
            "STOP IT",
        ] {
            assert_eq!(keyword(neither), None, "{neither:?}");
        }
    }
}
