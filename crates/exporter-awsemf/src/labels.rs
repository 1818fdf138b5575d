//! A data point's labels: attribute values as strings (pdata `AsString`), sorted by
//! name, one value per name; cheap to clone (shared), hashable for grouping.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, OnceLock};

use std::collections::hash_map::RandomState;

use stratus_aws_common::gojson::sort_keep_last;

/// Sorted, unique `(name, value)` pairs, with their hash computed once: a set is
/// hashed for its group and its delta series, each looked up and inserted.
#[derive(Debug, Clone)]
pub(crate) struct LabelSet {
    pairs: Arc<[(String, String)]>,
    hash: u64,
}

/// Per-process random keys, so that crafted label values cannot collide on
/// purpose (as with `HashMap`'s own `RandomState`).
fn hasher() -> &'static RandomState {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    KEYS.get_or_init(RandomState::new)
}

impl PartialEq for LabelSet {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.pairs == other.pairs
    }
}

impl Eq for LabelSet {}

impl Hash for LabelSet {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl Default for LabelSet {
    fn default() -> Self {
        LabelSet::from_sorted(Vec::new())
    }
}

impl LabelSet {
    /// From pairs in any order; of repeated names the last value wins, as assigning
    /// them one by one into a Go map would.
    pub(crate) fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut v: Vec<(String, String)> = pairs.into_iter().collect();
        sort_keep_last(&mut v);
        LabelSet::from_sorted(v)
    }

    fn from_sorted(v: Vec<(String, String)>) -> Self {
        let hash = hasher().hash_one(&v);
        LabelSet {
            pairs: v.into(),
            hash,
        }
    }

    /// The value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| self.pairs[i].1.as_str())
    }

    /// The pairs, sorted by name.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A copy with `name` set to `value`.
    pub(crate) fn with(&self, name: &str, value: String) -> Self {
        LabelSet::from_pairs(
            self.pairs
                .iter()
                .cloned()
                .chain(std::iter::once((name.to_string(), value))),
        )
    }

    /// A copy without `name`.
    pub(crate) fn without(&self, name: &str) -> Self {
        if self.get(name).is_none() {
            return self.clone();
        }
        LabelSet::from_sorted(
            self.pairs
                .iter()
                .filter(|(k, _)| k != name)
                .cloned()
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_last_wins() {
        let l = LabelSet::from_pairs([
            ("b".to_string(), "1".to_string()),
            ("a".to_string(), "2".to_string()),
            ("b".to_string(), "3".to_string()),
        ]);
        assert_eq!(l.iter().collect::<Vec<_>>(), [("a", "2"), ("b", "3")]);
        assert_eq!(l.get("b"), Some("3"));
        assert_eq!(l.get("c"), None);
        let l2 = l.with("OTelLib", "x".into());
        assert_eq!(
            l2.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["OTelLib", "a", "b"]
        );
        assert_eq!(l2.without("OTelLib"), l);
    }
}
