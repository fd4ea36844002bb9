//! Every grader of the Raft lab, run against the `raft` crate: one test per grader, in one
//! module per part, so that
//!
//! ```text
//! cargo test -p harness                          # every grader of every part
//! cargo test -p harness 3A                       # part A only (as `go test -run 3A`)
//! cargo test -p harness fig2_                    # the conformance graders (Figure 2, rule by rule)
//! cargo test -p harness -- --exact raft_3B::backup   # one grader
//! cargo test -p harness 4A                       # Lab 4, part 4A (the rsm)
//! ```
//!
//! Each test runs its grader over several seeds in sim mode (`LAB_SEEDS`, `LAB_SEED_START`),
//! one seed with `LAB_SEED=N`, or in real time with `LAB_RUNTIME=real`. A failing test names
//! its failing seeds, shows the end of the first one's log, and prints the command that
//! replays it. The `fig2_*` graders go beyond the original lab: the tester plays every peer
//! but one of yours, and a failure names the rule of Figure 2 your peer broke.
#![allow(non_snake_case)]

/// One `#[test]` per grader named, each running [`harness::testing::grade`] on `raft::Raft`.
macro_rules! graders {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                harness::testing::grade::<raft::Raft>(module_path!(), stringify!($name));
            }
        )*
    };
}

// @part A
/// Part A: leader election and heartbeats.
mod raft_3A {
    graders! {
        initial_election,
        re_election,
        many_elections,
        heartbeat_stability,
        // Figure 2, rule by rule (beyond the original lab).
        fig2_older_term,
        fig2_vote_once_per_term,
        fig2_term_from_request,
        fig2_term_from_reply,
        fig2_timer_heartbeats,
        fig2_timer_expiry,
        fig2_timer_votes,
    }
}
// @end

// @part B
/// Part B: log replication.
mod raft_3B {
    graders! {
        basic_agree,
        rpc_bytes,
        follower_failure,
        leader_failure,
        fail_agree,
        fail_no_agree,
        concurrent_starts,
        rejoin,
        backup,
        count,
        old_term_commit,
        // Figure 2, rule by rule (beyond the original lab).
        fig2_vote_up_to_date,
        fig2_append_conflict,
        fig2_append_commit,
        fig2_old_term_commit,
        fig2_stale_reply,
        fig2_fast_backup,
    }
}
// @end

// @part C
/// Part C: persistence.
mod raft_3C {
    graders! {
        persist1,
        persist2,
        persist3,
        figure8,
        unreliable_agree,
        figure8_unreliable,
        reliable_churn,
        unreliable_churn,
        // Figure 2, rule by rule (beyond the original lab).
        fig2_vote_persisted,
        fig2_log_persisted,
    }
}
// @end

// @part D
/// Part D: snapshots.
mod raft_3D {
    graders! {
        snapshot_basic,
        snapshot_install,
        snapshot_install_unreliable,
        snapshot_install_crash,
        snapshot_install_uncrash,
        snapshot_all_crash,
        snapshot_init,
        // Figure 2, rule by rule (beyond the original lab).
        fig2_install_snapshot,
        fig2_send_snapshot,
    }
}
// @end

// @part kvsrv
/// The submission these tests grade: the workspace's Raft, Lab 2 service and Lab 4 services.
struct Reference;

impl harness::Submission for Reference {
    type Raft = raft::Raft;
    type Kvsrv = ::kvsrv::Lab2;
    type Rsm = kvraft::rsm::RsmServer<raft::Raft>;
    type Kvraft = kvraft::Lab4<raft::Raft>;
}

/// One `#[test]` per grader named, each running [`harness::testing::grade_submission`] on
/// [`Reference`]: the key/value labs' graders need the service as well as the peer.
macro_rules! service_graders {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                harness::testing::grade_submission::<super::Reference>(
                    module_path!(),
                    stringify!($name),
                );
            }
        )*
    };
}

/// Lab 2: the key/value server and the lock on it (`cargo test -p harness kvsrv`).
mod kvsrv {
    service_graders! {
        reliable_put,
        put_concurrent_reliable,
        mem_put_many_clients_reliable,
        unreliable_net,
        lock_reliable_basic,
        lock_reliable_nested,
        lock_one_client_reliable,
        lock_many_clients_reliable,
        lock_one_client_unreliable,
        lock_many_clients_unreliable,
    }
}
// @end

// @part 4A
/// Part 4A: the replicated state machine layer, the tester playing the service
/// (`cargo test -p harness 4A`).
mod kvraft_4A {
    service_graders! {
        rsm_basic,
        rsm_concurrent,
        rsm_leader_failure,
        rsm_leader_partition,
        rsm_restart_replay,
        rsm_shutdown,
        rsm_restart_submit,
        // Beyond the original lab.
        rsm_shutdown_waiting,
    }
}
// @end

// @part 4B
/// Part 4B: the key/value service on Raft, without snapshots (`cargo test -p harness 4B`).
mod kvraft_4B {
    service_graders! {
        kv_basic,
        kv_speed,
        kv_concurrent,
        kv_unreliable,
        kv_one_partition,
        kv_many_partitions_one_client,
        kv_many_partitions_many_clients,
        kv_persist_one_client,
        kv_persist_concurrent,
        kv_persist_concurrent_unreliable,
        kv_persist_partition,
        kv_persist_partition_unreliable,
        kv_persist_partition_unreliable_linearizable,
    }
}
// @end

// @part 4C
/// Part 4C: snapshots (`cargo test -p harness 4C`).
mod kvraft_4C {
    service_graders! {
        rsm_snapshot,
        kv_snapshot_rpc,
        kv_snapshot_size,
        kv_speed_snapshots,
        kv_snapshot_recover,
        kv_snapshot_recover_many_clients,
        kv_snapshot_unreliable,
        kv_snapshot_unreliable_recover,
        kv_snapshot_unreliable_recover_partition,
        kv_snapshot_unreliable_recover_partition_linearizable,
    }
}
// @end
