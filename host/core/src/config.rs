//! The config kernel. Each capability (storage, queue, Twilio, the runtime, the LLM
//! gateway, alerts, the scheduler, the send policy, ...) declares the variables it reads
//! as a `VARS: &[Var]` list and parses its own section through a [`Lookup`]; the binary
//! only composes the sections, prints every list in `check-config`, and refuses an
//! `AGENTHOST_*` variable no list names. Errors name the variable and never echo a
//! secret's value.

use std::fmt;
use std::time::Duration;

/// One environment variable a capability reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    pub name: &'static str,
    /// Its value is never printed (`check-config` shows `<redacted>`).
    pub secret: bool,
    /// One line for `check-config` and the deployment docs: what it does, its default.
    pub help: &'static str,
}

/// A variable holding a value its capability cannot use: which one, and what was wrong.
/// The message never contains a secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(var: &'static str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            var,
            message: message.into(),
        }
    }
}

/// A secret value (a token, a key, a password in a URL): `Debug` and `Display` show
/// `<redacted>`; only [`Secret::expose`] gives the value, to the one place that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

type Read<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Where a section reads its variables from: the process environment in production, a
/// map in tests. A value that is empty or only blanks counts as unset.
pub struct Lookup<'a> {
    read: Box<Read<'a>>,
    declared: Option<&'a [Var]>,
}

impl fmt::Debug for Lookup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lookup")
    }
}

impl<'a> Lookup<'a> {
    pub fn new(f: impl Fn(&str) -> Option<String> + 'a) -> Lookup<'a> {
        Lookup {
            read: Box::new(f),
            declared: None,
        }
    }

    /// Checks (in debug builds) that every variable read is one of `vars`, the section's
    /// declared list, so `check-config` and the unknown-variable check never miss one.
    pub fn declared(mut self, vars: &'a [Var]) -> Lookup<'a> {
        self.declared = Some(vars);
        self
    }

    fn read(&self, var: &str) -> Option<String> {
        if let Some(vars) = self.declared {
            debug_assert!(
                vars.iter().any(|v| v.name == var),
                "{var} is read but not declared in its section's VARS"
            );
        }
        (self.read)(var)
    }

    /// The value trimmed, unless empty or blank.
    pub fn get(&self, var: &str) -> Option<String> {
        self.read(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The value as a secret.
    pub fn secret(&self, var: &str) -> Option<Secret> {
        self.get(var).map(Secret::new)
    }

    /// A whole number, `default` when unset, refused below `min`.
    pub fn number(&self, var: &'static str, default: u64, min: u64) -> Result<u64, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(v) => {
                let n: u64 = v.parse().map_err(|_| {
                    ConfigError::new(var, format!("{v:?} is not a non-negative integer"))
                })?;
                if n < min {
                    return Err(ConfigError::new(var, format!("must be at least {min}")));
                }
                Ok(n)
            }
        }
    }

    /// A whole number of seconds (see [`Lookup::number`]).
    pub fn secs(
        &self,
        var: &'static str,
        default: Duration,
        min: Duration,
    ) -> Result<Duration, ConfigError> {
        self.number(var, default.as_secs(), min.as_secs())
            .map(Duration::from_secs)
    }

    /// A whole number of milliseconds (see [`Lookup::number`]).
    pub fn millis(
        &self,
        var: &'static str,
        default: Duration,
        min: Duration,
    ) -> Result<Duration, ConfigError> {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.number(var, ms(default), ms(min))
            .map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &'static [(&'static str, &'static str)]) -> Lookup<'static> {
        Lookup::new(move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn blank_is_unset_and_values_are_trimmed() {
        let l = map(&[("A", "  "), ("B", " 7 "), ("C", "")]);
        assert_eq!(l.get("A"), None);
        assert_eq!(l.get("C"), None);
        assert_eq!(l.get("B").as_deref(), Some("7"));
        assert_eq!(l.number("A", 3, 1), Ok(3));
        assert_eq!(l.number("B", 3, 1), Ok(7));
        assert_eq!(l.get("MISSING"), None);
    }

    #[test]
    fn numbers_name_the_variable_and_the_problem() {
        let l = map(&[("N", "soon"), ("Z", "0"), ("S", "90"), ("M", "250")]);
        let e = l.number("N", 1, 0).unwrap_err();
        assert_eq!(e.var, "N");
        assert_eq!(e.to_string(), "N: \"soon\" is not a non-negative integer");
        assert_eq!(
            l.number("Z", 1, 1).unwrap_err().to_string(),
            "Z: must be at least 1"
        );
        assert_eq!(
            l.secs("S", Duration::ZERO, Duration::ZERO),
            Ok(Duration::from_secs(90))
        );
        assert_eq!(
            l.millis("M", Duration::ZERO, Duration::from_millis(10)),
            Ok(Duration::from_millis(250))
        );
        assert_eq!(
            l.millis("UNSET", Duration::from_secs(2), Duration::ZERO),
            Ok(Duration::from_secs(2))
        );
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "UNDECLARED is read but not declared")]
    fn reading_an_undeclared_variable_is_caught_in_debug_builds() {
        const VARS: &[Var] = &[Var {
            name: "A",
            secret: false,
            help: "a",
        }];
        let l = map(&[]).declared(VARS);
        assert_eq!(l.get("A"), None);
        let _ = l.get("UNDECLARED");
    }

    #[test]
    fn secrets_never_print() {
        let l = map(&[("T", "hunter2")]);
        let s = l.secret("T").unwrap();
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "hunter2");
    }
}
