//! Cases for the plugin registry: versions, deployments, rollouts, history, shadow runs, the
//! deploy clock and (PostgreSQL) change notifications.

use std::fmt::Debug;
use std::time::Duration;

use agenthost_storage::{
    Backend, DeployAction, DeployError, Deployment, NewPluginVersion, RolloutMode, ShadowRun,
    Storage,
};
use anyhow::{Context, bail, ensure};

use crate::harness::TestDb;

const PLUGIN: &str = "landlord-rep";
const OTHER: &str = "locator";

/// A version of `plugin` whose component is `tag`'s bytes.
fn version(plugin: &str, tag: &str) -> NewPluginVersion {
    NewPluginVersion {
        plugin: plugin.to_owned(),
        version: tag.to_owned(),
        component: format!("\0asm component {tag}").into_bytes(),
        wit_world: "agenthost:plugin/agent@0.1.0".to_owned(),
        description_json: format!(r#"{{"name":"{plugin}","tag":"{tag}"}}"#),
        uploaded_by: "alice".to_owned(),
        note: Some(format!("upload {tag}")),
        signed_by: None,
    }
}

/// Uploads `tags` of `plugin` at times 1, 2, …
async fn upload(db: &Storage, plugin: &str, tags: &[&str]) -> anyhow::Result<()> {
    for (i, tag) in tags.iter().enumerate() {
        let (_, created) = db
            .deploys()
            .put_plugin_version(&version(plugin, tag), i as i64 + 1)
            .await?;
        ensure!(created, "{plugin}@{tag} was already stored");
    }
    Ok(())
}

async fn activate(
    db: &Storage,
    plugin: &str,
    tag: &str,
    now_ms: i64,
) -> anyhow::Result<Deployment> {
    Ok(db
        .deploys()
        .activate_version(plugin, tag, "bob", Some("ship it"), now_ms)
        .await?)
}

async fn rollout(
    db: &Storage,
    mode: RolloutMode,
    candidate: Option<&str>,
    percent: u8,
    now_ms: i64,
) -> Result<Deployment, DeployError> {
    db.deploys()
        .set_rollout(
            PLUGIN,
            mode,
            candidate,
            percent,
            "carol",
            Some("try it"),
            now_ms,
        )
        .await
}

async fn auto_rollback(
    db: &Storage,
    expect_active: &str,
    now_ms: i64,
) -> Result<Deployment, DeployError> {
    db.deploys()
        .rollback_version(
            PLUGIN,
            "host",
            Some("error rate 40%"),
            Some(expect_active),
            true,
            Some(r#"{"errors":4,"events":10}"#),
            now_ms,
        )
        .await
}

/// The error of a call expected to fail.
fn refused<T: Debug>(result: Result<T, DeployError>) -> anyhow::Result<DeployError> {
    match result {
        Ok(value) => bail!("expected an error, got {value:?}"),
        Err(DeployError::Storage(e)) => Err(e).context("storage failed"),
        Err(e) => Ok(e),
    }
}

async fn current(db: &Storage, plugin: &str) -> anyhow::Result<Deployment> {
    db.deploys()
        .deployment(plugin)
        .await?
        .with_context(|| format!("{plugin} has no deployment"))
}

/// `plugin`'s history actions, newest first.
async fn actions(db: &Storage, plugin: &str) -> anyhow::Result<Vec<DeployAction>> {
    Ok(db
        .deploys()
        .plugin_history(Some(plugin), 100)
        .await?
        .into_iter()
        .map(|e| e.action)
        .collect())
}

pub async fn uploads_are_idempotent(db: &TestDb) -> anyhow::Result<()> {
    let first = version(PLUGIN, "v1");
    let (meta, created) = db.deploys().put_plugin_version(&first, 1_000).await?;
    assert!(created);
    assert_eq!(meta.size_bytes, first.component.len() as i64);
    assert_eq!(
        (
            meta.uploaded_by.as_str(),
            meta.uploaded_at,
            meta.note.as_deref()
        ),
        ("alice", 1_000, Some("upload v1"))
    );

    let again = NewPluginVersion {
        uploaded_by: "mallory".into(),
        note: None,
        description_json: "{}".into(),
        ..first.clone()
    };
    let (stored, created) = db.deploys().put_plugin_version(&again, 5_000).await?;
    assert!(!created, "the same version uploads once");
    assert_eq!(stored, meta, "the first upload's metadata is kept");
    assert_eq!(
        db.deploys().plugin_version_meta(PLUGIN, "v1").await?,
        Some(meta.clone())
    );
    assert_eq!(db.deploys().plugin_version_meta(PLUGIN, "v2").await?, None);
    assert_eq!(db.deploys().plugin_version_meta(OTHER, "v1").await?, None);

    let history = db.deploys().plugin_history(Some(PLUGIN), 10).await?;
    assert_eq!(history.len(), 1, "{history:?}");
    let upload = &history[0];
    assert_eq!(upload.action, DeployAction::Upload);
    assert_eq!(
        (
            upload.from_version.as_deref(),
            upload.to_version.as_deref(),
            upload.actor.as_str(),
            upload.reason.as_deref(),
            upload.at_ms
        ),
        (None, Some("v1"), "alice", Some("upload v1"), 1_000)
    );
    assert_eq!(
        db.deploys().deploy_generation().await?,
        0,
        "uploads are not deployments"
    );
    assert_eq!(db.deploys().deployment(PLUGIN).await?, None);
    Ok(())
}

pub async fn large_component_round_trips(db: &TestDb) -> anyhow::Result<()> {
    // 3 MiB covering every byte value, zeros and 0xff included, in a non-repeating order.
    let component: Vec<u8> = (0..3 * 1024 * 1024_u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let big = NewPluginVersion {
        component: component.clone(),
        ..version(PLUGIN, "big")
    };
    let (meta, created) = db.deploys().put_plugin_version(&big, 1).await?;
    assert!(created);
    assert_eq!(meta.size_bytes, 3 * 1024 * 1024);
    let read = db
        .deploys()
        .plugin_component(PLUGIN, "big")
        .await?
        .context("component missing")?;
    assert!(read == component, "component bytes changed in storage");
    assert_eq!(db.deploys().plugin_component(PLUGIN, "nope").await?, None);
    assert_eq!(db.deploys().plugin_component(OTHER, "big").await?, None);
    Ok(())
}

pub async fn versions_are_listed_newest_first(db: &TestDb) -> anyhow::Result<()> {
    assert!(db.deploys().plugin_versions(PLUGIN).await?.is_empty());
    for (tag, at_ms) in [("a", 1_000), ("b", 3_000), ("c", 2_000)] {
        db.deploys()
            .put_plugin_version(&version(PLUGIN, tag), at_ms)
            .await?;
    }
    db.deploys()
        .put_plugin_version(&version(OTHER, "z"), 9_000)
        .await?;
    let listed: Vec<(String, i64)> = db
        .deploys()
        .plugin_versions(PLUGIN)
        .await?
        .into_iter()
        .map(|m| (m.version, m.uploaded_at))
        .collect();
    assert_eq!(
        listed,
        [
            ("b".into(), 3_000),
            ("c".into(), 2_000),
            ("a".into(), 1_000)
        ]
    );
    Ok(())
}

pub async fn activation_sets_previous_and_bumps_generation(db: &TestDb) -> anyhow::Result<()> {
    upload(db, PLUGIN, &["v1", "v2"]).await?;
    upload(db, OTHER, &["o1"]).await?;
    assert_eq!(db.deploys().deploy_generation().await?, 0);
    assert!(db.deploys().deployments().await?.is_empty());

    let err = refused(
        db.deploys()
            .activate_version(PLUGIN, "v9", "bob", None, 10)
            .await,
    )?;
    assert!(
        matches!(&err, DeployError::UnknownVersion { plugin, version } if plugin == PLUGIN && version == "v9"),
        "{err:?}"
    );
    assert_eq!(db.deploys().deployment(PLUGIN).await?, None);
    assert_eq!(
        db.deploys().deploy_generation().await?,
        0,
        "a refused change bumps nothing"
    );

    let first = activate(db, PLUGIN, "v1", 100).await?;
    assert_eq!(
        first,
        Deployment {
            plugin: PLUGIN.into(),
            active_version: Some("v1".into()),
            previous_version: None,
            rollout: RolloutMode::None,
            candidate_version: None,
            canary_percent: 0,
            activated_at: Some(100),
            updated_at: 100,
            generation: 1,
        }
    );
    assert_eq!(current(db, PLUGIN).await?, first);
    assert_eq!(db.deploys().deploy_generation().await?, 1);

    let second = activate(db, PLUGIN, "v2", 200).await?;
    assert_eq!(second.active_version.as_deref(), Some("v2"));
    assert_eq!(second.previous_version.as_deref(), Some("v1"));
    assert_eq!((second.activated_at, second.generation), (Some(200), 2));
    assert_eq!(current(db, PLUGIN).await?, second);

    let other = activate(db, OTHER, "o1", 300).await?;
    assert_eq!(other.generation, 3);
    let plugins: Vec<String> = db
        .deploys()
        .deployments()
        .await?
        .into_iter()
        .map(|d| d.plugin)
        .collect();
    assert_eq!(plugins, [PLUGIN, OTHER], "sorted by plugin");

    let history = db.deploys().plugin_history(Some(PLUGIN), 1).await?;
    assert_eq!(history.len(), 1);
    let entry = &history[0];
    assert_eq!(entry.action, DeployAction::Activate);
    assert_eq!(
        (
            entry.from_version.as_deref(),
            entry.to_version.as_deref(),
            entry.actor.as_str(),
            entry.reason.as_deref(),
            entry.at_ms
        ),
        (Some("v1"), Some("v2"), "bob", Some("ship it"), 200)
    );
    Ok(())
}

pub async fn reactivating_the_active_version_is_a_no_op(db: &TestDb) -> anyhow::Result<()> {
    upload(db, PLUGIN, &["v1", "v2"]).await?;
    activate(db, PLUGIN, "v1", 100).await?;
    let before = activate(db, PLUGIN, "v2", 200).await?;
    let history = db.deploys().plugin_history(None, 100).await?;

    let again = activate(db, PLUGIN, "v2", 300).await?;
    assert_eq!(again, before, "nothing changes, not even updated_at");
    assert_eq!(current(db, PLUGIN).await?, before);
    assert_eq!(db.deploys().deploy_generation().await?, before.generation);
    assert_eq!(
        db.deploys().plugin_history(None, 100).await?,
        history,
        "no history entry"
    );
    Ok(())
}

pub async fn rollback_flips_active_and_previous(db: &TestDb) -> anyhow::Result<()> {
    upload(db, PLUGIN, &["v1", "v2"]).await?;
    activate(db, PLUGIN, "v1", 100).await?;
    let before = activate(db, PLUGIN, "v2", 200).await?;

    let back = db
        .deploys()
        .rollback_version(PLUGIN, "dave", Some("bad replies"), None, false, None, 300)
        .await?;
    assert_eq!(back.active_version.as_deref(), Some("v1"));
    assert_eq!(back.previous_version.as_deref(), Some("v2"));
    assert_eq!(back.activated_at, Some(300));
    assert_eq!(back.generation, before.generation + 1);
    assert_eq!(current(db, PLUGIN).await?, back);
    let entry = db
        .deploys()
        .plugin_history(Some(PLUGIN), 1)
        .await?
        .remove(0);
    assert_eq!(entry.action, DeployAction::Rollback);
    assert_eq!(
        (
            entry.from_version.as_deref(),
            entry.to_version.as_deref(),
            entry.actor.as_str(),
            entry.reason.as_deref(),
            entry.at_ms,
            entry.details_json.as_deref()
        ),
        (
            Some("v2"),
            Some("v1"),
            "dave",
            Some("bad replies"),
            300,
            None
        )
    );

    // Rolling back again returns to v2; automatic rollbacks are labelled and keep details.
    let forth = auto_rollback(db, "v1", 400).await?;
    assert_eq!(
        (
            forth.active_version.as_deref(),
            forth.previous_version.as_deref()
        ),
        (Some("v2"), Some("v1"))
    );
    let entry = db
        .deploys()
        .plugin_history(Some(PLUGIN), 1)
        .await?
        .remove(0);
    assert_eq!(entry.action, DeployAction::AutoRollback);
    assert_eq!(
        (entry.actor.as_str(), entry.details_json.as_deref()),
        ("host", Some(r#"{"errors":4,"events":10}"#))
    );
    Ok(())
}

pub async fn rollback_with_a_stale_expectation_changes_nothing(db: &TestDb) -> anyhow::Result<()> {
    upload(db, PLUGIN, &["v1", "v2"]).await?;
    activate(db, PLUGIN, "v1", 100).await?;
    let before = activate(db, PLUGIN, "v2", 200).await?;
    let history = db.deploys().plugin_history(None, 100).await?;

    let err = refused(auto_rollback(db, "v1", 300).await)?;
    match &err {
        DeployError::NotActive {
            plugin,
            expected,
            actual,
        } => assert_eq!(
            (plugin.as_str(), expected.as_str(), actual.as_deref()),
            (PLUGIN, "v1", Some("v2"))
        ),
        other => bail!("expected NotActive, got {other:?}"),
    }
    assert!(err.to_string().contains("v1"), "{err}");
    assert_eq!(current(db, PLUGIN).await?, before);
    assert_eq!(db.deploys().deploy_generation().await?, before.generation);
    assert_eq!(db.deploys().plugin_history(None, 100).await?, history);

    // A plugin that was never deployed runs nothing.
    let err = refused(
        db.deploys()
            .rollback_version(OTHER, "host", None, Some("v1"), true, None, 300)
            .await,
    )?;
    assert!(
        matches!(&err, DeployError::NotActive { actual: None, .. }),
        "{err:?}"
    );
    Ok(())
}

pub async fn rollback_needs_a_previous_version(db: &TestDb) -> anyhow::Result<()> {
    let err = refused(
        db.deploys()
            .rollback_version(PLUGIN, "dave", None, None, false, None, 10)
            .await,
    )?;
    assert!(
        matches!(&err, DeployError::NoPrevious { plugin } if plugin == PLUGIN),
        "{err:?}"
    );

    upload(db, PLUGIN, &["v1"]).await?;
    let only = activate(db, PLUGIN, "v1", 100).await?;
    let err = refused(
        db.deploys()
            .rollback_version(PLUGIN, "dave", None, None, false, None, 200)
            .await,
    )?;
    assert!(matches!(err, DeployError::NoPrevious { .. }), "{err:?}");
    assert_eq!(current(db, PLUGIN).await?, only);
    assert_eq!(db.deploys().deploy_generation().await?, 1);
    Ok(())
}

pub async fn rollout_requests_are_validated(db: &TestDb) -> anyhow::Result<()> {
    upload(db, PLUGIN, &["v1", "v2"]).await?;

    let err = refused(rollout(db, RolloutMode::Canary, Some("v2"), 10, 50).await)?;
    assert!(
        matches!(&err, DeployError::InvalidRollout(why) if why.contains("no active version")),
        "{err:?}"
    );
    let err = refused(rollout(db, RolloutMode::Shadow, Some("v2"), 0, 50).await)?;
    assert!(matches!(err, DeployError::InvalidRollout(_)), "{err:?}");
    assert_eq!(db.deploys().deployment(PLUGIN).await?, None);

    let before = activate(db, PLUGIN, "v1", 100).await?;
    let err = refused(rollout(db, RolloutMode::Canary, Some("v9"), 10, 200).await)?;
    assert!(
        matches!(&err, DeployError::UnknownVersion { version, .. } if version == "v9"),
        "{err:?}"
    );
    for mode in [RolloutMode::Canary, RolloutMode::Shadow] {
        let err = refused(rollout(db, mode, Some("v1"), 10, 200).await)?;
        assert!(
            matches!(&err, DeployError::InvalidRollout(why) if why.contains("already the active")),
            "{mode}: {err:?}"
        );
        let err = refused(rollout(db, mode, None, 10, 200).await)?;
        assert!(
            matches!(&err, DeployError::InvalidRollout(why) if why.contains("candidate")),
            "{mode}: {err:?}"
        );
    }
    for percent in [0, 101, 255] {
        let err = refused(rollout(db, RolloutMode::Canary, Some("v2"), percent, 200).await)?;
        assert!(
            matches!(&err, DeployError::InvalidRollout(why) if why.contains("percent")),
            "{percent}: {err:?}"
        );
    }
    assert_eq!(
        current(db, PLUGIN).await?,
        before,
        "refused rollouts change nothing"
    );
    assert_eq!(db.deploys().deploy_generation().await?, before.generation);
    assert_eq!(
        actions(db, PLUGIN).await?,
        [
            DeployAction::Activate,
            DeployAction::Upload,
            DeployAction::Upload
        ]
    );

    // The bounds themselves are accepted.
    for percent in [1, 100] {
        let canary = rollout(db, RolloutMode::Canary, Some("v2"), percent, 300).await?;
        assert_eq!(canary.canary_percent, percent);
    }
    Ok(())
}

pub async fn promote_and_abort(db: &TestDb) -> anyhow::Result<()> {
    upload(db, PLUGIN, &["v1", "v2", "v3"]).await?;
    let err = refused(
        db.deploys()
            .promote_candidate(PLUGIN, "erin", None, 10)
            .await,
    )?;
    assert!(matches!(err, DeployError::NoCandidate { .. }), "{err:?}");
    activate(db, PLUGIN, "v1", 100).await?;

    let canary = rollout(db, RolloutMode::Canary, Some("v2"), 10, 200).await?;
    assert_eq!(
        (
            canary.active_version.as_deref(),
            canary.rollout,
            canary.candidate_version.as_deref(),
            canary.canary_percent,
            canary.activated_at
        ),
        (Some("v1"), RolloutMode::Canary, Some("v2"), 10, Some(100))
    );
    assert_eq!(current(db, PLUGIN).await?, canary);
    let entry = db
        .deploys()
        .plugin_history(Some(PLUGIN), 1)
        .await?
        .remove(0);
    assert_eq!(entry.action, DeployAction::Rollout);
    assert_eq!(
        (
            entry.from_version.as_deref(),
            entry.to_version.as_deref(),
            entry.actor.as_str()
        ),
        (Some("v1"), Some("v2"), "carol")
    );
    let details: serde_json::Value =
        serde_json::from_str(entry.details_json.as_deref().context("no details")?)?;
    assert_eq!(
        details,
        serde_json::json!({"mode": "canary", "candidate": "v2", "percent": 10})
    );

    // The same rollout again is a no-op; a new percent is a change.
    assert_eq!(
        rollout(db, RolloutMode::Canary, Some("v2"), 10, 250).await?,
        canary
    );
    let wider = rollout(db, RolloutMode::Canary, Some("v2"), 50, 260).await?;
    assert_eq!(
        (wider.canary_percent, wider.generation),
        (50, canary.generation + 1)
    );

    let promoted = db
        .deploys()
        .promote_candidate(PLUGIN, "erin", Some("canary healthy"), 300)
        .await?;
    assert_eq!(
        (
            promoted.active_version.as_deref(),
            promoted.previous_version.as_deref(),
            promoted.rollout,
            promoted.candidate_version.as_deref(),
            promoted.canary_percent,
            promoted.activated_at
        ),
        (
            Some("v2"),
            Some("v1"),
            RolloutMode::None,
            None,
            0,
            Some(300)
        )
    );
    assert_eq!(current(db, PLUGIN).await?, promoted);
    let entry = db
        .deploys()
        .plugin_history(Some(PLUGIN), 1)
        .await?
        .remove(0);
    assert_eq!(
        (
            entry.action,
            entry.from_version.as_deref(),
            entry.to_version.as_deref(),
            entry.reason.as_deref()
        ),
        (
            DeployAction::Promote,
            Some("v1"),
            Some("v2"),
            Some("canary healthy")
        )
    );

    // Shadow ignores the percent; aborting clears the rollout and keeps the active version.
    let shadow = rollout(db, RolloutMode::Shadow, Some("v3"), 55, 400).await?;
    assert_eq!(
        (
            shadow.rollout,
            shadow.candidate_version.as_deref(),
            shadow.canary_percent
        ),
        (RolloutMode::Shadow, Some("v3"), 0)
    );
    let aborted = rollout(db, RolloutMode::None, None, 0, 500).await?;
    assert_eq!(
        aborted,
        Deployment {
            rollout: RolloutMode::None,
            candidate_version: None,
            updated_at: 500,
            generation: shadow.generation + 1,
            ..shadow.clone()
        }
    );
    assert_eq!(
        (
            aborted.active_version.as_deref(),
            aborted.previous_version.as_deref()
        ),
        (Some("v2"), Some("v1"))
    );
    let entry = db
        .deploys()
        .plugin_history(Some(PLUGIN), 1)
        .await?
        .remove(0);
    assert_eq!(
        (
            entry.action,
            entry.from_version.as_deref(),
            entry.to_version.as_deref()
        ),
        (DeployAction::Abort, Some("v3"), Some("v2"))
    );

    let err = refused(rollout(db, RolloutMode::None, None, 0, 600).await)?;
    assert!(
        matches!(&err, DeployError::NoCandidate { plugin } if plugin == PLUGIN),
        "{err:?}"
    );
    let err = refused(
        db.deploys()
            .promote_candidate(PLUGIN, "erin", None, 600)
            .await,
    )?;
    assert!(matches!(err, DeployError::NoCandidate { .. }), "{err:?}");
    assert_eq!(current(db, PLUGIN).await?, aborted);
    Ok(())
}

pub async fn activation_clears_a_rollout(db: &TestDb) -> anyhow::Result<()> {
    upload(db, PLUGIN, &["v1", "v2", "v3"]).await?;
    activate(db, PLUGIN, "v1", 100).await?;
    rollout(db, RolloutMode::Canary, Some("v2"), 25, 200).await?;

    let direct = activate(db, PLUGIN, "v3", 300).await?;
    assert_eq!(
        (
            direct.active_version.as_deref(),
            direct.previous_version.as_deref(),
            direct.rollout,
            direct.candidate_version.as_deref(),
            direct.canary_percent
        ),
        (Some("v3"), Some("v1"), RolloutMode::None, None, 0)
    );
    let entry = db
        .deploys()
        .plugin_history(Some(PLUGIN), 1)
        .await?
        .remove(0);
    assert_eq!(entry.action, DeployAction::Activate);
    let details: serde_json::Value =
        serde_json::from_str(entry.details_json.as_deref().context("no details")?)?;
    assert_eq!(details["cleared_rollout"]["candidate"], "v2");

    // Re-activating the active version during a rollout is not a no-op: it ends the rollout
    // and keeps the previous version and activation time.
    let shadow = rollout(db, RolloutMode::Shadow, Some("v2"), 0, 400).await?;
    let kept = activate(db, PLUGIN, "v3", 500).await?;
    assert_eq!(
        (
            kept.active_version.as_deref(),
            kept.previous_version.as_deref(),
            kept.rollout,
            kept.activated_at,
            kept.generation
        ),
        (
            Some("v3"),
            Some("v1"),
            RolloutMode::None,
            Some(300),
            shadow.generation + 1
        )
    );
    assert_eq!(current(db, PLUGIN).await?, kept);
    Ok(())
}

pub async fn history_is_newest_first(db: &TestDb) -> anyhow::Result<()> {
    upload(db, PLUGIN, &["v1", "v2"]).await?;
    upload(db, OTHER, &["o1"]).await?;
    activate(db, PLUGIN, "v1", 10).await?;
    activate(db, PLUGIN, "v2", 20).await?;
    rollout(db, RolloutMode::Shadow, Some("v1"), 0, 30).await?;
    rollout(db, RolloutMode::None, None, 0, 40).await?;
    db.deploys()
        .rollback_version(PLUGIN, "dave", None, None, false, None, 50)
        .await?;
    rollout(db, RolloutMode::Canary, Some("v2"), 5, 60).await?;
    db.deploys()
        .promote_candidate(PLUGIN, "erin", None, 70)
        .await?;
    auto_rollback(db, "v2", 80).await?;

    use DeployAction::*;
    let expected = [
        AutoRollback,
        Promote,
        Rollout,
        Rollback,
        Abort,
        Rollout,
        Activate,
        Activate,
        Upload,
        Upload,
    ];
    let history = db.deploys().plugin_history(Some(PLUGIN), 100).await?;
    assert_eq!(
        history.iter().map(|e| e.action).collect::<Vec<_>>(),
        expected
    );
    assert!(
        history.windows(2).all(|w| w[0].id > w[1].id),
        "ids decrease: {history:?}"
    );
    assert!(history.iter().all(|e| e.plugin == PLUGIN));
    let times: Vec<i64> = history.iter().take(8).map(|e| e.at_ms).collect();
    assert_eq!(times, [80, 70, 60, 50, 40, 30, 20, 10]);

    let limited = db.deploys().plugin_history(Some(PLUGIN), 3).await?;
    assert_eq!(limited, history[..3]);
    assert!(
        db.deploys()
            .plugin_history(Some(PLUGIN), 0)
            .await?
            .is_empty()
    );

    let everything = db.deploys().plugin_history(None, 100).await?;
    assert_eq!(everything.len(), history.len() + 1);
    let other_upload = everything
        .iter()
        .find(|e| e.plugin == OTHER)
        .context("locator's upload missing")?;
    assert_eq!(other_upload.action, Upload);
    assert_eq!(actions(db, OTHER).await?, [Upload]);
    Ok(())
}

fn run(event_id: &str, candidate: &str, differs: bool, at_ms: i64) -> ShadowRun {
    ShadowRun {
        event_id: event_id.to_owned(),
        plugin: PLUGIN.to_owned(),
        active_version: "v1".to_owned(),
        candidate_version: candidate.to_owned(),
        active_outcome: "ok".to_owned(),
        candidate_outcome: if differs { "trap" } else { "ok" }.to_owned(),
        active_effects_json: r#"{"sms":["hi"]}"#.to_owned(),
        candidate_effects_json: if differs { "{}" } else { r#"{"sms":["hi"]}"# }.to_owned(),
        differs,
        at_ms,
    }
}

pub async fn shadow_runs_are_idempotent_and_filterable(db: &TestDb) -> anyhow::Result<()> {
    let first = run("ev-1", "v2", false, 1_000);
    let second = run("ev-2", "v2", true, 2_000);
    let third = run("ev-3", "v2", true, 3_000);
    let other_candidate = run("ev-1", "v3", true, 1_500);
    for r in [&first, &second, &third, &other_candidate] {
        db.deploys().record_shadow_run(r).await?;
    }
    // A redelivered event's second comparison is ignored.
    db.deploys()
        .record_shadow_run(&ShadowRun {
            candidate_outcome: "changed".into(),
            differs: false,
            at_ms: 9_000,
            ..second.clone()
        })
        .await?;
    db.deploys()
        .record_shadow_run(&ShadowRun {
            plugin: OTHER.into(),
            event_id: "ev-9".into(),
            ..third.clone()
        })
        .await?;

    assert_eq!(
        db.deploys().shadow_runs(PLUGIN, false, 10).await?,
        [
            third.clone(),
            second.clone(),
            other_candidate.clone(),
            first.clone()
        ]
    );
    assert_eq!(
        db.deploys().shadow_runs(PLUGIN, true, 10).await?,
        [third.clone(), second.clone(), other_candidate]
    );
    assert_eq!(db.deploys().shadow_runs(PLUGIN, true, 1).await?, [third]);
    assert_eq!(db.deploys().shadow_runs(OTHER, false, 10).await?.len(), 1);
    assert!(
        db.deploys()
            .shadow_runs("nobody", false, 10)
            .await?
            .is_empty()
    );
    Ok(())
}

pub async fn generation_strictly_increases(db: &TestDb) -> anyhow::Result<()> {
    upload(db, PLUGIN, &["v1", "v2", "v3"]).await?;
    upload(db, OTHER, &["o1"]).await?;
    let mut seen = vec![db.deploys().deploy_generation().await?];
    let changes = [
        activate(db, PLUGIN, "v1", 10).await?,
        activate(db, OTHER, "o1", 15).await?,
        activate(db, PLUGIN, "v2", 20).await?,
        rollout(db, RolloutMode::Canary, Some("v3"), 20, 30).await?,
        rollout(db, RolloutMode::Canary, Some("v3"), 40, 35).await?,
        rollout(db, RolloutMode::None, None, 0, 40).await?,
        rollout(db, RolloutMode::Shadow, Some("v3"), 0, 50).await?,
        db.deploys()
            .promote_candidate(PLUGIN, "erin", None, 60)
            .await?,
        auto_rollback(db, "v3", 70).await?,
    ];
    for change in &changes {
        seen.push(change.generation);
    }
    assert!(
        seen.windows(2).all(|w| w[1] > w[0]),
        "generations must increase: {seen:?}"
    );
    assert_eq!(
        db.deploys().deploy_generation().await?,
        *seen.last().unwrap_or(&0)
    );
    assert_eq!(current(db, PLUGIN).await?, changes[8]);
    assert_eq!(current(db, OTHER).await?.generation, changes[1].generation);

    // Refused changes and no-ops leave the clock alone.
    let before = db.deploys().deploy_generation().await?;
    refused(auto_rollback(db, "v3", 80).await)?;
    refused(
        db.deploys()
            .promote_candidate(PLUGIN, "erin", None, 80)
            .await,
    )?;
    activate(db, PLUGIN, "v2", 80).await?;
    assert_eq!(db.deploys().deploy_generation().await?, before);

    // Only PostgreSQL has change notifications; SQLite callers poll the generation.
    let listener = db.deploys().listen_deploys().await?;
    assert_eq!(listener.is_some(), db.backend() == Backend::Postgres);
    Ok(())
}

pub async fn concurrent_auto_rollbacks_apply_once(db: &TestDb) -> anyhow::Result<()> {
    upload(db, PLUGIN, &["v1", "v2"]).await?;
    activate(db, PLUGIN, "v1", 1).await?;
    // A second Storage on the same database plays another replica.
    let replica = db.reconnect().await?;
    for round in 0..5_i64 {
        let now = 100 * (round + 1);
        activate(db, PLUGIN, "v2", now).await?;
        let (a, b) = tokio::join!(
            auto_rollback(db, "v2", now + 1),
            auto_rollback(&replica, "v2", now + 2)
        );
        let (won, lost) = match (a, b) {
            (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
            (a, b) => bail!("round {round}: expected one winner, got {a:?} and {b:?}"),
        };
        assert_eq!(
            (
                won.active_version.as_deref(),
                won.previous_version.as_deref()
            ),
            (Some("v1"), Some("v2")),
            "round {round}"
        );
        assert!(
            matches!(&lost, DeployError::NotActive { actual: Some(v), .. } if v == "v1"),
            "round {round}: {lost:?}"
        );
        assert_eq!(current(db, PLUGIN).await?, won);
    }
    let autos = actions(db, PLUGIN)
        .await?
        .into_iter()
        .filter(|a| *a == DeployAction::AutoRollback)
        .count();
    assert_eq!(autos, 5, "one automatic rollback per round");
    replica.close().await;
    Ok(())
}

/// PostgreSQL only: a listener hears of each committed change from any replica, and of
/// nothing else.
pub async fn listeners_hear_committed_changes(db: &TestDb) -> anyhow::Result<()> {
    const WAIT: Duration = Duration::from_secs(5);
    let mut listener = db
        .deploys()
        .listen_deploys()
        .await?
        .context("PostgreSQL must offer a listener")?;
    let replica = db.reconnect().await?;
    upload(db, PLUGIN, &["v1"]).await?;
    upload(db, OTHER, &["o1"]).await?;

    activate(&replica, PLUGIN, "v1", 10).await?;
    let heard = tokio::time::timeout(WAIT, listener.recv())
        .await
        .context("no notification within 5 s of activate_version")??;
    assert_eq!(heard, PLUGIN);

    // No-ops and refused changes commit nothing, so nothing is announced.
    activate(&replica, PLUGIN, "v1", 20).await?;
    refused(
        replica
            .deploys()
            .rollback_version(PLUGIN, "dave", None, None, false, None, 20)
            .await,
    )?;
    activate(db, OTHER, "o1", 30).await?;
    let heard = tokio::time::timeout(WAIT, listener.recv())
        .await
        .context("no notification within 5 s of the second activation")??;
    assert_eq!(
        heard, OTHER,
        "the no-op and the refused rollback were announced"
    );
    replica.close().await;
    Ok(())
}

pub async fn the_signer_is_kept_with_the_version_and_its_history(
    db: &TestDb,
) -> anyhow::Result<()> {
    let signed = NewPluginVersion {
        signed_by: Some("release-2026".into()),
        ..version(PLUGIN, "signed")
    };
    let (meta, created) = db.deploys().put_plugin_version(&signed, 10).await?;
    assert!(created);
    assert_eq!(meta.signed_by.as_deref(), Some("release-2026"));
    let read = db
        .deploys()
        .plugin_version_meta(PLUGIN, "signed")
        .await?
        .context("stored")?;
    assert_eq!(read.signed_by.as_deref(), Some("release-2026"));
    let entry = db
        .deploys()
        .plugin_history(Some(PLUGIN), 1)
        .await?
        .into_iter()
        .next()
        .context("an upload entry")?;
    let details: serde_json::Value =
        serde_json::from_str(entry.details_json.as_deref().context("no details")?)?;
    assert_eq!(details["signed_by"], "release-2026");
    // Unsigned (signing not required): no signer, no details.
    db.deploys()
        .put_plugin_version(&version(PLUGIN, "plain"), 11)
        .await?;
    let plain = db
        .deploys()
        .plugin_version_meta(PLUGIN, "plain")
        .await?
        .context("stored")?;
    assert_eq!(plain.signed_by, None);
    Ok(())
}
