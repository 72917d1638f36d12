//! Reading a renter's message: the shared rules live in `agenthost_sdk::lead`; this
//! module adds the Locator's own phrasing.

pub use agenthost_sdk::lead::{Pets, bedrooms, budget, pets};

/// The renter's pets, as the Locator says them back.
pub fn describe_pets(p: &Pets) -> &'static str {
    match (p.cats, p.dogs) {
        (false, false) => "no pets",
        (true, false) => "cats",
        (false, true) => "dogs",
        (true, true) => "cats and dogs",
    }
}
