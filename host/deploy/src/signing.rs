//! Signed plugin versions. A signature is ed25519 over
//! `agenthost-plugin-signature-v1\n<plugin>\n<sha256 of the component, hex>\n`, so it
//! binds the bytes *and* the plugin they were signed for (a component signed as `locator`
//! cannot be uploaded as `landlord-rep`). On the wire and on disk it is one line:
//! `<key id>:<base64 of the 64-byte signature>`.
//!
//! The operator lists trusted public keys by id (`AGENTHOST_PLUGIN_TRUSTED_KEYS`,
//! `id=<base64 of the 32-byte key>,...`) and may require a valid signature on every upload
//! and on every file of the plugins folder (`AGENTHOST_REQUIRE_SIGNED_PLUGINS`). A signature
//! that comes, required or not, must verify against a trusted key: a wrong one is never
//! ignored.
//!
//! Secret keys live in a file `agenthost plugin keygen` writes (`id=...` and `seed=...`
//! lines, mode 0600) and `agenthost plugin sign` reads.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// The domain-separation prefix of every signed message.
const CONTEXT: &str = "agenthost-plugin-signature-v1";

/// The bytes a signature covers.
pub fn signed_message(plugin: &str, sha256_hex: &str) -> Vec<u8> {
    format!("{CONTEXT}\n{plugin}\n{sha256_hex}\n").into_bytes()
}

/// Why an upload's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "plugin versions must be signed by a trusted key (AGENTHOST_REQUIRE_SIGNED_PLUGINS) and this one carries no signature; sign it with `agenthost plugin sign`"
    )]
    Missing,
    #[error("the signature is malformed: {0}")]
    Malformed(String),
    #[error(
        "the signature's key {0:?} is not one of the trusted keys (AGENTHOST_PLUGIN_TRUSTED_KEYS)"
    )]
    UnknownKey(String),
    #[error(
        "the signature does not verify with key {0:?}: the component, or the plugin name it was signed for, differs"
    )]
    Invalid(String),
}

/// A key id: what names a key in config, signatures and the version's history.
fn check_key_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 {
        return Err(format!("key id {id:?} must be 1 to 64 characters"));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "key id {id:?} may hold only letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

/// The signing rule in force: trusted keys by id, and whether a signature is required.
#[derive(Clone, Default)]
pub struct SigningPolicy {
    keys: BTreeMap<String, VerifyingKey>,
    required: bool,
}

impl fmt::Debug for SigningPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningPolicy")
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("required", &self.required)
            .finish()
    }
}

impl SigningPolicy {
    /// Parses `id=<base64 public key>,...`; `required` without a key is refused (nothing
    /// could ever be uploaded).
    pub fn parse(trusted: Option<&str>, required: bool) -> Result<SigningPolicy, String> {
        let mut keys = BTreeMap::new();
        for entry in trusted
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let (id, key) = entry
                .split_once('=')
                .ok_or_else(|| format!("{entry:?} is not id=<base64 ed25519 public key>"))?;
            let id = id.trim();
            check_key_id(id)?;
            let key = parse_public_key(key.trim()).map_err(|e| format!("key {id:?}: {e}"))?;
            if keys.insert(id.to_owned(), key).is_some() {
                return Err(format!("key id {id:?} is listed twice"));
            }
        }
        if required && keys.is_empty() {
            return Err("signed plugins are required but no trusted key is listed".into());
        }
        Ok(SigningPolicy { keys, required })
    }

    pub fn required(&self) -> bool {
        self.required
    }

    /// The ids of the trusted keys.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.keys().map(String::as_str).collect()
    }

    /// Checks `signature` (`<key id>:<base64>`) over `plugin`'s component whose sha256 is
    /// `sha256_hex`. `Ok(Some(id))`: signed by trusted key `id`; `Ok(None)`: unsigned and
    /// signing not required.
    pub fn check(
        &self,
        plugin: &str,
        sha256_hex: &str,
        signature: Option<&str>,
    ) -> Result<Option<String>, SignatureError> {
        let Some(signature) = signature.map(str::trim).filter(|s| !s.is_empty()) else {
            return if self.required {
                Err(SignatureError::Missing)
            } else {
                Ok(None)
            };
        };
        let (id, sig) = parse_signature(signature)?;
        let key = self
            .keys
            .get(id)
            .ok_or_else(|| SignatureError::UnknownKey(id.to_owned()))?;
        key.verify(&signed_message(plugin, sha256_hex), &sig)
            .map_err(|_| SignatureError::Invalid(id.to_owned()))?;
        Ok(Some(id.to_owned()))
    }
}

fn parse_public_key(b64: &str) -> Result<VerifyingKey, String> {
    let bytes = B64.decode(b64).map_err(|e| format!("not base64 ({e})"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("an ed25519 public key is 32 bytes, this is {}", b.len()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("not an ed25519 public key ({e})"))
}

fn parse_signature(s: &str) -> Result<(&str, Signature), SignatureError> {
    let (id, b64) = s
        .split_once(':')
        .ok_or_else(|| SignatureError::Malformed("expected <key id>:<base64 signature>".into()))?;
    check_key_id(id).map_err(SignatureError::Malformed)?;
    let bytes = B64
        .decode(b64.trim())
        .map_err(|e| SignatureError::Malformed(format!("not base64 ({e})")))?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|b: Vec<u8>| {
        SignatureError::Malformed(format!(
            "an ed25519 signature is 64 bytes, this is {}",
            b.len()
        ))
    })?;
    Ok((id, Signature::from_bytes(&bytes)))
}

/// A secret signing key and its id, as `agenthost plugin keygen` writes it.
pub struct SecretKey {
    id: String,
    key: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("id", &self.id)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl SecretKey {
    /// A key from 32 random bytes.
    pub fn from_seed(id: &str, seed: [u8; 32]) -> Result<SecretKey, String> {
        check_key_id(id)?;
        Ok(SecretKey {
            id: id.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Reads the key file's text (`id=...`, `seed=...`; `#` comments).
    pub fn parse(text: &str) -> Result<SecretKey, String> {
        let (mut id, mut seed) = (None, None);
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once('=') {
                Some(("id", v)) => id = Some(v.trim().to_owned()),
                Some(("seed", v)) => seed = Some(v.trim().to_owned()),
                _ => return Err(format!("unexpected line in the key file: {line:?}")),
            }
        }
        let id = id.ok_or("the key file has no id= line")?;
        let seed = B64
            .decode(seed.ok_or("the key file has no seed= line")?)
            .map_err(|e| format!("seed is not base64 ({e})"))?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| "the seed is not 32 bytes".to_owned())?;
        SecretKey::from_seed(&id, seed)
    }

    /// The key file's text.
    pub fn to_file(&self) -> String {
        format!(
            "# agenthost plugin signing key: keep it secret (sign with `agenthost plugin sign`)\nid={}\nseed={}\n",
            self.id,
            B64.encode(self.key.to_bytes())
        )
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The entry for `AGENTHOST_PLUGIN_TRUSTED_KEYS`: `id=<base64 public key>`.
    pub fn trusted_entry(&self) -> String {
        format!(
            "{}={}",
            self.id,
            B64.encode(self.key.verifying_key().to_bytes())
        )
    }

    /// The signature line for `plugin`'s component whose sha256 is `sha256_hex`.
    pub fn sign(&self, plugin: &str, sha256_hex: &str) -> String {
        let sig = self.key.sign(&signed_message(plugin, sha256_hex));
        format!("{}:{}", self.id, B64.encode(sig.to_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn key(id: &str, byte: u8) -> SecretKey {
        SecretKey::from_seed(id, [byte; 32]).unwrap()
    }

    fn policy(keys: &[&SecretKey], required: bool) -> SigningPolicy {
        let list: Vec<String> = keys.iter().map(|k| k.trusted_entry()).collect();
        SigningPolicy::parse(Some(&list.join(",")), required).unwrap()
    }

    #[test]
    fn a_signature_by_a_trusted_key_verifies_and_names_its_signer() {
        let release = key("release", 1);
        let p = policy(&[&release, &key("ops", 2)], true);
        let sig = release.sign("locator", SHA);
        assert_eq!(
            p.check("locator", SHA, Some(&sig)),
            Ok(Some("release".into()))
        );
    }

    #[test]
    fn other_bytes_another_plugin_or_an_untrusted_key_are_refused() {
        let release = key("release", 1);
        let p = policy(&[&release], false);
        let sig = release.sign("locator", SHA);
        let other_sha = SHA.replace('9', "8");
        assert_eq!(
            p.check("locator", &other_sha, Some(&sig)),
            Err(SignatureError::Invalid("release".into()))
        );
        assert_eq!(
            p.check("landlord-rep", SHA, Some(&sig)),
            Err(SignatureError::Invalid("release".into()))
        );
        // Same id, different secret: the key an attacker made up.
        let forged = key("release", 9).sign("locator", SHA);
        assert_eq!(
            p.check("locator", SHA, Some(&forged)),
            Err(SignatureError::Invalid("release".into()))
        );
        let stranger = key("stranger", 3).sign("locator", SHA);
        assert_eq!(
            p.check("locator", SHA, Some(&stranger)),
            Err(SignatureError::UnknownKey("stranger".into()))
        );
        // A wrong signature is refused even when signing is optional.
        assert!(matches!(
            p.check("locator", SHA, Some("release:AAAA")),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            p.check("locator", SHA, Some("no colon")),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn unsigned_is_refused_only_when_required() {
        let release = key("release", 1);
        assert_eq!(
            policy(&[&release], true).check("locator", SHA, None),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            policy(&[&release], true).check("locator", SHA, Some("  ")),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            policy(&[&release], false).check("locator", SHA, None),
            Ok(None)
        );
        assert_eq!(SigningPolicy::default().check("x", SHA, None), Ok(None));
    }

    #[test]
    fn the_trusted_keys_variable_is_validated() {
        assert!(
            SigningPolicy::parse(None, true)
                .unwrap_err()
                .contains("no trusted key")
        );
        assert!(
            SigningPolicy::parse(Some("release"), false)
                .unwrap_err()
                .contains("id=<base64")
        );
        assert!(
            SigningPolicy::parse(Some("release=AAAA"), false)
                .unwrap_err()
                .contains("32 bytes")
        );
        assert!(
            SigningPolicy::parse(Some("bad id=AAAA"), false)
                .unwrap_err()
                .contains("may hold only")
        );
        let k = key("release", 1).trusted_entry();
        assert!(
            SigningPolicy::parse(Some(&format!("{k},{k}")), false)
                .unwrap_err()
                .contains("twice")
        );
        let p = SigningPolicy::parse(Some(&format!(" {k} ,")), true).unwrap();
        assert_eq!(p.key_ids(), ["release"]);
        assert!(p.required());
    }

    #[test]
    fn the_key_file_round_trips_and_hides_its_secret_from_debug() {
        let k = key("release", 7);
        let file = k.to_file();
        let back = SecretKey::parse(&file).unwrap();
        assert_eq!(back.trusted_entry(), k.trusted_entry());
        assert_eq!(back.sign("x", SHA), k.sign("x", SHA));
        assert!(!format!("{k:?}").contains(&file.lines().last().unwrap()[5..]));
        assert!(SecretKey::parse("id=a\n").unwrap_err().contains("seed"));
        assert!(SecretKey::parse("seed=AAAA\n").unwrap_err().contains("id"));
        assert!(
            SecretKey::parse("junk\n")
                .unwrap_err()
                .contains("unexpected")
        );
    }
}
