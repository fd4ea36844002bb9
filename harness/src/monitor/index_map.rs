//! A map from log index to value: a vector for the indexes a lab reaches, a tree beyond, so a
//! lookup per entry costs next to nothing and a wild index from a broken peer costs no memory.

use std::collections::BTreeMap;

/// Indexes below this live in the vector (a lab's logs stay far below it).
const DENSE: u64 = 1 << 20;

/// Values by log index.
#[derive(Debug)]
pub(crate) struct IndexMap<T> {
    dense: Vec<Option<T>>,
    sparse: BTreeMap<u64, T>,
}

impl<T> Default for IndexMap<T> {
    fn default() -> Self {
        IndexMap {
            dense: Vec::new(),
            sparse: BTreeMap::new(),
        }
    }
}

impl<T> IndexMap<T> {
    /// The value at `index`.
    pub(crate) fn get(&self, index: u64) -> Option<&T> {
        if index < DENSE {
            self.dense.get(index as usize).and_then(Option::as_ref)
        } else {
            self.sparse.get(&index)
        }
    }

    /// The value at `index`, made with `make` if there is none.
    pub(crate) fn get_or_insert_with(&mut self, index: u64, make: impl FnOnce() -> T) -> &mut T {
        if index < DENSE {
            let i = index as usize;
            if self.dense.len() <= i {
                self.dense.resize_with(i + 1, || None);
            }
            self.dense[i].get_or_insert_with(make)
        } else {
            self.sparse.entry(index).or_insert_with(make)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_and_far_indexes_keep_their_values() {
        let mut m = IndexMap::default();
        *m.get_or_insert_with(3, || 0) += 7;
        *m.get_or_insert_with(u64::MAX, || 1) += 1;
        assert_eq!(m.get(3), Some(&7));
        assert_eq!(m.get(u64::MAX), Some(&2));
        assert_eq!(m.get(2), None);
        assert_eq!(m.get(DENSE + 5), None);
        assert_eq!(
            *m.get_or_insert_with(3, || 100),
            7,
            "an existing value stays"
        );
    }
}
