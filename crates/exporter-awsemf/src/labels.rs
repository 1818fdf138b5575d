//! A data point's labels: attribute values as strings (pdata `AsString`), sorted by
//! name, one value per name; cheap to clone (shared), hashable for grouping.

use std::sync::Arc;

use crate::gojson::sort_keep_last;

/// Sorted, unique `(name, value)` pairs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct LabelSet(Arc<[(String, String)]>);

impl LabelSet {
    /// From pairs in any order; of repeated names the last value wins, as assigning
    /// them one by one into a Go map would.
    pub(crate) fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut v: Vec<(String, String)> = pairs.into_iter().collect();
        sort_keep_last(&mut v);
        LabelSet(v.into())
    }

    /// The value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// The pairs, sorted by name.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A copy with `name` set to `value`.
    pub(crate) fn with(&self, name: &str, value: String) -> Self {
        LabelSet::from_pairs(
            self.0
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
        LabelSet(self.0.iter().filter(|(k, _)| k != name).cloned().collect())
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
