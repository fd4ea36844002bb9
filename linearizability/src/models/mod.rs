//! The models shipped with the checker: the labs' key/value stores of every year, and a
//! register with and without compare-and-set (for Jepsen's etcd histories).
//!
//! | model | object | years / data |
//! |---|---|---|
//! | [`KvModel`] | `Get`, `Put`, `Append` (and 2024's append returning the old value) | 6.824 / 6.5840, 2020–2024 |
//! | [`VersionedKvModel`] | `Get` → (value, version), versioned `Put` with `ErrVersion` / `ErrMaybe` | 6.5840, 2025 on |
//! | [`RegisterModel`] | read, write | |
//! | [`CasRegisterModel`] | read, write, compare-and-set | Jepsen's etcd logs |

mod kv;
mod register;
mod versioned_kv;

pub use kv::{KvInput, KvModel, KvOutput, KvValue};
pub use register::{CasRegisterModel, RegisterInput, RegisterModel, RegisterOutput};
pub use versioned_kv::{
    KvErr, VersionedKvInput, VersionedKvModel, VersionedKvOutput, VersionedValue,
};
