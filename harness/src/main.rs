//! `harness`: the grader CLI (see [`harness::cli`]), running the workspace's `raft::Raft`.

fn main() {
    // `exit`, not a return from main: a stuck trial's thread cannot be joined, and ending the
    // process is what stops it.
    std::process::exit(harness::cli::main::<raft::Raft>());
}
