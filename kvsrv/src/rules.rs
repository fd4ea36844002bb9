//! The server's rules, as pure functions of a key's entry and the request: what a get
//! answers, and whether a put installs its value. The server applies them under its lock.

use kvapi::{GetReply, Got, KvError, PutReply, Version};

/// One key's value and version (the number of puts it has had).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The value.
    pub value: String,
    /// The number of puts the key has had.
    pub version: Version,
}

/// What a get answers: the entry, or [`KvError::ErrNoKey`] for a missing key.
///
/// ```
/// use kvsrv::rules::{get, Entry};
/// use kvapi::KvError;
/// assert_eq!(get(None), Err(KvError::ErrNoKey));
/// let e = Entry { value: "x".into(), version: 3 };
/// assert_eq!(get(Some(&e)).map(|g| g.version), Ok(3));
/// ```
pub fn get(entry: Option<&Entry>) -> GetReply {
    entry
        .map(|e| Got {
            value: e.value.clone(),
            version: e.version,
        })
        .ok_or(KvError::ErrNoKey)
}

/// The version check of a put: `Ok(new_version)` when the put installs its value (the key's
/// version is the one the client read, or the key is missing and the client asks for version
/// 0, which creates it), else the error to answer. A refused put changes nothing, which is
/// what makes resending one safe.
///
/// ```
/// use kvsrv::rules::{put, Entry};
/// use kvapi::KvError;
/// assert_eq!(put(None, 0), Ok(1));
/// assert_eq!(put(None, 1), Err(KvError::ErrNoKey));
/// let e = Entry { value: "x".into(), version: 1 };
/// assert_eq!(put(Some(&e), 1), Ok(2));
/// assert_eq!(put(Some(&e), 0), Err(KvError::ErrVersion));
/// ```
pub fn put(entry: Option<&Entry>, version: Version) -> Result<Version, KvError> {
    match entry {
        Some(e) if e.version == version => Ok(version + 1),
        Some(_) => Err(KvError::ErrVersion),
        None if version == 0 => Ok(1),
        None => Err(KvError::ErrNoKey),
    }
}

/// What a put answers, for the reply: [`put`] without the new version.
pub fn put_reply(decision: Result<Version, KvError>) -> PutReply {
    decision.map(|_| ())
}

/// What the clerk returns for a put's reply, given whether this was a resend (Go's rule for
/// `ErrMaybe`): `ErrVersion` on the first try means the put was not executed; on a resend it
/// may mean that the first try *was* executed and only its reply was lost, so the clerk
/// cannot tell, and says `ErrMaybe`.
///
/// ```
/// use kvsrv::rules::clerk_put_result;
/// use kvapi::KvError;
/// assert_eq!(clerk_put_result(Err(KvError::ErrVersion), false), Err(KvError::ErrVersion));
/// assert_eq!(clerk_put_result(Err(KvError::ErrVersion), true), Err(KvError::ErrMaybe));
/// assert_eq!(clerk_put_result(Ok(()), true), Ok(()));
/// ```
pub fn clerk_put_result(reply: PutReply, resent: bool) -> PutReply {
    match reply {
        Err(KvError::ErrVersion) if resent => Err(KvError::ErrMaybe),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_put_at_the_current_version_bumps_it() {
        let e = Entry {
            value: "a".into(),
            version: 4,
        };
        assert_eq!(put(Some(&e), 4), Ok(5));
    }

    #[test]
    fn a_put_at_a_stale_or_future_version_is_refused() {
        let e = Entry {
            value: "a".into(),
            version: 4,
        };
        assert_eq!(put(Some(&e), 3), Err(KvError::ErrVersion));
        assert_eq!(put(Some(&e), 5), Err(KvError::ErrVersion));
    }

    #[test]
    fn only_version_zero_creates_a_key() {
        assert_eq!(put(None, 0), Ok(1));
        assert_eq!(put(None, 7), Err(KvError::ErrNoKey));
    }

    #[test]
    fn err_no_key_is_never_turned_into_err_maybe() {
        assert_eq!(
            clerk_put_result(Err(KvError::ErrNoKey), true),
            Err(KvError::ErrNoKey)
        );
    }
}
