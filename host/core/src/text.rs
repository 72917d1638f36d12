//! Texts for people: durations as an alert says them, URLs with their passwords masked,
//! error texts safe to put in an alert.

use std::time::Duration;

/// Longest error text an alert carries ([`scrub_error`]).
pub const MAX_ERROR_CHARS: usize = 300;

/// A duration as people say it: `800 ms`, `1.5 s`, `42 s`, `5 min`, `2 min 5 s`, `2 h`,
/// `1 h 2 min`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 => format!("{} ms", d.as_millis()),
        1..10 if d.subsec_millis() >= 100 => {
            format!("{secs}.{} s", d.subsec_millis() / 100)
        }
        1..60 => format!("{secs} s"),
        60..3600 if secs.is_multiple_of(60) => format!("{} min", secs / 60),
        60..3600 => format!("{} min {} s", secs / 60, secs % 60),
        _ if (secs % 3600) < 60 => format!("{} h", secs / 3600),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

/// What replaces a password in [`redact_url`]'s output.
const REDACTED: &str = "***";

/// Query parameters whose values are secrets (libpq accepts `?password=`).
const SECRET_PARAMS: &[&str] = &["password", "sslpassword"];

/// Returns `url` with any password masked: the `user:password@` part of the authority and
/// `password=`/`sslpassword=` query parameters. Use it for every URL that reaches a log line
/// or an error message.
///
/// `postgres://app:s3cret@db:5432/agenthost` becomes `postgres://app:***@db:5432/agenthost`.
pub fn redact_url(url: &str) -> String {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((head, frag)) => (head, Some(frag)),
        None => (url, None),
    };
    let (before_query, query) = match before_fragment.split_once('?') {
        Some((head, q)) => (head, Some(q)),
        None => (before_fragment, None),
    };

    let mut out = String::with_capacity(url.len());
    match before_query.split_once("://") {
        Some((scheme, rest)) => {
            out.push_str(scheme);
            out.push_str("://");
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push(':');
                            out.push_str(REDACTED);
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            out.push_str(path);
        }
        None => out.push_str(before_query),
    }

    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _value))
                    if SECRET_PARAMS.iter().any(|s| key.eq_ignore_ascii_case(s)) =>
                {
                    format!("{key}={REDACTED}")
                }
                _ => param.to_owned(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// `text` safe for an alert: every URL in it with its password masked
/// ([`redact_url`]), cut to [`MAX_ERROR_CHARS`] characters.
pub fn scrub_error(text: &str) -> String {
    let redacted: Vec<String> = text
        .split(' ')
        .map(|word| {
            if word.contains("://") {
                redact_url(word)
            } else {
                word.to_owned()
            }
        })
        .collect();
    let redacted = redacted.join(" ");
    if redacted.chars().count() <= MAX_ERROR_CHARS {
        return redacted;
    }
    let mut cut: String = redacted.chars().take(MAX_ERROR_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        assert_eq!(human_duration(ms(300)), "300 ms");
        assert_eq!(human_duration(ms(1_500)), "1.5 s");
        assert_eq!(human_duration(ms(1_050)), "1 s");
        assert_eq!(human_duration(s(30)), "30 s");
        assert_eq!(human_duration(ms(42_700)), "42 s");
        assert_eq!(human_duration(s(90)), "1 min 30 s");
        assert_eq!(human_duration(s(300)), "5 min");
        assert_eq!(human_duration(s(125)), "2 min 5 s");
        assert_eq!(human_duration(s(7200)), "2 h");
        assert_eq!(human_duration(s(3725)), "1 h 2 min");
        assert_eq!(human_duration(s(32 * 3600)), "32 h");
        assert_eq!(human_duration(Duration::ZERO), "0 ms");
    }

    #[test]
    fn errors_are_scrubbed_and_cut() {
        assert_eq!(
            scrub_error("error sending request for url (https://u:pw@api.twilio.com/x)"),
            "error sending request for url (https://u:***@api.twilio.com/x)"
        );
        let long = scrub_error(&"x".repeat(5_000));
        assert_eq!(long.chars().count(), MAX_ERROR_CHARS);
        assert!(long.ends_with('…'));
        assert_eq!(scrub_error("short"), "short");
    }

    #[test]
    fn redacts_password_in_authority() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/agenthost"),
            "postgres://app:***@db.internal:5432/agenthost"
        );
        // An '@' inside the password must not leak the tail of it.
        assert_eq!(
            redact_url("postgresql://app:p@ss@db/x?sslmode=require"),
            "postgresql://app:***@db/x?sslmode=require"
        );
    }

    #[test]
    fn redacts_password_query_parameter() {
        assert_eq!(
            redact_url("postgres://db/x?user=app&Password=hunter2&sslmode=disable"),
            "postgres://db/x?user=app&Password=***&sslmode=disable"
        );
    }

    #[test]
    fn leaves_urls_without_secrets_alone() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/",
            "sqlite:///var/lib/agenthost/agenthost.db?mode=rwc",
            "sqlite:agenthost.db",
            "not a url",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }
}
