//! PostgreSQL `LISTEN`/`NOTIFY` of committed deployment changes; SQLite has one process
//! per file, which polls the deploy clock instead.

use std::fmt;

use sqlx::postgres::PgListener;

use super::Deploys;
use crate::error::query;
use crate::{Backend, StorageError, redact_url};

/// The PostgreSQL `LISTEN`/`NOTIFY` channel on which every committed deployment change is
/// announced; the payload is the plugin's name.
pub const DEPLOY_CHANNEL: &str = "agenthost_deploys";

/// PostgreSQL only: queues the change notification, sent when the transaction commits. The
/// `SELECT` wrapper keeps `pg_notify`'s `void` result out of the row decoder.
pub(super) const NOTIFY_SQL: &str =
    "SELECT 1 FROM (SELECT pg_notify('agenthost_deploys', $1)) AS n";

/// A subscription to committed deployment changes on PostgreSQL (see
/// [`Deploys::listen_deploys`]).
pub struct DeployListener {
    inner: PgListener,
}

impl fmt::Debug for DeployListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeployListener")
            .field("channel", &DEPLOY_CHANNEL)
            .finish_non_exhaustive()
    }
}

impl DeployListener {
    /// Waits for the next committed change and returns the changed plugin's name. If the
    /// connection drops, this reconnects and listens again by itself; notifications sent
    /// meanwhile are lost, so callers should also poll [`Deploys::deploy_generation`] now
    /// and then.
    pub async fn recv(&mut self) -> Result<String, StorageError> {
        let notification = self
            .inner
            .recv()
            .await
            .map_err(query("deploy listener: receive"))?;
        Ok(notification.payload().to_owned())
    }
}

impl Deploys {
    /// PostgreSQL: a listener on [`DEPLOY_CHANNEL`], on a connection of its own, that hears
    /// of every deployment change any replica commits from now on. SQLite: `None` (one
    /// process owns the file; poll [`Deploys::deploy_generation`] instead).
    pub async fn listen_deploys(&self) -> Result<Option<DeployListener>, StorageError> {
        if self.db.backend != Backend::Postgres {
            return Ok(None);
        }
        let url = self.db.pool.connect_options().database_url.clone();
        let mut inner =
            PgListener::connect(url.as_str())
                .await
                .map_err(|source| StorageError::Connect {
                    url: redact_url(url.as_str()),
                    source,
                })?;
        inner
            .listen(DEPLOY_CHANNEL)
            .await
            .map_err(query("listen_deploys: listen"))?;
        Ok(Some(DeployListener { inner }))
    }
}
