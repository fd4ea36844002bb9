//! A brute-force checker for small histories: tries every order that respects real time.

use linearizability::{Model, Operation, Outcome};

/// Whether some order of `history` (each known operation exactly once, each unknown one at
/// most once) respecting real time explains every output, key by key (the model's state is
/// one key's).
pub fn brute_force<M: Model>(model: &M, history: &[Operation<M::Input, M::Output>]) -> bool
where
    M::Input: Clone,
    M::Output: Clone,
{
    let mut keys: Vec<String> = history
        .iter()
        .map(|op| model.partition_key(&op.input).into_owned())
        .collect();
    keys.sort();
    keys.dedup();
    keys.iter().all(|key| {
        let part: Vec<Operation<M::Input, M::Output>> = history
            .iter()
            .filter(|op| model.partition_key(&op.input) == key.as_str())
            .cloned()
            .collect();
        let mut placed = vec![false; part.len()];
        place(model, &part, &mut placed, &model.init())
    })
}

fn place<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    placed: &mut [bool],
    state: &M::State,
) -> bool {
    if history
        .iter()
        .zip(placed.iter())
        .all(|(op, &p)| p || op.ret().is_none())
    {
        return true;
    }
    for i in 0..history.len() {
        if placed[i] {
            continue;
        }
        // Every operation that returned before this call must already be placed.
        let blocked = history.iter().enumerate().any(|(j, other)| {
            !placed[j] && j != i && other.ret().is_some_and(|ret| ret < history[i].call)
        });
        if blocked {
            continue;
        }
        let next = match &history[i].outcome {
            Outcome::Returned { output, .. } => model.step(state, &history[i].input, output),
            Outcome::Unknown => model.step_unknown(state, &history[i].input),
        };
        if let Some(next) = next {
            placed[i] = true;
            let ok = place(model, history, placed, &next);
            placed[i] = false;
            if ok {
                return true;
            }
        }
    }
    false
}
