//! The long, randomized scenarios of the original part-C tests (Figure 8, Figure 8 on an
//! unreliable network with long reordering, agreement on an unreliable network), on a cluster
//! built by hand on labrpc's sim runtime. They run fewer seeds by default; set
//! `RAFT_TEST_SEEDS=200` to run more, and `RAFT_TEST_SEED=N` to replay one.

mod common;

use std::time::Duration;

use common::Cluster;
use labrpc::runtime;

/// The default number of seeds of each test here.
const SEEDS: u64 = 1;

fn for_each_seed<T, F>(name: &str, n: usize, test: T)
where
    T: Fn(Cluster) -> F + Clone + Send + 'static,
    F: std::future::Future<Output = (Cluster, Result<(), String>)> + 'static,
{
    common::for_seeds("stress", name, n, false, SEEDS, test);
}

/// A random command.
fn rand_cmd() -> Vec<u8> {
    (runtime::random_u64() % 10_000).to_le_bytes().to_vec()
}

/// The Figure-8 tests' sleep: mostly under 13 ms, one time in ten up to half a second.
async fn figure_8_sleep() {
    let ms = if runtime::random_range(0..1000) < 100 {
        runtime::random_range(0..500)
    } else {
        runtime::random_range(0..13)
    };
    runtime::sleep(Duration::from_millis(ms)).await;
}

#[test]
fn figure_8_leaders_crash_and_nothing_committed_is_lost() {
    for_each_seed("figure8", 5, |mut c| async move {
        check!(c, c.one(&rand_cmd(), 1, true).await);
        let mut up = 5;
        for _ in 0..1000 {
            let mut leader = None;
            for i in 0..5 {
                if c.raft(i).and_then(|r| r.start(rand_cmd())).is_some() {
                    leader = Some(i);
                }
            }
            figure_8_sleep().await;
            if let Some(l) = leader {
                check!(c, c.crash(l));
                up -= 1;
            }
            if up < 3 {
                let s = runtime::random_range(0..5) as usize;
                if !c.is_running(s) {
                    check!(c, c.restart(s));
                    up += 1;
                }
            }
        }
        for i in 0..5 {
            if !c.is_running(i) {
                check!(c, c.restart(i));
            }
        }
        check!(c, c.one(&rand_cmd(), 5, true).await);
        (c, Ok(()))
    });
}

#[test]
fn figure_8_unreliable_with_long_reordering_still_agrees() {
    for_each_seed("figure8_unreliable", 5, |mut c| async move {
        c.net.set_reliable(false);
        c.net.set_long_delays(true);
        check!(c, c.one(&rand_cmd(), 1, true).await);
        let mut up = 5;
        for iter in 0..1000 {
            if iter == 200 {
                c.net.set_long_reordering(true);
            }
            let mut leader = None;
            for i in 0..5 {
                let started = c.raft(i).and_then(|r| r.start(rand_cmd())).is_some();
                if started && c.is_connected(i) {
                    leader = Some(i);
                }
            }
            figure_8_sleep().await;
            if let Some(l) = leader {
                if runtime::random_range(0..1000) < 500 {
                    check!(c, c.disconnect(l));
                    up -= 1;
                }
            }
            if up < 3 {
                let s = runtime::random_range(0..5) as usize;
                if !c.is_connected(s) {
                    check!(c, c.connect(s));
                    up += 1;
                }
            }
        }
        for i in 0..5 {
            if !c.is_connected(i) {
                check!(c, c.connect(i));
            }
        }
        check!(c, c.one(&rand_cmd(), 5, true).await);
        (c, Ok(()))
    });
}

#[test]
fn concurrent_clients_agree_on_an_unreliable_network() {
    for_each_seed("unreliable_agree", 5, |c| async move {
        c.net.set_reliable(false);
        c.net.set_long_delays(true);
        for iter in 1..50u64 {
            let clients = (0..4u64).map(|j| {
                let command = (100 * iter + j).to_le_bytes().to_vec();
                let c = &c;
                async move { c.one(&command, 1, true).await }
            });
            let (results, last) = futures::future::join(
                futures::future::join_all(clients),
                c.one(&iter.to_le_bytes(), 1, true),
            )
            .await;
            for r in results.into_iter().chain([last]) {
                check!(c, r);
            }
        }
        c.net.set_reliable(true);
        check!(c, c.one(&100u64.to_le_bytes(), 5, true).await);
        (c, Ok(()))
    });
}

/// One churn client: starts commands on every running peer and records those it sees
/// committed, until `stop` is set.
async fn churn_client(
    c: &std::cell::RefCell<Cluster>,
    me: u64,
    stop: &std::cell::Cell<bool>,
) -> Result<Vec<Vec<u8>>, String> {
    let mut seen = Vec::new();
    while !stop.get() {
        let x = rand_cmd();
        let mut index = None;
        {
            let c = c.borrow();
            for i in 0..c.n() {
                if let Some((idx, _)) = c.raft(i).and_then(|r| r.start(x.clone())) {
                    index = Some(idx);
                }
            }
        }
        match index {
            Some(index) => {
                for ms in [10, 20, 50, 100, 200] {
                    let (n, value) = c.borrow().n_committed(index)?;
                    if n > 0 {
                        if value.as_ref() == Some(&x) {
                            seen.push(x);
                        }
                        break;
                    }
                    runtime::sleep(Duration::from_millis(ms)).await;
                }
            }
            None => runtime::sleep(Duration::from_millis(79 + 17 * me)).await,
        }
    }
    Ok(seen)
}

/// The original's churn: clients keep starting commands while peers are cut off, crashed and
/// restarted at random; every value a client saw committed must end up on every peer.
async fn churn(c: Cluster, unreliable: bool) -> (Cluster, Result<(), String>) {
    use std::cell::{Cell, RefCell};
    if unreliable {
        c.net.set_reliable(false);
    }
    let cell = RefCell::new(c);
    let stop = Cell::new(false);
    let main = async {
        for _ in 0..20 {
            {
                let mut c = cell.borrow_mut();
                if runtime::random_range(0..1000) < 200 {
                    let i = runtime::random_range(0..5) as usize;
                    c.disconnect(i)?;
                }
                if runtime::random_range(0..1000) < 500 {
                    let i = runtime::random_range(0..5) as usize;
                    if !c.is_running(i) {
                        c.restart(i)?;
                    }
                    c.connect(i)?;
                }
                if runtime::random_range(0..1000) < 200 {
                    let i = runtime::random_range(0..5) as usize;
                    if c.is_running(i) {
                        c.crash(i)?;
                    }
                }
            }
            runtime::sleep(Duration::from_millis(700)).await;
        }
        runtime::sleep(Duration::from_secs(1)).await;
        {
            let mut c = cell.borrow_mut();
            c.net.set_reliable(true);
            for i in 0..5 {
                if !c.is_running(i) {
                    c.restart(i)?;
                }
                c.connect(i)?;
            }
        }
        stop.set(true);
        Ok::<(), String>(())
    };
    let clients = futures::future::join_all((0..3).map(|me| churn_client(&cell, me, &stop)));
    let (main, clients) = futures::future::join(main, clients).await;
    let c = cell.into_inner();
    check!(c, main);
    let mut seen = Vec::new();
    for client in clients {
        seen.extend(check!(c, client));
    }
    runtime::sleep(Duration::from_secs(1)).await;
    let last = check!(c, c.one(&rand_cmd(), 5, true).await);
    eprintln!(
        "churn: last index {last}, rpcs {} bytes {}",
        c.net.total_count(),
        c.net.total_bytes()
    );
    let mut values = std::collections::BTreeSet::new();
    for index in 1..=last {
        let start = runtime::now();
        loop {
            let (n, value) = check!(c, c.n_committed(index));
            if n == 5 {
                values.extend(value);
                break;
            }
            if start.elapsed() > Duration::from_secs(30) {
                return (
                    c,
                    Err(format!("only {n} decided for index {index}; wanted 5")),
                );
            }
            runtime::sleep(Duration::from_millis(20)).await;
        }
    }
    if let Some(missing) = seen.iter().find(|v| !values.contains(*v)) {
        return (c, Err(format!("didn't find a value: {missing:?}")));
    }
    (c, Ok(()))
}

#[test]
fn churn_loses_no_committed_value() {
    for_each_seed("churn", 5, |c| churn(c, false));
}

#[test]
fn unreliable_churn_loses_no_committed_value() {
    for_each_seed("unreliable_churn", 5, |c| churn(c, true));
}
