//! The deploy vocabulary: how a candidate version is tried next to the active one, and
//! what an entry of a plugin's deploy history records. Stored as text by storage, spoken
//! by the deployer and the admin API.

use crate::named_enum;

named_enum! {
    /// How a candidate version is being tried next to the active one.
    pub enum RolloutMode as "rollout mode" {
        /// No rollout: the active version serves everything.
        None = "none",
        /// The candidate serves `canary_percent` percent of events.
        Canary = "canary",
        /// The active version serves every event; the candidate also runs on each, its
        /// effects discarded and compared (a shadow run).
        Shadow = "shadow",
    }
}

named_enum! {
    /// What an entry of a plugin's deploy history records.
    pub enum DeployAction as "deploy action" {
        /// A new version was stored.
        Upload = "upload",
        /// A version was made active by an operator.
        Activate = "activate",
        /// The previous version was made active again by an operator.
        Rollback = "rollback",
        /// The previous version was made active again by the host (e.g. the candidate kept
        /// failing).
        AutoRollback = "auto_rollback",
        /// A canary or shadow rollout started or changed.
        Rollout = "rollout",
        /// The rollout's candidate became the active version.
        Promote = "promote",
        /// The rollout was stopped; the active version serves everything again.
        Abort = "abort",
        /// Dead letters were put back in the queue (details: the events and the version
        /// they run on).
        Requeue = "requeue",
        /// A dead letter was discarded by an operator, with a reason.
        Discard = "discard",
    }
}
