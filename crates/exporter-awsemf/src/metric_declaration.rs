//! Compiled `metric_declarations` (upstream `metric_declaration.go`): which metrics
//! are extracted, with which dimension sets, for which labels.

use regex::Regex;
use stratus_core::factory::ConfigProblem;

use crate::config::{LabelMatcherConfig, MetricDeclarationConfig};
use crate::labels::LabelSet;

/// A dimension set of more than this many names is dropped (upstream
/// `MetricDeclaration.init`; the CloudWatch limit on dimensions per metric when the
/// exporter was written).
pub const MAX_DIMENSION_SET_SIZE: usize = 10;

/// One declaration, ready to match.
#[derive(Debug, Clone)]
pub(crate) struct MetricDeclaration {
    /// Dimension sets: names deduplicated and sorted, sets deduplicated.
    pub(crate) dimensions: Vec<Vec<String>>,
    selectors: Vec<Regex>,
    label_matchers: Vec<LabelMatcher>,
}

#[derive(Debug, Clone)]
struct LabelMatcher {
    label_names: Vec<String>,
    separator: String,
    regex: Regex,
}

/// Compiles every declaration, or reports every problem with its key path
/// (`metric_declarations::0::metric_name_selectors::1`).
pub(crate) fn compile_all(
    configs: &[MetricDeclarationConfig],
) -> Result<Vec<MetricDeclaration>, Vec<ConfigProblem>> {
    let mut out = Vec::with_capacity(configs.len());
    let mut problems = Vec::new();
    for (i, c) in configs.iter().enumerate() {
        match compile(c, &format!("metric_declarations::{i}")) {
            Ok(d) => out.push(d),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn compile(
    c: &MetricDeclarationConfig,
    path: &str,
) -> Result<MetricDeclaration, Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    // Upstream drops a declaration without selectors with a warning; it can never
    // match anything, so it is reported instead.
    if c.metric_name_selectors.is_empty() {
        problems.push(ConfigProblem::new(
            format!("{path}::metric_name_selectors"),
            "needs at least one regular expression (e.g. `^http\\..*`)",
        ));
    }
    let mut selectors = Vec::with_capacity(c.metric_name_selectors.len());
    for (j, s) in c.metric_name_selectors.iter().enumerate() {
        match Regex::new(s) {
            Ok(re) => selectors.push(re),
            Err(e) => problems.push(ConfigProblem::new(
                format!("{path}::metric_name_selectors::{j}"),
                format!("invalid regular expression `{s}`: {}", one_line(&e)),
            )),
        }
    }
    let mut label_matchers = Vec::with_capacity(c.label_matchers.len());
    for (k, lm) in c.label_matchers.iter().enumerate() {
        match compile_matcher(lm, &format!("{path}::label_matchers::{k}")) {
            Ok(m) => label_matchers.push(m),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(MetricDeclaration {
        dimensions: clean_dimension_sets(&c.dimensions),
        selectors,
        label_matchers,
    })
}

fn compile_matcher(
    lm: &LabelMatcherConfig,
    path: &str,
) -> Result<LabelMatcher, Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    if lm.label_names.is_empty() {
        problems.push(ConfigProblem::new(
            format!("{path}::label_names"),
            "needs at least one label name",
        ));
    }
    let regex = if lm.regex.is_empty() {
        problems.push(ConfigProblem::new(
            format!("{path}::regex"),
            "is required: the regular expression the joined label values must match",
        ));
        None
    } else {
        match Regex::new(&lm.regex) {
            Ok(re) => Some(re),
            Err(e) => {
                problems.push(ConfigProblem::new(
                    format!("{path}::regex"),
                    format!(
                        "invalid regular expression `{}`: {}",
                        lm.regex,
                        one_line(&e)
                    ),
                ));
                None
            }
        }
    };
    match regex {
        Some(regex) if problems.is_empty() => Ok(LabelMatcher {
            label_names: lm.label_names.clone(),
            separator: if lm.separator.is_empty() {
                ";".to_string()
            } else {
                lm.separator.clone()
            },
            regex,
        }),
        _ => Err(problems),
    }
}

/// The regex crate's multi-line error message on one line.
fn one_line(e: &regex::Error) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Drops sets of more than [`MAX_DIMENSION_SET_SIZE`] names (with a warning),
/// deduplicates names in a set and sorts them, drops repeated sets.
fn clean_dimension_sets(sets: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::with_capacity(sets.len());
    for set in sets {
        if set.len() > MAX_DIMENSION_SET_SIZE {
            tracing::warn!(
                dimensions = %set.join(","),
                "Dropped dimension set: > {MAX_DIMENSION_SET_SIZE} dimensions specified."
            );
            continue;
        }
        let mut names = set.clone();
        names.sort();
        names.dedup();
        if names.len() < set.len() {
            tracing::debug!(dimensions = %set.join(","), "Removed duplicates from dimension set.");
        }
        if out.contains(&names) {
            tracing::debug!(dimensions = %set.join(","), "Dropped dimension set: duplicated dimension set.");
            continue;
        }
        out.push(names);
    }
    out
}

impl MetricDeclaration {
    /// Whether any selector matches somewhere in `name`.
    pub(crate) fn matches_name(&self, name: &str) -> bool {
        self.selectors.iter().any(|re| re.is_match(name))
    }

    /// Whether the labels satisfy any label matcher (always, when there are none).
    pub(crate) fn matches_labels(&self, labels: &LabelSet) -> bool {
        self.label_matchers.is_empty() || self.label_matchers.iter().any(|m| m.matches(labels))
    }

    /// The dimension sets whose every name is a label (upstream `ExtractDimensions`).
    pub(crate) fn extract_dimensions<'a>(
        &'a self,
        labels: &'a LabelSet,
    ) -> impl Iterator<Item = &'a Vec<String>> + 'a {
        self.dimensions
            .iter()
            .filter(move |set| set.iter().all(|name| labels.get(name).is_some()))
    }
}

impl LabelMatcher {
    fn matches(&self, labels: &LabelSet) -> bool {
        let mut joined = String::new();
        for (i, name) in self.label_names.iter().enumerate() {
            if i > 0 {
                joined.push_str(&self.separator);
            }
            joined.push_str(labels.get(name).unwrap_or(""));
        }
        self.regex.is_match(&joined)
    }
}

#[cfg(test)]
mod tests {
    //! Ported from upstream `metric_declaration_test.go`.
    // Test tables read best as nested slice literals.
    #![allow(clippy::type_complexity)]
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> LabelSet {
        LabelSet::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn decl(dims: &[&[&str]], selectors: &[&str]) -> MetricDeclarationConfig {
        MetricDeclarationConfig {
            dimensions: dims
                .iter()
                .map(|s| s.iter().map(|n| n.to_string()).collect())
                .collect(),
            metric_name_selectors: selectors.iter().map(|s| s.to_string()).collect(),
            label_matchers: Vec::new(),
        }
    }

    fn matcher(names: &[&str], sep: &str, regex: &str) -> LabelMatcherConfig {
        LabelMatcherConfig {
            label_names: names.iter().map(|s| s.to_string()).collect(),
            separator: sep.to_string(),
            regex: regex.to_string(),
        }
    }

    #[test]
    fn init_cleans_dimension_sets() {
        let d = compile(
            &decl(
                &[
                    &["foo"],
                    &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"],
                ],
                &["a.*", "b$", "aa+"],
            ),
            "x",
        )
        .unwrap();
        assert_eq!(d.dimensions.len(), 2, "a set of exactly 10 names is kept");
        let d = compile(
            &decl(
                &[
                    &["foo"],
                    &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"],
                ],
                &["a.*"],
            ),
            "x",
        )
        .unwrap();
        assert_eq!(
            d.dimensions,
            [vec!["foo".to_string()]],
            "11 names are dropped"
        );
        let d = compile(
            &decl(&[&["a", "c", "b", "c"], &["c", "b", "a"]], &["a"]),
            "x",
        )
        .unwrap();
        assert_eq!(d.dimensions, [vec!["a", "b", "c"]]);
        let d = compile(&decl(&[], &["a", "b", "aa"]), "x").unwrap();
        assert_eq!(d.selectors.len(), 3);
        assert!(d.dimensions.is_empty());
    }

    #[test]
    fn problems_at_their_key_paths() {
        let mut bad = decl(&[], &["^ok$", "(unclosed", "[z-a]"]);
        bad.label_matchers = vec![
            matcher(&["a"], "", ".+"),
            matcher(&[], "", ".+"),
            matcher(&["a"], "", ""),
            matcher(&["a"], "", "*"),
        ];
        let e = compile_all(&[decl(&[], &["fine"]), bad, decl(&[&["a"]], &[])]).unwrap_err();
        let paths: Vec<_> = e.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "metric_declarations::1::metric_name_selectors::1",
                "metric_declarations::1::metric_name_selectors::2",
                "metric_declarations::1::label_matchers::1::label_names",
                "metric_declarations::1::label_matchers::2::regex",
                "metric_declarations::1::label_matchers::3::regex",
                "metric_declarations::2::metric_name_selectors",
            ]
        );
        assert!(e[0].message.contains("(unclosed"), "{}", e[0].message);
        assert!(!e[0].message.contains('\n'));
    }

    #[test]
    fn label_matcher_defaults_and_concatenation() {
        let l = labels(&[("label1", "a"), ("label2", "b"), ("label3", "c")]);
        let cases: &[(&[&str], &str, &str)] = &[
            (&["label1"], "", "^a$"),
            (&["label1", "label3", "label2"], "", "^a;c;b$"),
            (&["label1"], ",", "^a$"),
            (&["label1", "label3", "label2"], ",", "^a,c,b$"),
            (&["label1", "label4", "label2"], "", "^a;;b$"),
        ];
        for (names, sep, re) in cases {
            let m = compile_matcher(&matcher(names, sep, re), "x").unwrap();
            assert_eq!(m.separator, if sep.is_empty() { ";" } else { sep });
            assert!(m.matches(&l), "{names:?} {sep:?} {re}");
        }
    }

    #[test]
    fn label_matcher_matches() {
        let one = labels(&[("label1", "foo")]);
        let three = labels(&[("label1", "foo"), ("label2", "bar"), ("label3", "car")]);
        let cases: &[(&LabelSet, &[&str], &str, &str, bool)] = &[
            (&one, &["label1"], "", "^fo+$", true),
            (&one, &["label1"], "", "^f+$", false),
            (&one, &["label2"], "", ".+", false),
            (
                &three,
                &["label1", "label3", "label2"],
                "",
                "fo+;car;b.*$",
                true,
            ),
            (
                &three,
                &["label1", "label3", "label2"],
                ",",
                "fo+,car,b.*$",
                true,
            ),
            (
                &three,
                &["label1", "label3", "label2"],
                ",",
                "fo+;car;b.*$",
                false,
            ),
            (
                &three,
                &["label1", "label4", "label2"],
                "",
                "fo+;;b.*$",
                true,
            ),
        ];
        for (l, names, sep, re, want) in cases {
            let m = compile_matcher(&matcher(names, sep, re), "x").unwrap();
            assert_eq!(m.matches(l), *want, "{names:?} {re}");
        }
    }

    #[test]
    fn declaration_matches_name_unanchored_unless_anchored() {
        let d = compile(&decl(&[], &["^a+$", "^b.*$", "^ac+a$"]), "x").unwrap();
        for (name, want) in [
            ("a", true),
            ("aa", true),
            ("aaaa", true),
            ("aaab", false),
            ("b", true),
            ("ba", true),
            ("c", false),
            ("aca", true),
            ("accca", true),
        ] {
            assert_eq!(d.matches_name(name), want, "{name}");
        }
        // Go's MatchString is unanchored: `metric` matches `my_metric_total`.
        let d = compile(&decl(&[], &["metric"]), "x").unwrap();
        assert!(d.matches_name("my_metric_total"));
        // The product brief's selectors.
        let d = compile(&decl(&[], &["^http\\..*", "^rpc\\..*"]), "x").unwrap();
        assert!(d.matches_name("http.server.duration"));
        assert!(d.matches_name("rpc.client.duration"));
        assert!(!d.matches_name("db.client.connections"));
        assert!(!d.matches_name("myhttp.requests"));
    }

    #[test]
    fn declaration_matches_labels_when_any_matcher_does() {
        let l = labels(&[("label1", "foo"), ("label2", "bar"), ("label3", "car")]);
        let cases: Vec<(Vec<LabelMatcherConfig>, bool)> = vec![
            (vec![matcher(&["label1"], "", "^fo+$")], true),
            (
                vec![
                    matcher(&["label1"], "", "food"),
                    matcher(&["label3"], "", "^c.*$"),
                ],
                true,
            ),
            (
                vec![
                    matcher(&["label1"], "", "food"),
                    matcher(&["label3"], "", "cat"),
                ],
                false,
            ),
            (
                vec![matcher(&["label1", "label3", "label2"], "", "fo+;car;b.*$")],
                true,
            ),
            (
                vec![matcher(
                    &["label1", "label3", "label2"],
                    ",",
                    "fo+,car,b.*$",
                )],
                true,
            ),
            (
                vec![
                    matcher(&["label1", "label3", "label2"], ",", "fo+,car,b.*$"),
                    matcher(&["label3"], "", "fat"),
                ],
                true,
            ),
            (
                vec![
                    matcher(&["label1", "label3", "label2"], ",", "fo+,cat,b.*$"),
                    matcher(&["label3"], "", "fat"),
                ],
                false,
            ),
            (vec![], true),
        ];
        for (matchers, want) in cases {
            let mut c = decl(&[], &["^a+$"]);
            c.label_matchers = matchers;
            let d = compile(&c, "x").unwrap();
            assert_eq!(d.matches_labels(&l), want, "{:?}", c.label_matchers);
        }
    }

    #[test]
    fn extract_dimensions() {
        let cases: &[(&[&[&str]], &[(&str, &str)], &[&[&str]])] = &[
            (
                &[&["a", "b"]],
                &[("a", "foo"), ("b", "bar")],
                &[&["a", "b"]],
            ),
            (&[&["a"]], &[("a", "foo"), ("b", "bar")], &[&["a"]]),
            (&[&["a", "b"]], &[("b", "bar")], &[]),
            (
                &[&["a", "b"], &["a"]],
                &[("a", "foo"), ("b", "bar")],
                &[&["a", "b"], &["a"]],
            ),
            (&[&["a", "b"], &["a"]], &[("a", "foo")], &[&["a"]]),
            (&[], &[("a", "foo")], &[]),
            (&[&[]], &[("a", "foo")], &[&[]]),
        ];
        for (dims, l, want) in cases {
            let d = compile(&decl(dims, &["foo"]), "x").unwrap();
            let l = labels(l);
            let got: Vec<&Vec<String>> = d.extract_dimensions(&l).collect();
            let want: Vec<Vec<String>> = want
                .iter()
                .map(|s| s.iter().map(|n| n.to_string()).collect())
                .collect();
            assert_eq!(got, want.iter().collect::<Vec<_>>(), "{dims:?}");
        }
    }
}
