//! Reading stratus's internal metrics back from a [`Registry`].

use stratus_core::telemetry::Registry;

/// The value of metric `name` in `registry`, summed over every series whose labels
/// include all of `labels` (in any order; other labels may be present); `0.0` when
/// there is none.
///
/// ```
/// use stratus_core::telemetry::Registry;
/// let r = Registry::new();
/// r.counter("otelcol_exporter_sent_spans", "Sent.", &[("exporter", "otlp")]).add(3);
/// r.counter("otelcol_exporter_sent_spans", "Sent.", &[("exporter", "nop")]).add(1);
/// let v = stratus_testkit::metric_value(&r, "otelcol_exporter_sent_spans", &[("exporter", "otlp")]);
/// assert_eq!(v, 3.0);
/// assert_eq!(stratus_testkit::metric_value(&r, "otelcol_exporter_sent_spans", &[]), 4.0);
/// ```
pub fn metric_value(registry: &Registry, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = registry.render();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(parse_sample)
        .filter(|(n, series_labels, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| series_labels.iter().any(|(sk, sv)| sk == k && sv == v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

/// One sample: name, labels (unescaped), value.
type Sample = (String, Vec<(String, String)>, f64);

/// Parses one sample line.
fn parse_sample(line: &str) -> Option<Sample> {
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let Some((name, rest)) = series.split_once('{') else {
        return Some((series.to_string(), Vec::new(), value));
    };
    let body = rest.strip_suffix('}')?;
    let mut labels = Vec::new();
    let mut chars = body.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('"') {
            return None;
        }
        let mut v = String::new();
        loop {
            match chars.next()? {
                '\\' => match chars.next()? {
                    'n' => v.push('\n'),
                    c => v.push(c),
                },
                '"' => break,
                c => v.push(c),
            }
        }
        labels.push((key.trim_start_matches(',').to_string(), v));
    }
    Some((name.to_string(), labels, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_label_subsets_and_unescapes() {
        let r = Registry::new();
        r.counter("m", "H.", &[("exporter", "a\"b"), ("x", "1,2=3")])
            .add(2);
        r.counter("m", "H.", &[("exporter", "c")]).add(5);
        r.counter("m_total", "H.", &[]).add(7);
        assert_eq!(metric_value(&r, "m", &[("exporter", "a\"b")]), 2.0);
        assert_eq!(metric_value(&r, "m", &[("x", "1,2=3")]), 2.0);
        assert_eq!(metric_value(&r, "m", &[]), 7.0);
        assert_eq!(metric_value(&r, "m_total", &[]), 7.0);
        assert_eq!(metric_value(&r, "m", &[("exporter", "zzz")]), 0.0);
        assert_eq!(metric_value(&r, "absent", &[]), 0.0);
    }
}
