//! Enums spelled as text — in the database, in JSON, in the admin API — each variant
//! with one spelling, parsed back with an error that lists what is accepted.

/// A text that names none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}` (expected one of: {})", expected.trim_end_matches(", "))]
pub struct ParseNameError {
    /// What was being parsed, e.g. `rollout mode`.
    pub what: &'static str,
    /// The text as given.
    pub value: String,
    /// The accepted spellings, each followed by `, `.
    pub expected: &'static str,
}

/// Defines an enum whose values are spelled as lower-case text: `as_str`, `ALL`,
/// `Display`, `FromStr` (a [`ParseNameError`] naming `what` otherwise) and serde in the
/// same spelling. The calling crate depends on `serde` (the derives name it).
///
/// ```
/// agenthost_core::named_enum! {
///     /// A light.
///     pub enum Light as "light" {
///         Red = "red",
///         Green = "green",
///     }
/// }
/// assert_eq!("green".parse::<Light>(), Ok(Light::Green));
/// assert_eq!(Light::Red.to_string(), "red");
/// assert!("blue".parse::<Light>().unwrap_err().to_string().contains("red, green"));
/// ```
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident as $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$( $name::$variant, )+];

            /// The one spelling of this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ParseNameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text => Ok(Self::$variant), )+
                    _ => Err($crate::ParseNameError {
                        what: $what,
                        value: s.to_owned(),
                        expected: concat!($( $text, ", ", )+),
                    }),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::{DeployAction, Direction, RolloutMode};

    #[test]
    fn names_round_trip_in_text_and_json() {
        for mode in RolloutMode::ALL {
            assert_eq!(mode.as_str().parse::<RolloutMode>(), Ok(*mode));
        }
        for action in DeployAction::ALL {
            assert_eq!(action.as_str().parse::<DeployAction>(), Ok(*action));
            let json = serde_json::to_string(action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
        }
        assert_eq!(
            serde_json::to_string(&DeployAction::AutoRollback).unwrap(),
            "\"auto_rollback\""
        );
        assert_eq!(
            serde_json::to_string(&Direction::Inbound).unwrap(),
            "\"inbound\""
        );
        assert_eq!("outbound".parse::<Direction>(), Ok(Direction::Outbound));
    }

    #[test]
    fn an_unknown_name_says_what_is_accepted() {
        let err = "blue-green".parse::<RolloutMode>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown rollout mode `blue-green` (expected one of: none, canary, shadow)"
        );
    }
}
