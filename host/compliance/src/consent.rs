//! What an inbound text says about consent, decided at ingest before any plugin runs.
//!
//! Opt-out: the carrier keywords as the whole message (any case, surrounding punctuation
//! and whitespace ignored), and free-text revocations a reasonable person would read as
//! "stop texting me" ("please stop texting me", "remove me from this list", "wrong
//! number"). Opt back in only on START, YES, UNSTOP. HELP (or INFO) is answered by the
//! host with the operator's text.
//!
//! The free-text rules are deliberately few and tested both ways (`tests` below): a phrase
//! is a revocation only when a stop-verb meets texting/contact words, or a removal
//! phrase stands on its own, and no negation ("don't stop") or unrelated sense ("stop
//! by", "bus stop") is around it.

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
/// Keywords asking who is texting and how to stop.
pub const HELP_WORDS: &[&str] = &["HELP", "INFO"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// The sender revokes consent (a keyword or a free-text revocation).
    OptOut,
    /// The sender opts back in.
    OptIn,
    /// The sender asks for help: the host answers with the operator's text.
    Help,
}

/// Words that, after a stop-verb, make it about texting or contacting.
const CONTACT_WORDS: &[&str] = &[
    "text",
    "texting",
    "texts",
    "message",
    "messaging",
    "messages",
    "msg",
    "msgs",
    "sms",
    "contacting",
    "contact",
    "calling",
    "call",
    "spamming",
    "spam",
    "bothering",
    "sending",
    "emailing",
    "writing",
    "reaching",
    "harassing",
    "pinging",
    "hitting",
];
/// Verbs of stopping.
const STOP_VERBS: &[&str] = &["stop", "quit", "cease", "end", "halt"];
/// Phrases that revoke on their own (already lower-case, words joined by one space).
const REVOCATIONS: &[&str] = &[
    "remove me",
    "remove my number",
    "take me off",
    "take my number off",
    "unsubscribe me",
    "opt me out",
    "opt out",
    "lose my number",
    "delete my number",
    "do not text",
    "do not contact",
    "do not message",
    "dont text",
    "dont contact",
    "dont message",
    "no more texts",
    "no more messages",
    "leave me alone",
    "wrong number",
    "not interested stop",
    "i didnt sign up",
];
/// Words that, before a stop-verb, flip its sense ("don't stop", "never stop").
const NEGATIONS: &[&str] = &["dont", "not", "never", "cant", "wont", "no"];

/// Upper-case keyword of a whole-message text, surrounding punctuation and space removed.
fn keyword(body: &str) -> String {
    body.trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
        .to_ascii_uppercase()
}

/// Lower-case words, apostrophes dropped ("don't" → "dont"), other punctuation a break.
fn words(body: &str) -> Vec<String> {
    body.to_lowercase()
        .replace(['\'', '’'], "")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_revocation(body: &str) -> bool {
    let w = words(body);
    let joined = format!(" {} ", w.join(" "));
    if REVOCATIONS
        .iter()
        .any(|phrase| joined.contains(&format!(" {phrase} ")))
    {
        // "do not remove me", "please don't take me off": a negated removal is none.
        let negated = REVOCATIONS.iter().any(|phrase| {
            NEGATIONS
                .iter()
                .any(|n| joined.contains(&format!(" {n} {phrase} ")))
        });
        return !negated;
    }
    // "stop texting me", "please stop sending me messages", "quit calling": a stop-verb
    // followed within three words by a contact word, not negated right before it.
    for (i, word) in w.iter().enumerate() {
        if !STOP_VERBS.contains(&word.as_str()) {
            continue;
        }
        let negated = i > 0 && NEGATIONS.contains(&w[i - 1].as_str());
        let about_contact = w[i + 1..]
            .iter()
            .take(3)
            .any(|next| CONTACT_WORDS.contains(&next.as_str()));
        if about_contact && !negated {
            return true;
        }
    }
    false
}

/// What `body` says about consent, if anything.
pub fn classify(body: &str) -> Option<Consent> {
    let word = keyword(body);
    if OPT_OUT_WORDS.contains(&word.as_str()) {
        Some(Consent::OptOut)
    } else if OPT_IN_WORDS.contains(&word.as_str()) {
        Some(Consent::OptIn)
    } else if HELP_WORDS.contains(&word.as_str()) {
        Some(Consent::Help)
    } else if is_revocation(body) {
        Some(Consent::OptOut)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "END",
            "cancel",
            "StopAll",
        ] {
            assert_eq!(classify(out), Some(Consent::OptOut), "{out:?}");
        }
        for back in ["START", "start", "Unstop", "yes!", " YES "] {
            assert_eq!(classify(back), Some(Consent::OptIn), "{back:?}");
        }
        for help in ["HELP", "help?", "Info"] {
            assert_eq!(classify(help), Some(Consent::Help), "{help:?}");
        }
    }

    #[test]
    fn free_text_revocations_a_reasonable_person_reads_as_stop() {
        for out in [
            "please stop texting me",
            "Stop texting me!!",
            "stop sending me messages",
            "can you stop messaging me",
            "quit calling and texting me",
            "remove me from this list",
            "Remove my number please",
            "take me off your list",
            "unsubscribe me",
            "please opt me out",
            "lose my number",
            "do not text me again",
            "Don't text me",
            "dont contact me anymore",
            "no more texts please",
            "leave me alone",
            "wrong number",
            "you have the wrong number",
            "I didn't sign up for this",
            "stop spamming me",
            "STOP TEXTING",
        ] {
            assert_eq!(classify(out), Some(Consent::OptOut), "{out:?}");
        }
    }

    #[test]
    fn everyday_texts_are_not_revocations() {
        for keep in [
            "",
            "is the 2br on jeffery still avail??",
            "can I stop by at 5?",
            "I'll stop in tomorrow",
            "which bus stop is closest",
            "is it near the Jeffery stop",
            "don't stop texting me, I'm interested",
            "never stop sending me deals lol",
            "please don't remove me, I still want updates",
            "yes please, saturday at 11",
            "stop it you're funny",
            "end of the month works",
            "cancel my tour please",
            "can I cancel the application fee?",
            "the number for the office is wrong?",
            "text me the address",
            "call me at 5",
            "help me find a 2 bedroom",
            "start date is jan 1",
        ] {
            assert_eq!(classify(keep), None, "{keep:?}");
        }
    }
}
