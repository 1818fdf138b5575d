//! Keys and numbers written as Go's encoder writes them.
use super::*;

#[test]
fn meta_keys_order_as_their_full_strings() {
    let keys = [
        MetaKey::Attr("a"),
        MetaKey::Attr("otel.resource"),
        MetaKey::Attr("otel.resource.a"),
        MetaKey::Resource("a"),
        MetaKey::Resource("ab"),
        MetaKey::Owned("otel.resource.b".into()),
        MetaKey::Resource(""),
        MetaKey::Attr("otel.resource."),
        MetaKey::Attr("otel.resourcf"),
        MetaKey::Attr("z"),
        MetaKey::Owned(String::new()),
        MetaKey::Attr("é"),
        MetaKey::Resource("é"),
        MetaKey::Attr("otel.resource.éa"),
    ];
    for a in &keys {
        for b in &keys {
            let (sa, sb) = (a.to_string(), b.to_string());
            assert_eq!(a.cmp(b), sa.cmp(&sb), "{sa:?} vs {sb:?}");
            assert_eq!(a == b, sa == sb);
        }
        assert_eq!(
            a.is_resource_key(),
            a.to_string().starts_with("otel.resource.")
        );
        assert_eq!(
            serde_json::to_string(a).unwrap(),
            serde_json::to_string(&a.to_string()).unwrap()
        );
    }
}

#[test]
fn doubles_are_written_as_go_writes_them() {
    let cases: &[(f64, &str)] = &[
        (5.0, "5"),
        (1_700_000_000.0, "1700000000"),
        (1_699_999_999.784_999_8, "1699999999.7849998"),
        (0.1, "0.1"),
        (-987.65, "-987.65"),
        (f64::NAN, "null"),
        (f64::INFINITY, "null"),
    ];
    for (v, json) in cases {
        assert_eq!(
            serde_json::to_string(&Annotation::Double(*v)).unwrap(),
            *json
        );
    }
}
