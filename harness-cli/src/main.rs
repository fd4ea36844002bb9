//! `harness`: the grader CLI (see [`harness_cli`]), running the workspace's `raft::Raft` and
//! Lab 2's `kvsrv`, and Lab 4's `kvraft` on that Raft.

/// The workspace's crates, as the graders drive them.
struct Workspace;

impl harness::Submission for Workspace {
    type Raft = raft::Raft;
    type Kvsrv = kvsrv::Lab2;
    type Rsm = kvraft::rsm::RsmServer<raft::Raft>;
    type Kvraft = kvraft::Lab4<raft::Raft>;
}

fn main() {
    // `exit`, not a return from main: a stuck trial's thread cannot be joined, and ending the
    // process is what stops it.
    std::process::exit(harness_cli::main_submission::<Workspace>());
}
