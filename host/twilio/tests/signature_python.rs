//! Cross-checks `signature` against Twilio's official Python helper library
//! (`twilio.request_validator.RequestValidator`), an independent implementation.
//!
//! Needs `python3` with the `twilio` package (`pip install twilio`); fails, never skips,
//! without it.

use std::io::Write;
use std::process::{Command, Stdio};

use agenthost_twilio::signature;
use serde_json::{Value, json};

/// Runs `script` under python3 with `input` as JSON on stdin; returns its stdout as JSON.
fn python(script: &str, input: &Value) -> Value {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("python3 could not be started ({e}); install python3 and `pip install twilio`")
        });
    child
        .stdin
        .take()
        .expect("stdin piped")
        .write_all(input.to_string().as_bytes())
        .expect("write to python");
    let out = child.wait_with_output().expect("python3 ran");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'twilio'"),
        "the twilio python package is missing: run `pip install twilio`\n{stderr}"
    );
    assert!(out.status.success(), "python3 failed: {stderr}");
    serde_json::from_slice(&out.stdout).expect("python printed json")
}

/// Builds a MultiDict-like object (what Flask hands the validator) so repeated names and
/// their order reach the library as they would in a real request.
const PRELUDE: &str = r#"
import json, sys
from twilio.request_validator import RequestValidator
class Multi(dict):
    def __init__(self, pairs):
        super().__init__()
        self.pairs = pairs
        for k, v in pairs:
            self.setdefault(k, v)
    def getall(self, k):
        return [v for (n, v) in self.pairs if n == k]
inp = json.load(sys.stdin)
"#;

fn to_pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .expect("array of pairs")
        .iter()
        .map(|p| {
            (
                p[0].as_str().expect("name").to_owned(),
                p[1].as_str().expect("value").to_owned(),
            )
        })
        .collect()
}

#[test]
fn signatures_match_twilios_python_library() {
    let cases = json!([
        {
            "token": "12345",
            "url": "https://mycompany.com/myapp.php?foo=1&bar=2",
            "params": [["CallSid", "CA1234567890ABCDE"], ["Caller", "+14158675309"], ["Digits", "1234"],
                       ["From", "+14158675309"], ["To", "+18005551212"]]
        },
        {
            "token": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
            "url": "https://agents.example.com/twilio/sms",
            "params": [["ToCountry", "US"], ["MediaContentType0", ""], ["SmsMessageSid", "SM0f3c"],
                       ["NumMedia", "0"], ["Body", "Is the 2BR on 71st still available? 🏠 ¿Sí? — ok"],
                       ["FromCity", ""], ["From", "+17735550123"], ["To", "+13125550100"],
                       ["MessageSid", "SM0f3c"], ["AccountSid", "AC00"], ["ApiVersion", "2010-04-01"]]
        },
        {
            "token": "tøkén ünïcode ✓",
            "url": "http://127.0.0.1:8080/twilio/sms?tenant=%C3%A9&x=a+b",
            "params": [["Body", ""], ["body", "lower"], ["Ω", "omega"], ["Z", "ζ"], ["a", "日本語"],
                       ["emoji", "👍🏽"], ["spaces", "  padded  "], ["amp", "a&b=c%20d"]]
        },
        {
            "token": "x",
            "url": "https://h.example/p",
            "params": []
        },
        {
            "token": "repeat",
            "url": "https://h.example/sms",
            "params": [["MediaUrl", "https://m/2"], ["Body", "pics"], ["MediaUrl", "https://m/1"],
                       ["MediaUrl", ""], ["A", "1"]]
        }
    ]);
    let script = format!(
        "{PRELUDE}\nprint(json.dumps([RequestValidator(c['token']).compute_signature(c['url'], Multi([tuple(p) for p in c['params']])) for c in inp]))"
    );
    let theirs = python(&script, &cases);
    for (i, case) in cases.as_array().expect("cases").iter().enumerate() {
        let token = case["token"].as_str().expect("token");
        let url = case["url"].as_str().expect("url");
        let params = to_pairs(&case["params"]);
        let ours = signature::compute(token, url, &params);
        assert_eq!(Some(ours.as_str()), theirs[i].as_str(), "case {i}: {case}");
        assert!(signature::verify(token, url, &params, &ours), "case {i}");
    }
    assert_eq!(theirs[0], "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
}

/// Many pseudo-random parameter sets (names and values drawn from ASCII, Latin-1, CJK,
/// astral-plane emoji and blanks), so ordering differences would show.
#[test]
fn random_param_sets_match_twilios_python_library() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut cases = Vec::new();
    for _ in 0..60 {
        let count = rng.below(8);
        let mut params = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for _ in 0..count {
            let mut name = rng.word(6);
            if name.is_empty() || names.contains(&name) {
                name = format!("{name}{}", names.len());
            }
            names.push(name.clone());
            params.push(json!([name, rng.word(12)]));
        }
        let token = rng.word(16) + "t";
        let url = format!("https://h.example/{}", rng.word(5));
        cases.push(json!({"token": token, "url": url, "params": params}));
    }
    let cases = Value::Array(cases);
    let script = format!(
        "{PRELUDE}\nprint(json.dumps([RequestValidator(c['token']).compute_signature(c['url'], Multi([tuple(p) for p in c['params']])) for c in inp]))"
    );
    let theirs = python(&script, &cases);
    for (i, case) in cases.as_array().expect("cases").iter().enumerate() {
        let ours = signature::compute(
            case["token"].as_str().expect("token"),
            case["url"].as_str().expect("url"),
            &to_pairs(&case["params"]),
        );
        assert_eq!(Some(ours.as_str()), theirs[i].as_str(), "case {i}: {case}");
    }
}

/// A tiny deterministic generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    /// ASCII, Latin-1, Greek, Cyrillic, CJK, a private-use BMP char (U+E000, which sorts
    /// differently in UTF-16 than in code points against astral emoji), emoji, and the
    /// characters that matter in form encoding.
    const ALPHABET: &'static str = "aAzZ09_-+ .&=%é€ñΩж日本🏠👍\u{FFFD}\u{E000}";

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn word(&mut self, max_chars: usize) -> String {
        let chars: Vec<char> = Self::ALPHABET.chars().collect();
        let len = self.below(max_chars + 1);
        (0..len).map(|_| chars[self.below(chars.len())]).collect()
    }
}

/// `verify` accepts and refuses the same URL variations as the library's `validate`:
/// default ports added or removed, explicit ports dropped, but never another scheme, host,
/// path or query.
#[test]
fn url_variations_are_judged_like_twilios_python_library() {
    let pairs = [
        ("https://h.example/sms", "https://h.example/sms"),
        ("https://h.example:443/sms", "https://h.example/sms"),
        ("https://h.example/sms", "https://h.example:443/sms"),
        ("http://h.example:80/sms", "http://h.example/sms"),
        ("http://h.example/sms", "http://h.example:80/sms"),
        ("https://h.example/sms", "https://h.example:8443/sms"),
        ("https://h.example:8443/sms", "https://h.example/sms"),
        ("https://h.example:8443/sms", "https://h.example:8443/sms"),
        ("https://h.example:443/sms", "https://h.example:8443/sms"),
        ("http://h.example/sms", "https://h.example/sms"),
        ("https://h.example/sms", "http://h.example/sms"),
        ("https://h.example:443/sms", "http://h.example:80/sms"),
        ("https://h.example/sms", "https://h.example/sms/"),
        ("https://h.example/sms?a=1", "https://h.example/sms"),
        ("https://h.example/sms", "https://H.example/sms"),
        ("http://127.0.0.1:3000/sms", "http://127.0.0.1/sms"),
    ];
    let params = json!([["Body", "hi"], ["From", "+17735550123"], ["MediaUrl0", ""]]);
    let cases: Vec<Value> = pairs
        .iter()
        .map(|(signed, requested)| json!({"signed": signed, "requested": requested, "params": params}))
        .collect();
    let cases = Value::Array(cases);
    let script = format!(
        "{PRELUDE}\nv = RequestValidator('tok')\nprint(json.dumps([v.validate(c['requested'], dict(c['params']), v.compute_signature(c['signed'], dict(c['params']))) for c in inp]))"
    );
    let theirs = python(&script, &cases);
    let mut table = String::new();
    for (i, (signed, requested)) in pairs.iter().enumerate() {
        let p = to_pairs(&params);
        let sig = signature::compute("tok", signed, &p);
        let ours = signature::verify("tok", requested, &p, &sig);
        table.push_str(&format!(
            "signed {signed:<28} requested {requested:<28} python {} ours {ours}\n",
            theirs[i]
        ));
        assert_eq!(
            Some(ours),
            theirs[i].as_bool(),
            "signed {signed}, requested {requested}"
        );
    }
    println!("{table}");
}
