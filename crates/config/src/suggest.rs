//! "Did you mean" suggestions for unknown names.

/// The candidate closest to `input`, if one is close enough to be a likely typo: at
/// most a third of the longer name's characters (and at least one) edited, counting a
/// swap of two neighbours as one edit and ignoring case; or one name is the other cut
/// short (at least 4 characters kept).
pub(crate) fn closest<'a, I>(input: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = input.to_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == input {
            continue;
        }
        let cand = candidate.to_lowercase();
        let distance = strsim::damerau_levenshtein(&lower, &cand);
        let longer = lower.chars().count().max(cand.chars().count());
        let limit = (longer / 3).max(1);
        // `health` for `health_check`: a name cut short is a likely slip too.
        let (short, long) = if lower.len() <= cand.len() {
            (&lower, &cand)
        } else {
            (&cand, &lower)
        };
        let truncated = short.chars().count() >= 4 && long.starts_with(short.as_str());
        if (distance <= limit || truncated) && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `"; did you mean `x`?"`, or the empty string when nothing is close.
pub(crate) fn did_you_mean<'a, I>(input: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    closest(input, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// `"; did you mean `x`?"` when one candidate is close, else `"; {label}: a, b, c"`
/// (or nothing when there are no candidates).
pub(crate) fn did_you_mean_or_list<'a, I>(input: &str, candidates: I, label: &str) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    let all: Vec<&'a str> = candidates.into_iter().collect();
    match closest(input, all.iter().copied()) {
        Some(c) => format!("; did you mean `{c}`?"),
        None if all.is_empty() => String::new(),
        None => format!("; {label}: {}", all.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_found() {
        let sections = ["receivers", "processors", "exporters", "service"];
        assert_eq!(closest("recievers", sections), Some("receivers"));
        assert_eq!(closest("exporter", sections), Some("exporters"));
        assert_eq!(closest("Service", sections), Some("service"));
        assert_eq!(closest("pipelines", sections), None);
        assert_eq!(
            closest("trace", ["traces", "metrics", "logs"]),
            Some("traces")
        );
        assert_eq!(closest("log", ["traces", "metrics", "logs"]), Some("logs"));
        assert_eq!(closest("tls", ["otlp"]), None);
        assert_eq!(
            closest("health", ["debug", "health_check"]),
            Some("health_check")
        );
        assert_eq!(closest("otlp/gateway", ["otlp/gw", "otlp"]), Some("otlp"));
        assert_eq!(closest("otl", ["otlp_grpc"]), None);
        assert_eq!(closest("a", ["b"]), Some("b"));
        assert_eq!(closest("x", Vec::<&str>::new()), None);
    }

    #[test]
    fn messages() {
        assert_eq!(did_you_mean("bach", ["batch"]), "; did you mean `batch`?");
        assert_eq!(did_you_mean("zzzz", ["batch"]), "");
        assert_eq!(
            did_you_mean_or_list("zzzz", ["a1", "b1"], "valid keys"),
            "; valid keys: a1, b1"
        );
        assert_eq!(did_you_mean_or_list("zzzz", [], "valid keys"), "");
    }
}
