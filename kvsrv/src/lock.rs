//! A lock kept in one key of the key/value service.
//!
//! The key holds the holder's id, or `""` when the lock is free. Taking the lock is a put of
//! our id at the version we read the free lock at; the version makes it a compare-and-set, so
//! of two clients that saw the lock free only one can take it. Releasing is a put of `""` at
//! the version we read our own id at.
//!
//! With an unreliable clerk a put may answer `ErrMaybe`: it may or may not have happened.
//! Neither method trusts such an answer: each reads the key again, and the value says what
//! happened (our id is written only by us, so finding it means our put went through).

use std::time::Duration;

use kvapi::{Clerk, KvError};
use labrpc::runtime;

/// How long a client waits before looking at a lock held by another again.
const BUSY_PAUSE: Duration = Duration::from_millis(10);

/// Letters of a lock client's id (Go `kvtest.RandValue(8)`).
const ID_LEN: usize = 8;

/// A lock called `key`, kept through a clerk.
#[derive(Debug)]
pub struct Lock<C> {
    ck: C,
    key: String,
    id: String,
}

/// `n` random letters from `[a-zA-Z]`, drawn from the runtime's generator.
fn random_id(n: usize) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (0..n)
        .map(|_| LETTERS[runtime::random_range(0..LETTERS.len() as u64) as usize] as char)
        .collect()
}

/// What to do next, given what a read of the lock's key found.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The lock is ours.
    Held,
    /// The lock is free at this version: try to take it.
    Take(u64),
    /// Another client holds it: wait.
    Wait,
}

/// The lock's rule, a pure function of what was read: our id means we hold it, `""` or a
/// missing key means it is free, anything else is another holder.
fn next(read: Result<kvapi::Got, KvError>, id: &str) -> Next {
    match read {
        Ok(got) if got.value == id => Next::Held,
        Ok(got) if got.value.is_empty() => Next::Take(got.version),
        Err(KvError::ErrNoKey) => Next::Take(0),
        _ => Next::Wait,
    }
}

impl<C: Clerk> Lock<C> {
    /// A lock called `key` for a new client with a random id.
    pub fn new(ck: C, key: &str) -> Self {
        Lock {
            ck,
            key: key.to_string(),
            id: random_id(ID_LEN),
        }
    }
}

impl<C: Clerk> kvapi::Lock for Lock<C> {
    async fn acquire(&self) {
        loop {
            match next(self.ck.get(&self.key).await, &self.id) {
                Next::Held => return,
                Next::Take(version) => {
                    // Ok: ours. ErrMaybe: the next read tells. Anything else: someone was first.
                    if self.ck.put(&self.key, &self.id, version).await.is_ok() {
                        return;
                    }
                }
                Next::Wait => runtime::sleep(BUSY_PAUSE).await,
            }
        }
    }

    async fn release(&self) {
        loop {
            match self.ck.get(&self.key).await {
                Ok(got) if got.value == self.id => {
                    // ErrMaybe or ErrVersion: read again; once the key is not ours, it is released.
                    if self.ck.put(&self.key, "", got.version).await.is_ok() {
                        return;
                    }
                }
                // Not ours (any more): an earlier ErrMaybe put did release it.
                _ => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvapi::Got;

    fn got(value: &str, version: u64) -> Result<Got, KvError> {
        Ok(Got {
            value: value.into(),
            version,
        })
    }

    #[test]
    fn our_id_means_we_hold_it_even_after_an_uncertain_put() {
        assert_eq!(next(got("me", 3), "me"), Next::Held);
    }

    #[test]
    fn a_free_or_missing_lock_is_taken_at_the_version_read() {
        assert_eq!(next(got("", 4), "me"), Next::Take(4));
        assert_eq!(next(Err(KvError::ErrNoKey), "me"), Next::Take(0));
    }

    #[test]
    fn another_holder_means_wait() {
        assert_eq!(next(got("you", 4), "me"), Next::Wait);
    }
}
