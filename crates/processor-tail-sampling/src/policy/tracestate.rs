//! Reading one key of a W3C `tracestate`, with the checks of the OpenTelemetry Go
//! API's `ParseTraceState` (which upstream's `trace_state` policy uses): a trace
//! state that fails them matches nothing.

/// Most list members a trace state may have.
const MAX_MEMBERS: usize = 32;

/// The value of `key` in `state`; `None` when it is absent or `state` is not a valid
/// trace state.
pub(crate) fn get<'a>(state: &'a str, key: &str) -> Option<&'a str> {
    let mut found = None;
    let mut members = 0usize;
    let mut seen: Vec<&str> = Vec::new();
    for member in state.split(',') {
        if member.is_empty() {
            continue;
        }
        let (k, v) = member.split_once('=')?;
        let k = k.trim_start_matches([' ', '\t']);
        let v = v.trim_end_matches([' ', '\t']);
        if !valid_key(k) || !valid_value(v) || seen.contains(&k) {
            return None;
        }
        seen.push(k);
        members += 1;
        if members > MAX_MEMBERS {
            return None;
        }
        if k == key {
            found = Some(v);
        }
    }
    found
}

/// `lcalpha 0*255(lcalpha / DIGIT / "_" / "-" / "*" / "/")`, or the multi-tenant
/// form `tenant@system` (tenant: lcalpha or digit then up to 240 more, system:
/// lcalpha then up to 13 more).
fn valid_key(k: &str) -> bool {
    fn rest(c: u8) -> bool {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'*' | b'/')
    }
    match k.split_once('@') {
        None => {
            let b = k.as_bytes();
            !b.is_empty()
                && b.len() <= 256
                && b[0].is_ascii_lowercase()
                && b[1..].iter().all(|c| rest(*c))
        }
        Some((tenant, system)) => {
            let (t, s) = (tenant.as_bytes(), system.as_bytes());
            !t.is_empty()
                && t.len() <= 241
                && (t[0].is_ascii_lowercase() || t[0].is_ascii_digit())
                && t[1..].iter().all(|c| rest(*c))
                && !s.is_empty()
                && s.len() <= 14
                && s[0].is_ascii_lowercase()
                && s[1..].iter().all(|c| rest(*c))
        }
    }
}

/// 1 to 256 printable ASCII characters except `,` and `=`, not ending in a space.
fn valid_value(v: &str) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && b[b.len() - 1] != b' '
        && b.iter()
            .all(|c| (0x20..=0x7e).contains(c) && *c != b',' && *c != b'=')
}

#[cfg(test)]
mod tests {
    use super::get;

    #[test]
    fn reads_keys_of_valid_states_only() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("key3=value1", "key3", Some("value1")),
            ("a=1, key3=value2 ,b=2", "key3", Some("value2")),
            ("a=1,,key3=v", "key3", Some("v")),
            ("t@sys=x", "t@sys", Some("x")),
            ("a=1", "key3", None),
            ("", "key3", None),
            // Invalid states match nothing, even for a key that is there.
            ("key3=value1,Bad=2", "key3", None),
            ("key3=value1,key3=value2", "key3", None),
            ("key3=value1,novalue", "key3", None),
            ("key3=va=lue", "key3", None),
            ("key3 =value1", "key3", None),
        ];
        for (state, key, want) in cases {
            assert_eq!(get(state, key), *want, "{state:?} / {key}");
        }
        let many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert_eq!(get(&many.join(","), "k0"), None, "more than 32 members");
        assert_eq!(get(&many[..32].join(","), "k0"), Some("v"));
    }
}
