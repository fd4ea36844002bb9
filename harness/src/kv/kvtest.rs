//! The shared key/value test library (Go `kvtest1`): clients that race for a key, and the
//! checks the Lab 2 and Lab 4 tests make on what they did.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc;
use futures::future::{self, Either};
use futures::StreamExt as _;
use kvapi::{Clerk, KvError, Version};
use labrpc::runtime;
use serde::{Deserialize, Serialize};

use super::clerk::{ClerkMaker, TestClerk};
use super::history::TESTER_CLIENT;
use crate::tester::TestFailure;

/// Go `kvtest.ElectionTimeout`.
pub const ELECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// What one client of [`spawn_clients_and_wait`] did (Go `ClntRes`): puts that surely
/// happened, and puts that answered `ErrMaybe`. Displayed as Go's `%v` prints it, `{5 2}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClntRes {
    /// Puts answered `OK`.
    pub nok: u64,
    /// Puts answered `ErrMaybe`.
    pub nmaybe: u64,
}

impl fmt::Display for ClntRes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{} {}}}", self.nok, self.nmaybe)
    }
}

/// The value the racing clients put (Go `EntryV`): who put it, at which version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryV {
    /// The client.
    #[serde(rename = "Id")]
    pub id: i64,
    /// The version it was put at.
    #[serde(rename = "V")]
    pub v: Version,
}

impl fmt::Display for EntryV {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{} {}}}", self.id, self.v)
    }
}

/// Told to each client when its time is up; a client looks between operations (Go's `done`
/// channel).
#[derive(Debug, Clone, Default)]
pub struct Done(Arc<AtomicBool>);

impl Done {
    /// Whether the client should stop.
    pub fn is_done(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// `n` random letters from `[a-zA-Z]` (Go `kvtest.RandValue`), from the runtime's generator.
pub fn rand_value(n: usize) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (0..n)
        .map(|_| LETTERS[runtime::random_range(0..LETTERS.len() as u64) as usize] as char)
        .collect()
}

/// `"k0"`, ..., `"k<n-1>"` (Go `MakeKeys`).
pub fn make_keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("k{i}")).collect()
}

/// How the original prints a client id: the tester's own calls are client -1.
fn who(client: usize) -> i64 {
    if client == TESTER_CLIENT {
        -1
    } else {
        client as i64
    }
}

/// Runs `nclnt` clients, each with a clerk of its own, for `t` of run time (Go
/// `SpawnClientsAndWait`): client `me` runs `f(me, ck, done)`, which should return soon after
/// `done` says so. Returns what each did, in client order; each clerk is deleted once the
/// clients have finished.
///
/// # Errors
/// The first failure of a client, as soon as it happens (as the original's `t.Fatalf` in a
/// client ends the test: the other clients may be waiting for a lock the failed one holds), or
/// a client whose task was killed.
pub async fn spawn_clients_and_wait<M, F, Fut>(
    maker: &M,
    nclnt: usize,
    t: Duration,
    f: F,
) -> Result<Vec<ClntRes>, TestFailure>
where
    M: ClerkMaker,
    F: Fn(usize, Arc<TestClerk<M::Clerk>>, Done) -> Fut,
    Fut: Future<Output = Result<ClntRes, TestFailure>> + Send + 'static,
{
    let done = Done::default();
    let (tx, mut rx) = mpsc::unbounded();
    let mut clerks = Vec::with_capacity(nclnt);
    for me in 0..nclnt {
        let ck = Arc::new(maker.make_clerk());
        let client = f(me, ck.clone(), done.clone());
        let tx = tx.clone();
        // Detached: a client's end is seen through the channel (a killed client drops its
        // sender without a word).
        drop(runtime::spawn(async move {
            let out = client.await;
            let _ = tx.unbounded_send((me, out));
        }));
        clerks.push(ck);
    }
    drop(tx);
    let mut results: Vec<Option<ClntRes>> = vec![None; nclnt];
    let outcome = async {
        // Until the time is up, only a failure ends the wait.
        let mut time_up = Box::pin(runtime::sleep(t));
        loop {
            match future::select(time_up, rx.next()).await {
                Either::Left(((), _)) => break,
                Either::Right((Some((me, out)), sleeping)) => {
                    results[me] = Some(out?);
                    time_up = sleeping;
                }
                Either::Right((None, sleeping)) => {
                    sleeping.await;
                    break;
                }
            }
        }
        done.set();
        while let Some((me, out)) = rx.next().await {
            results[me] = Some(out?);
        }
        Ok::<(), TestFailure>(())
    }
    .await;
    for ck in &clerks {
        maker.delete_clerk(ck);
    }
    outcome?;
    results
        .into_iter()
        .enumerate()
        .map(|(me, r)| {
            r.ok_or_else(|| TestFailure::new(format!("client {me} was killed before it finished")))
        })
        .collect()
}

/// `Put(key, json(value), version)` by `me`, recorded (Go `PutJson`).
pub async fn put_json<C: Clerk, T: Serialize>(
    ck: &TestClerk<C>,
    key: &str,
    value: &T,
    version: Version,
    me: usize,
) -> Result<Result<(), KvError>, TestFailure> {
    let json = serde_json::to_string(value)
        .map_err(|e| TestFailure::new(format!("{}: marshal {e}", who(me))))?;
    Ok(ck.put(me, key, &json, version).await)
}

/// `Get(key)` by `me`, recorded, with the value decoded from JSON (Go `GetJson`).
///
/// # Errors
/// `%d: Get %q err %v` when the get fails, `Unmarshal err %v` when the value is not JSON of
/// `T`.
pub async fn get_json<C: Clerk, T: serde::de::DeserializeOwned>(
    ck: &TestClerk<C>,
    key: &str,
    me: usize,
) -> Result<(T, Version), TestFailure> {
    match ck.get(me, key).await {
        Ok(got) => match serde_json::from_str(&got.value) {
            Ok(v) => Ok((v, got.version)),
            // The original prints the version here (from its code); the decoder's error says more.
            Err(e) => Err(TestFailure::new(format!("Unmarshal err {e}"))),
        },
        Err(e) => Err(TestFailure::new(format!(
            "{}: Get {key:?} err {e}",
            who(me)
        ))),
    }
}

/// One put of client `me` that surely or maybe happened (Go `OnePut`): puts `{me, ver}` at
/// `ver`, reads the key back, and retries at the version read until a put answers `OK` or
/// `ErrMaybe`. Returns the version read last and whether the put answered `OK`.
///
/// # Errors
/// `Wrong error %v` for an answer other than `OK`, `ErrVersion` or `ErrMaybe`; `Wrong value %v`
/// when an `OK` put was followed by a read of the next version with another client's entry.
pub async fn one_put<C: Clerk>(
    me: usize,
    ck: &TestClerk<C>,
    key: &str,
    mut ver: Version,
) -> Result<(Version, bool), TestFailure> {
    loop {
        let mine = EntryV {
            id: who(me),
            v: ver,
        };
        let err = put_json(ck, key, &mine, ver, me).await?;
        if !matches!(
            err,
            Ok(()) | Err(KvError::ErrVersion) | Err(KvError::ErrMaybe)
        ) {
            return Err(TestFailure::new(format!("Wrong error {}", show(&err))));
        }
        let (e, ver0): (EntryV, Version) = get_json(ck, key, me).await?;
        // The original's test `e.Id != me && e.V != ver` fires only when both differ; what it
        // means is that the entry at the version our OK put made must be ours.
        if err.is_ok() && ver0 == ver + 1 && (e.id != who(me) || e.v != ver) {
            return Err(TestFailure::new(format!("Wrong value {e}")));
        }
        ver = ver0;
        if matches!(err, Ok(()) | Err(KvError::ErrMaybe)) {
            return Ok((ver, err.is_ok()));
        }
    }
}

/// A clerk answer as Go prints an `rpc.Err`: `OK` or the error's name.
pub fn show(reply: &Result<(), KvError>) -> String {
    match reply {
        Ok(()) => "OK".to_string(),
        Err(e) => e.to_string(),
    }
}

/// Client `me` putting to `keys` until `done` (Go `OneClientPut`): one key, or a random one of
/// them for every put when `randomkeys`, each key's version followed from 0.
///
/// # Errors
/// Those of [`one_put`].
pub async fn one_client_put<C: Clerk>(
    me: usize,
    ck: &TestClerk<C>,
    keys: &[String],
    randomkeys: bool,
    done: &Done,
) -> Result<ClntRes, TestFailure> {
    let mut res = ClntRes::default();
    let mut vers: BTreeMap<&str, Version> = keys.iter().map(|k| (k.as_str(), 0)).collect();
    let Some(first) = keys.first() else {
        return Ok(res);
    };
    while !done.is_done() {
        let key = if randomkeys {
            keys[runtime::random_range(0..keys.len() as u64) as usize].as_str()
        } else {
            first.as_str()
        };
        let ver = vers.get(key).copied().unwrap_or(0);
        let (ver, ok) = one_put(me, ck, key, ver).await?;
        if ok {
            res.nok += 1;
        } else {
            res.nmaybe += 1;
        }
        vers.insert(key, ver);
    }
    Ok(res)
}

/// Checks the number of puts to `key` against what the clients said (Go
/// `CheckPutConcurrent`): the key's version must be the number of `OK` puts on a reliable
/// network, and at most the `OK` and `ErrMaybe` puts together on an unreliable one.
///
/// # Errors
/// `Reliable: Wrong number of puts: server %d clnts %v` or the `Unreliable:` one.
pub async fn check_put_concurrent<C: Clerk>(
    ck: &TestClerk<C>,
    key: &str,
    rs: &[ClntRes],
    reliable: bool,
) -> Result<(), TestFailure> {
    let (_, ver0): (EntryV, Version) = get_json(ck, key, TESTER_CLIENT).await?;
    let total = rs.iter().fold(ClntRes::default(), |a, r| ClntRes {
        nok: a.nok + r.nok,
        nmaybe: a.nmaybe + r.nmaybe,
    });
    if reliable {
        if ver0 != total.nok {
            return Err(TestFailure::new(format!(
                "Reliable: Wrong number of puts: server {ver0} clnts {total}"
            )));
        }
    } else if ver0 > total.nok + total.nmaybe {
        return Err(TestFailure::new(format!(
            "Unreliable: Wrong number of puts: server {ver0} clnts {total}"
        )));
    }
    Ok(())
}

/// Puts `value` until a put surely or maybe happened, moving to the next version after each
/// `ErrVersion` or `ErrMaybe` (Go `PutAtLeastOnce`). Returns the version after the put.
///
/// # Errors
/// `Put %v ver %d err %v` for another error at a version other than 0.
pub async fn put_at_least_once<C: Clerk>(
    ck: &TestClerk<C>,
    key: &str,
    value: &str,
    mut ver: Version,
    me: usize,
) -> Result<Version, TestFailure> {
    loop {
        let err = ck.put(me, key, value, ver).await;
        match err {
            Ok(()) => return Ok(ver + 1),
            Err(KvError::ErrMaybe) | Err(KvError::ErrVersion) => ver += 1,
            // A put at version 0 to a missing key cannot fail otherwise; retry it.
            Err(_) if ver == 0 => {}
            Err(e) => return Err(TestFailure::new(format!("Put {key} ver {ver} err {e}"))),
        }
    }
}

/// Checks that `key` holds `value` at `version` (Go `CheckGet`), with a recorded get.
///
/// # Errors
/// `Get(%v) returns error = %v`, or `Get(%v) returns (%v, %v) != (%v, %v)`.
pub async fn check_get<C: Clerk>(
    ck: &TestClerk<C>,
    key: &str,
    value: &str,
    version: Version,
) -> Result<(), TestFailure> {
    match ck.get(0, key).await {
        Err(e) => Err(TestFailure::new(format!("Get({key}) returns error = {e}"))),
        Ok(got) if got.value != value || got.version != version => Err(TestFailure::new(format!(
            "Get({key}) returns ({}, {}) != ({value}, {version})",
            got.value, got.version
        ))),
        Ok(_) => Ok(()),
    }
}
