//! `harness`: the grader CLI (see [`harness_cli`]), running the workspace's `raft::Raft` and,
//! for Lab 4, the `kvraft` services on it.

fn main() {
    // `exit`, not a return from main: a stuck trial's thread cannot be joined, and ending the
    // process is what stops it.
    std::process::exit(harness_cli::main::<
        harness::Lab4<kvraft::rsm::RsmServer<raft::Raft>>,
    >());
}
