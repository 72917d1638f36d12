//! Integration tests for `agenthost-storage`. Every case in `CASES` is written once, as an
//! async fn taking the database under test, and runs against both backends: SQLite in a
//! temp dir and a fresh PostgreSQL database (`AGENTHOST_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/`).

mod claims;
mod commit;
mod connect;
mod console;
mod deploys;
mod fixtures;
mod harness;
mod ingress;
mod operations;
mod outbox;
mod schema;

/// Generates `sqlite::<case>` and `postgres::<case>` tests for each listed case.
macro_rules! on_both_backends {
    ($($module:ident :: $case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() -> anyhow::Result<()> {
                    crate::harness::on_sqlite(crate::$module::$case).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() -> anyhow::Result<()> {
                    crate::harness::on_postgres(crate::$module::$case).await
                }
            )+
        }
    };
}

on_both_backends! {
    schema::migrations_are_idempotent,
    schema::concurrent_connects_migrate_once,
    schema::ping_and_backend,
    schema::write_transactions_commit_or_roll_back,
    schema::relaxed_writes_commit_together_and_keep_their_own_outcomes,
    schema::databases_of_the_earlier_runner_are_adopted,
    schema::an_edited_migration_stops_the_host_naming_it,
    ingress::dedupes_across_and_within_batches,
    ingress::records_conversations_and_inbound_messages,
    ingress::republish_sweep_finds_unenqueued_events,
    ingress::history_is_oldest_first_and_excludes_own_event,
    ingress::an_opt_out_is_confirmed_once_until_the_next_opt_in,
    commit::commit_applies_every_effect,
    commit::second_commit_of_an_event_changes_nothing,
    commit::failed_commit_rolls_back_everything,
    commit::state_is_namespaced_per_plugin,
    commit::prefix_listing_treats_wildcards_literally,
    claims::a_claim_holds_the_event_and_counts_every_delivery,
    claims::a_conversations_events_run_one_at_a_time_in_order,
    claims::a_dead_letter_and_its_alert_commit_together,
    claims::state_commits_check_the_versions_they_read,
    claims::concurrent_increments_lose_nothing,
    claims::budgets_are_enforced_at_commit_and_alerted_once,
    claims::overdue_unheld_events_are_found_for_reconciliation,
    outbox::concurrent_claims_never_share_a_row,
    outbox::expired_leases_are_reclaimed,
    outbox::finishing_rows,
    outbox::the_sender_pace_books_each_text_its_own_slot,
    outbox::a_text_waiting_for_its_send_slot_is_claimed_just_before_it,
    outbox::the_frequency_cap_admits_at_most_cap_texts_per_recipient,
    outbox::concurrent_gates_never_pass_more_than_the_cap,
    operations::dead_letters_and_requeue,
    operations::routes,
    operations::opt_outs,
    operations::alerts,
    operations::admin_calls_are_audited_newest_first,
    deploys::uploads_are_idempotent,
    deploys::large_component_round_trips,
    deploys::versions_are_listed_newest_first,
    deploys::activation_sets_previous_and_bumps_generation,
    deploys::reactivating_the_active_version_is_a_no_op,
    deploys::rollback_flips_active_and_previous,
    deploys::rollback_with_a_stale_expectation_changes_nothing,
    deploys::rollback_needs_a_previous_version,
    deploys::rollout_requests_are_validated,
    deploys::promote_and_abort,
    deploys::activation_clears_a_rollout,
    deploys::history_is_newest_first,
    deploys::shadow_runs_are_idempotent_and_filterable,
    deploys::generation_strictly_increases,
    deploys::concurrent_auto_rollbacks_apply_once,
    deploys::the_signer_is_kept_with_the_version_and_its_history,
    console::a_takeover_holds_events_at_the_claim_and_at_the_commit,
    console::a_pause_that_runs_out_hands_held_events_back_in_order,
    console::discards_and_requeues_are_in_the_deploy_history,
}

/// Cases for what only PostgreSQL offers.
mod postgres_only {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn listeners_hear_committed_changes() -> anyhow::Result<()> {
        crate::harness::on_postgres(crate::deploys::listeners_hear_committed_changes).await
    }
}
