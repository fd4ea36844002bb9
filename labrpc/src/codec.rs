//! The codec: every argument and reply is serialized with `postcard` (a compact, maintained
//! serde binary format), so peers never share memory. The tester and Raft use the same functions
//! for persisted state.
//!
//! ```
//! let bytes = labrpc::codec::encode(&(7u64, "hello".to_string())).expect("encodes");
//! let back: (u64, String) = labrpc::codec::decode(&bytes).expect("decodes");
//! assert_eq!(back, (7, "hello".to_string()));
//! ```

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A value that could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Serialization failed (for example a map with non-string keys that the format rejects).
    #[error("cannot encode a {type_name}: {detail}")]
    Encode {
        /// The type being encoded.
        type_name: &'static str,
        /// The format's explanation.
        detail: String,
    },
    /// The bytes are not a valid encoding of the type.
    #[error("cannot decode {len} bytes as a {type_name}: {detail}")]
    Decode {
        /// The type being decoded.
        type_name: &'static str,
        /// How many bytes there were.
        len: usize,
        /// The format's explanation.
        detail: String,
    },
}

/// Encodes `value`.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    postcard::to_stdvec(value).map_err(|e| CodecError::Encode {
        type_name: std::any::type_name::<T>(),
        detail: e.to_string(),
    })
}

/// Decodes a `T` from exactly `bytes` (bytes left over are an error: they mean the bytes were
/// written as another type).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let fail = |detail: String| CodecError::Decode {
        type_name: std::any::type_name::<T>(),
        len: bytes.len(),
        detail,
    };
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(fail(format!("{} bytes left over", rest.len()))),
        Err(e) => Err(fail(e.to_string())),
    }
}
