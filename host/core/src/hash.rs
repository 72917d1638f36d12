//! A hash that is the same on every replica and every build, for decisions replicas must
//! agree on without talking: which conversations a canary serves, which worker stripe a
//! conversation takes, how far a held text's release is jittered.

/// FNV-1a over the bytes of `key` (unlike `std`'s randomly seeded hasher, stable).
pub fn stable_hash(key: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_fnv1a_and_stable() {
        // FNV-1a 64 test vectors.
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(stable_hash("foobar"), 0x8594_4171_f739_67e8);
        assert_ne!(stable_hash("+1555|+1666"), stable_hash("+1555|+1667"));
    }
}
