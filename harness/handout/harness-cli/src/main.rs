//! `harness`: the grader CLI (see [`harness_cli`]), running your `raft::Raft`.

fn main() {
    // `exit`, not a return from main: a stuck trial's thread cannot be joined, and ending the
    // process is what stops it.
    std::process::exit(harness_cli::main::<raft::Raft>());
}
