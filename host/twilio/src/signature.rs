//! Twilio webhook signatures (`X-Twilio-Signature`): computing them and checking them in
//! constant time, exactly as Twilio defines them for form-encoded POST webhooks.
//!
//! The signed string is the full URL Twilio requested (scheme, host, port if any, path and
//! query, byte for byte as configured in the Twilio console) followed by every POST
//! parameter's name and value with no delimiters, parameters sorted by name and, for
//! repeated names, by value. Parameters with blank values are part of the string. The
//! signature is `base64(HMAC-SHA1(auth_token, signed_string))`.
//!
//! Sorting is by Unicode code point (Rust's byte order on UTF-8), the same order the
//! official Python helper library uses (cross-checked in `tests/signature_python.rs`).
//! Two deliberate differences from that library, both in cases Twilio's SMS webhooks do
//! not produce: an exactly repeated `(name, value)` pair is signed twice here (the library
//! collapses it through a `set`), and port toggling keeps userinfo and IPv6 hosts intact
//! (the library's `remove_port` truncates at the first `:` of the authority).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The request header Twilio puts the signature in.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

type HmacSha1 = Hmac<Sha1>;

/// The signature Twilio sends for a POST to `url` carrying the form parameters `params`.
///
/// `params` may be in any order and may repeat a name; blank values count.
pub fn compute(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    BASE64.encode(mac(auth_token, url, params))
}

/// Whether `header_value` is the signature Twilio would send for this request.
///
/// The comparison runs in constant time. Like Twilio's own helper libraries, this accepts a
/// signature made over the URL with or without its port (`https://h/p` and
/// `https://h:443/p` match each other; an explicit port may also be dropped), because
/// Twilio's signer is not consistent about ports. Everything else — scheme, host, path,
/// query — must be exactly the URL configured in Twilio: a host behind a TLS-terminating
/// proxy must verify against its public `https://` URL, not the `http://` it sees.
pub fn verify(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header_value: &str,
) -> bool {
    let Ok(given) = BASE64.decode(header_value.trim().as_bytes()) else {
        return false;
    };
    let mut ok = subtle::Choice::from(0u8);
    for candidate in url_variants(url) {
        let expected = mac(auth_token, &candidate, params);
        ok |= expected.as_slice().ct_eq(given.as_slice());
    }
    ok.into()
}

/// The raw HMAC-SHA1 over the signed string.
fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> [u8; 20] {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    // Invariant: HMAC accepts keys of any length (long keys are hashed, short ones padded);
    // `new_from_slice` only fails for fixed-key-size MACs.
    let mut mac = HmacSha1::new_from_slice(auth_token.as_bytes())
        .expect("hmac-sha1 accepts keys of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac.finalize().into_bytes().into()
}

/// `url` itself, then the same URL with its port toggled the way Twilio's helper libraries
/// do: an explicit port is removed; a missing one becomes the scheme's default (443 for
/// `https`, 80 otherwise).
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    // The port is after the last ':' that is not inside an IPv6 literal's brackets.
    let host_end = hostport.rfind(']').map_or(0, |i| i + 1);
    let port_colon = hostport[host_end..].rfind(':').map(|i| i + host_end);
    let toggled = match port_colon {
        Some(colon) => format!("{scheme}://{userinfo}{}{tail}", &hostport[..colon]),
        None => {
            let port = if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            format!("{scheme}://{userinfo}{hostport}:{port}{tail}")
        }
    };
    if toggled != url {
        out.push(toggled);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const EXPECTED: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn twilio_vector() -> Vec<(String, String)> {
        pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ])
    }

    #[test]
    fn matches_twilios_published_vector() {
        assert_eq!(compute(TOKEN, URL, &twilio_vector()), EXPECTED);
        assert!(verify(TOKEN, URL, &twilio_vector(), EXPECTED));
    }

    #[test]
    fn input_order_does_not_matter() {
        let mut reversed = twilio_vector();
        reversed.reverse();
        assert_eq!(compute(TOKEN, URL, &reversed), EXPECTED);
        let mut rotated = twilio_vector();
        rotated.rotate_left(2);
        assert!(verify(TOKEN, URL, &rotated, EXPECTED));
    }

    #[test]
    fn blank_values_are_signed() {
        let mut with_blank = twilio_vector();
        with_blank.push(("MediaUrl0".to_owned(), String::new()));
        let sig = compute(TOKEN, URL, &with_blank);
        assert_ne!(sig, EXPECTED);
        assert!(verify(TOKEN, URL, &with_blank, &sig));
        assert!(!verify(TOKEN, URL, &twilio_vector(), &sig));
        assert!(!verify(TOKEN, URL, &with_blank, EXPECTED));
    }

    #[test]
    fn repeated_names_sort_by_value() {
        let a = pairs(&[("MediaUrl", "b"), ("Body", "x"), ("MediaUrl", "a")]);
        let b = pairs(&[("MediaUrl", "a"), ("MediaUrl", "b"), ("Body", "x")]);
        assert_eq!(compute(TOKEN, URL, &a), compute(TOKEN, URL, &b));
        // Equivalent to signing URL + "Body" "x" "MediaUrl" "a" "MediaUrl" "b".
        let mut mac = HmacSha1::new_from_slice(TOKEN.as_bytes()).expect("any key length");
        mac.update(format!("{URL}BodyxMediaUrlaMediaUrlb").as_bytes());
        assert_eq!(
            compute(TOKEN, URL, &a),
            BASE64.encode(mac.finalize().into_bytes())
        );
    }

    #[test]
    fn tampering_fails() {
        let mut changed_value = twilio_vector();
        changed_value[2].1 = "1235".to_owned();
        assert!(!verify(TOKEN, URL, &changed_value, EXPECTED));

        let mut extra = twilio_vector();
        extra.push(("Body".to_owned(), "hi".to_owned()));
        assert!(!verify(TOKEN, URL, &extra, EXPECTED));

        let mut missing = twilio_vector();
        missing.pop();
        assert!(!verify(TOKEN, URL, &missing, EXPECTED));

        assert!(!verify("54321", URL, &twilio_vector(), EXPECTED));
        assert!(!verify(
            TOKEN,
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &twilio_vector(),
            EXPECTED
        ));
        assert!(!verify(
            TOKEN,
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            &twilio_vector(),
            EXPECTED
        ));
        assert!(!verify(
            TOKEN,
            URL,
            &twilio_vector(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B9="
        ));
        assert!(!verify(TOKEN, URL, &twilio_vector(), "not base64!"));
        assert!(!verify(TOKEN, URL, &twilio_vector(), ""));
    }

    #[test]
    fn port_variants_are_accepted_like_twilios_libraries() {
        let params = twilio_vector();
        let with_port = compute(
            TOKEN,
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &params,
        );
        assert!(verify(TOKEN, URL, &params, &with_port));
        assert!(verify(
            TOKEN,
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &params,
            EXPECTED
        ));
        let http = "http://h.example/sms";
        assert!(verify(
            TOKEN,
            "http://h.example:80/sms",
            &params,
            &compute(TOKEN, http, &params)
        ));
        // A non-default port in the request URL may be dropped, never invented.
        assert!(verify(
            TOKEN,
            "https://h.example:8443/sms",
            &params,
            &compute(TOKEN, "https://h.example/sms", &params)
        ));
        assert!(!verify(
            TOKEN,
            "https://h.example/sms",
            &params,
            &compute(TOKEN, "https://h.example:8443/sms", &params)
        ));
    }

    #[test]
    fn url_variants_handle_userinfo_ipv6_and_bare_hosts() {
        assert_eq!(
            url_variants("https://u:p@h.example:8443/x?y=1"),
            [
                "https://u:p@h.example:8443/x?y=1",
                "https://u:p@h.example/x?y=1"
            ]
        );
        assert_eq!(
            url_variants("https://u:p@h.example/x"),
            ["https://u:p@h.example/x", "https://u:p@h.example:443/x"]
        );
        assert_eq!(
            url_variants("http://[::1]:3000/sms"),
            ["http://[::1]:3000/sms", "http://[::1]/sms"]
        );
        assert_eq!(
            url_variants("http://[::1]/sms"),
            ["http://[::1]/sms", "http://[::1]:80/sms"]
        );
        assert_eq!(
            url_variants("https://h.example"),
            ["https://h.example", "https://h.example:443"]
        );
        assert_eq!(url_variants("not a url"), ["not a url"]);
    }
}
