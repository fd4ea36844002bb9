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
use serde::{Deserialize, Serialize};

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
    decode_borrowed(bytes)
}

/// Like [`decode`], for a type that may borrow from `bytes` (a `&[u8]` field reads its bytes in
/// place instead of copying them), under the same rule: exactly `bytes`, nothing left over.
///
/// ```
/// let bytes = labrpc::codec::encode(&(7u64, b"hello".to_vec())).expect("encodes");
/// let (n, text): (u64, &[u8]) = labrpc::codec::decode_borrowed(&bytes).expect("decodes");
/// assert_eq!((n, text), (7, &b"hello"[..]));
/// ```
pub fn decode_borrowed<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, CodecError> {
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

/// Why a value that decoded is refused anyway: said in the `detail` of
/// [`RpcError::BadArgs`](crate::RpcError::BadArgs) and
/// [`RpcError::BadReply`](crate::RpcError::BadReply).
pub const UNRECORDED_TYPES: &str = "the bytes happen to decode as the other type, but the format \
records no types, so the value would be wrong (an i64 of 5 read as a u64 is 10)";

/// Whether values of the types named `a` and `b` (as [`std::any::type_name`] names them) have
/// the same encoding, so a value written as one may be read as the other.
///
/// postcard writes no type information: an `i64` read as a `u64`, or one struct read as
/// another of the same shape, decodes without complaint into a wrong value. So the network
/// compares the names of the types on both sides of a call. Types that serde writes the same
/// way count as the same: a reference and its target (`&T`, `T`), `str` and `String`, a slice
/// and a `Vec`, and `Box`, `Rc`, `Arc` and `Cow` and what they hold.
///
/// ```
/// use labrpc::codec::same_wire_type;
///
/// assert!(same_wire_type("&str", "alloc::string::String"));
/// assert!(same_wire_type("&[u64]", "alloc::vec::Vec<u64>"));
/// assert!(!same_wire_type("i64", "u64"));
/// ```
pub fn same_wire_type(a: &str, b: &str) -> bool {
    a == b || wire_type(a) == wire_type(b)
}

/// `name` with the differences that do not change the encoding removed (see
/// [`same_wire_type`]). A name this does not understand is kept as it is.
fn wire_type(name: &str) -> String {
    let mut parser = TypeName { s: name, pos: 0 };
    match parser.ty() {
        Some(t) if parser.pos == name.len() => t,
        _ => name.to_string(),
    }
}

/// A small parser of the names `std::any::type_name` gives.
struct TypeName<'a> {
    s: &'a str,
    pos: usize,
}

impl TypeName<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    /// A comma-separated list of types up to `close` (consumed).
    fn list(&mut self, close: char) -> Option<Vec<String>> {
        let mut items = Vec::new();
        loop {
            let _ = self.eat(" ");
            if self.eat(&close.to_string()) {
                return Some(items);
            }
            if self.rest().starts_with('\'') {
                // A lifetime: erased, and nothing to do with the encoding.
                let end = self.rest().find([',', '>'])?;
                self.pos += end;
            } else {
                items.push(self.ty()?);
            }
            let _ = self.eat(",");
        }
    }

    fn ty(&mut self) -> Option<String> {
        if self.eat("&") {
            if self.rest().starts_with('\'') {
                let end = self.rest().find(' ')?;
                self.pos += end + 1;
            }
            let _ = self.eat("mut ");
            return self.ty();
        }
        if self.eat("[") {
            let inner = self.ty()?;
            if self.eat("]") {
                return Some(format!("alloc::vec::Vec<{inner}>"));
            }
            if self.eat("; ") || self.eat(";") {
                let len_end = self.rest().find(']')?;
                let len = self.rest()[..len_end].to_string();
                self.pos += len_end + 1;
                return Some(format!("[{inner}; {len}]"));
            }
            return None;
        }
        if self.eat("(") {
            let items = self.list(')')?;
            return Some(match items.len() {
                1 => format!("({},)", items[0]),
                _ => format!("({})", items.join(", ")),
            });
        }
        let end = self
            .rest()
            .find(['<', '>', ',', ')', ']', ';'])
            .unwrap_or(self.rest().len());
        if end == 0 {
            return None;
        }
        let path = self.rest()[..end].to_string();
        self.pos += end;
        let args = if self.eat("<") {
            self.list('>')?
        } else {
            Vec::new()
        };
        const TRANSPARENT: [&str; 4] = [
            "alloc::boxed::Box",
            "alloc::rc::Rc",
            "alloc::sync::Arc",
            "alloc::borrow::Cow",
        ];
        Some(match (path.as_str(), args.as_slice()) {
            ("str", []) => "alloc::string::String".to_string(),
            (p, [inner]) if TRANSPARENT.contains(&p) => inner.clone(),
            (_, []) => path,
            (_, args) => format!("{path}<{}>", args.join(", ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::same_wire_type;
    use std::any::type_name;
    use std::borrow::Cow;
    use std::sync::Arc;

    #[test]
    fn types_that_serde_writes_alike_are_the_same_wire_type() {
        let same = [
            (type_name::<&str>(), type_name::<String>()),
            (type_name::<&[u64]>(), type_name::<Vec<u64>>()),
            (type_name::<Box<str>>(), type_name::<String>()),
            (
                type_name::<Arc<(u64, &str)>>(),
                type_name::<(u64, String)>(),
            ),
            (type_name::<Cow<'static, str>>(), type_name::<String>()),
            (
                type_name::<Option<Vec<&str>>>(),
                type_name::<Option<Vec<String>>>(),
            ),
            (
                type_name::<std::collections::BTreeMap<&str, Box<[u8]>>>(),
                type_name::<std::collections::BTreeMap<String, Vec<u8>>>(),
            ),
            (type_name::<(u8,)>(), type_name::<(u8,)>()),
            (type_name::<&&[u8; 4]>(), type_name::<[u8; 4]>()),
            (
                "&'a mut alloc::borrow::Cow<'a, str>",
                "alloc::string::String",
            ),
        ];
        for (a, b) in same {
            assert!(same_wire_type(a, b), "{a} and {b} are written alike");
        }
    }

    #[test]
    fn types_that_merely_decode_alike_are_different_wire_types() {
        let different = [
            (type_name::<i64>(), type_name::<u64>()),
            (type_name::<u32>(), type_name::<u64>()),
            (type_name::<[u8; 4]>(), type_name::<Vec<u8>>()),
            (type_name::<(u64, u64)>(), type_name::<(u64, i64)>()),
            (type_name::<Option<u64>>(), type_name::<Option<i64>>()),
            (type_name::<(u8,)>(), type_name::<u8>()),
        ];
        for (a, b) in different {
            assert!(!same_wire_type(a, b), "{a} and {b} must not pass as one");
        }
    }
}
