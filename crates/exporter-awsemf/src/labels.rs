//! A data point's labels: attribute values as strings (pdata `AsString`), sorted by
//! name, one value per name; cheap to clone (shared), hashable for grouping.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, OnceLock};

use foldhash::fast::RandomState;

use stratus_aws_common::gojson::sort_keep_last;

/// Sorted, unique `(name, value)` pairs, with their hash computed once: a set is
/// hashed for its group and its delta series, each looked up and inserted.
///
/// Every name and value sits in one string, with the pairs as offsets into it: a set
/// is three allocations however many labels it holds (it was two per label), and
/// building one from borrowed attribute strings copies each byte once.
#[derive(Clone)]
pub(crate) struct LabelSet {
    inner: Arc<Inner>,
    hash: u64,
}

#[derive(PartialEq, Eq)]
struct Inner {
    text: String,
    /// Per pair, in `text`: where its name starts, where its name ends and its
    /// value starts, and where its value ends.
    spans: Vec<(usize, usize, usize)>,
}

/// Per-process random keys, so that crafted label values cannot collide on
/// purpose: foldhash, hashbrown's default, seeded at random (several times
/// cheaper than std's SipHash on label-sized strings).
fn hasher() -> &'static RandomState {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    KEYS.get_or_init(RandomState::default)
}

impl PartialEq for LabelSet {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && (Arc::ptr_eq(&self.inner, &other.inner) || self.inner == other.inner)
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
        LabelSet::from_pairs(std::iter::empty::<(&str, &str)>())
    }
}

impl fmt::Debug for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl LabelSet {
    /// From pairs in any order; of repeated names the last value wins, as assigning
    /// them one by one into a Go map would.
    pub(crate) fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut v: Vec<(K, V)> = pairs.into_iter().collect();
        sort_keep_last(&mut v);
        let mut text = String::with_capacity(
            v.iter()
                .map(|(k, v)| k.as_ref().len() + v.as_ref().len())
                .sum(),
        );
        let mut spans = Vec::with_capacity(v.len());
        let mut h = hasher().build_hasher();
        for (k, val) in &v {
            let (k, val) = (k.as_ref(), val.as_ref());
            let start = text.len();
            text.push_str(k);
            let key_end = text.len();
            text.push_str(val);
            spans.push((start, key_end, text.len()));
            // As `str`'s own Hash does, with a terminator, so ("ab","c") and ("a","bc")
            // hash apart.
            h.write(k.as_bytes());
            h.write_u8(0xff);
            h.write(val.as_bytes());
            h.write_u8(0xff);
        }
        h.write_usize(spans.len());
        LabelSet {
            inner: Arc::new(Inner { text, spans }),
            hash: h.finish(),
        }
    }

    fn pair(&self, &(start, key_end, end): &(usize, usize, usize)) -> (&str, &str) {
        let t = &self.inner.text;
        (&t[start..key_end], &t[key_end..end])
    }

    /// The value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        let spans = &self.inner.spans;
        spans
            .binary_search_by(|span| self.pair(span).0.cmp(name))
            .ok()
            .map(|i| self.pair(&spans[i]).1)
    }

    /// The number of pairs.
    pub(crate) fn len(&self) -> usize {
        self.inner.spans.len()
    }

    /// The pairs, sorted by name.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner.spans.iter().map(|span| self.pair(span))
    }

    /// A copy with `name` set to `value`.
    pub(crate) fn with(&self, name: &str, value: String) -> Self {
        LabelSet::from_pairs(self.iter().chain(std::iter::once((name, value.as_str()))))
    }

    /// A copy without `name`.
    pub(crate) fn without(&self, name: &str) -> Self {
        if self.get(name).is_none() {
            return self.clone();
        }
        LabelSet::from_pairs(self.iter().filter(|(k, _)| *k != name))
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

    #[test]
    fn equal_sets_are_equal_however_built_and_shifted_bytes_are_not() {
        let owned =
            LabelSet::from_pairs([("b".to_string(), "1".to_string()), ("a".into(), "2".into())]);
        let borrowed = LabelSet::from_pairs([("a", "2"), ("b", "1")]);
        assert_eq!(owned, borrowed);
        assert_eq!(hasher().hash_one(&owned), hasher().hash_one(&borrowed));
        // The same bytes split differently are other labels.
        let ab_c = LabelSet::from_pairs([("ab", "c")]);
        let a_bc = LabelSet::from_pairs([("a", "bc")]);
        assert_ne!(ab_c, a_bc);
        assert_eq!(ab_c.get("ab"), Some("c"));
        assert_eq!(ab_c.get("a"), None);
        assert_eq!(a_bc.get("a"), Some("bc"));
        assert_eq!(format!("{a_bc:?}"), r#"{"a": "bc"}"#);
        let empty = LabelSet::default();
        assert_eq!(empty.iter().count(), 0);
        assert_eq!(empty.get(""), None);
        // Empty names and values are kept as pairs.
        let blanks = LabelSet::from_pairs([("", ""), ("k", "")]);
        assert_eq!(blanks.iter().collect::<Vec<_>>(), [("", ""), ("k", "")]);
    }
}
