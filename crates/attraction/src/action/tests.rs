//! The action tables of upstream's `attraction_test.go`, plus `convert`, `default_value`
//! and the undo hook.

use super::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use stratus_testkit::otlp::{IntoAnyValue, array, bytes, kv, kvlist};

/// An attribute list from `key => value` pairs of any value kinds.
macro_rules! attrs {
    ($($k:expr => $v:expr),* $(,)?) => { vec![$(kv($k, $v)),*] };
}

fn actions(config: serde_json::Value) -> Actions {
    let configs: Vec<ActionConfig> = serde_json::from_value(config).unwrap();
    Actions::compile("actions", &configs).unwrap()
}

fn problems(config: serde_json::Value) -> Vec<(String, String)> {
    let configs: Vec<ActionConfig> = serde_json::from_value(config).unwrap();
    Actions::compile("actions", &configs)
        .expect_err("the config must be rejected")
        .into_iter()
        .map(|p| (p.path, p.message))
        .collect()
}

fn sorted(mut v: Vec<KeyValue>) -> Vec<KeyValue> {
    v.sort_by(|a, b| a.key.cmp(&b.key));
    v
}

/// Runs each `(name, input, expected)` case through `actions`, comparing attribute sets.
fn run(actions: &Actions, cases: Vec<(&str, Vec<KeyValue>, Vec<KeyValue>)>) {
    run_with(actions, &Metadata::default(), cases);
}

fn run_with(
    actions: &Actions,
    metadata: &Metadata,
    cases: Vec<(&str, Vec<KeyValue>, Vec<KeyValue>)>,
) {
    for (name, input, want) in cases {
        let mut got = input.clone();
        actions.apply(&mut got, metadata);
        assert_eq!(sorted(got), sorted(want.clone()), "case {name}");
        // The recording variant changes the same, and reverting what it recorded, last
        // to first, gives the input back element for element.
        let mut again = input.clone();
        let mut changes = Vec::new();
        actions.apply_recording(&mut again, metadata, &mut |c| changes.push(c));
        assert_eq!(
            sorted(again.clone()),
            sorted(want),
            "case {name} (recording)"
        );
        if changes.is_empty() {
            assert_eq!(
                again, input,
                "case {name}: nothing recorded, nothing changed"
            );
        }
        for c in changes.into_iter().rev() {
            c.revert(&mut again);
        }
        assert_eq!(again, input, "case {name}: reverted");
    }
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

#[test]
fn insert_value_does_not_overwrite() {
    let a = actions(json!([{"key": "attribute1", "action": "insert", "value": 123}]));
    run(
        &a,
        vec![
            (
                "InsertEmptyAttributes",
                attrs![],
                attrs!["attribute1" => 123],
            ),
            (
                "InsertKeyNoExists",
                attrs!["anotherkey" => "bob"],
                attrs!["anotherkey" => "bob", "attribute1" => 123],
            ),
            (
                "InsertKeyExists",
                attrs!["attribute1" => "bob"],
                attrs!["attribute1" => "bob"],
            ),
        ],
    );
}

#[test]
fn insert_from_attribute() {
    let a =
        actions(json!([{"key": "string key", "action": "insert", "from_attribute": "anotherkey"}]));
    run(
        &a,
        vec![
            ("InsertEmptyAttributes", attrs![], attrs![]),
            (
                "InsertMissingFromAttribute",
                attrs!["bob" => 1],
                attrs!["bob" => 1],
            ),
            (
                "InsertAttributeExists",
                attrs!["anotherkey" => 8892342],
                attrs!["anotherkey" => 8892342, "string key" => 8892342],
            ),
            (
                "InsertKeysExists",
                attrs!["anotherkey" => 8892342, "string key" => "here"],
                attrs!["anotherkey" => 8892342, "string key" => "here"],
            ),
        ],
    );
}

#[test]
fn update_value_does_not_create() {
    let a = actions(json!([{"key": "db.secret", "action": "update", "value": "redacted"}]));
    run(
        &a,
        vec![
            ("UpdateNoAttributes", attrs![], attrs![]),
            (
                "UpdateKeyNoExist",
                attrs!["boo" => "foo"],
                attrs!["boo" => "foo"],
            ),
            (
                "UpdateAttributes",
                attrs!["db.secret" => "password1234"],
                attrs!["db.secret" => "redacted"],
            ),
        ],
    );
}

#[test]
fn update_from_attribute() {
    let a = actions(json!([{"key": "boo", "action": "update", "from_attribute": "foo"}]));
    run(
        &a,
        vec![
            ("UpdateNoAttributes", attrs![], attrs![]),
            (
                "UpdateKeyNoExistFromAttribute",
                attrs!["boo" => "bob"],
                attrs!["boo" => "bob"],
            ),
            (
                "UpdateKeyNoExistMainAttributed",
                attrs!["foo" => "over there"],
                attrs!["foo" => "over there"],
            ),
            (
                "UpdateKeyFromExistingAttribute",
                attrs!["foo" => "there is a party over here", "boo" => "not here"],
                attrs!["foo" => "there is a party over here", "boo" => "there is a party over here"],
            ),
        ],
    );
}

#[test]
fn upsert_value() {
    let a = actions(json!([{"key": "region", "action": "upsert", "value": "planet-earth"}]));
    run(
        &a,
        vec![
            (
                "UpsertNoAttributes",
                attrs![],
                attrs!["region" => "planet-earth"],
            ),
            (
                "UpsertAttributeNoExist",
                attrs!["mission" => "to mars"],
                attrs!["mission" => "to mars", "region" => "planet-earth"],
            ),
            (
                "UpsertAttributeExists",
                attrs!["mission" => "to mars", "region" => "solar system"],
                attrs!["mission" => "to mars", "region" => "planet-earth"],
            ),
        ],
    );
}

#[test]
fn upsert_from_attribute() {
    let a =
        actions(json!([{"key": "new_user_key", "action": "upsert", "from_attribute": "user_key"}]));
    run(
        &a,
        vec![
            ("UpsertEmptyAttributes", attrs![], attrs![]),
            (
                "UpsertFromAttributeNoExist",
                attrs!["boo" => "ghosts are scary"],
                attrs!["boo" => "ghosts are scary"],
            ),
            (
                "UpsertFromAttributeExistsInsert",
                attrs!["user_key" => 2245, "foo" => "casper"],
                attrs!["user_key" => 2245, "new_user_key" => 2245, "foo" => "casper"],
            ),
            (
                "UpsertFromAttributeExistsUpdate",
                attrs!["user_key" => 2245, "new_user_key" => 5422, "foo" => "casper"],
                attrs!["user_key" => 2245, "new_user_key" => 2245, "foo" => "casper"],
            ),
        ],
    );
}

#[test]
fn extract_with_two_named_groups_upserts_both() {
    let a = actions(json!([{
        "key": "user_key",
        "pattern": "^\\/api\\/v1\\/document\\/(?P<new_user_key>.*)\\/update\\/(?P<version>.*)$",
        "action": "extract"
    }]));
    let path = "/api/v1/document/12345678/update/v1";
    run(
        &a,
        vec![
            ("UpsertEmptyAttributes", attrs![], attrs![]),
            (
                "No extract with no target key",
                attrs!["boo" => "ghosts are scary"],
                attrs!["boo" => "ghosts are scary"],
            ),
            (
                "No extract with non string target key",
                attrs!["boo" => "ghosts are scary", "user_key" => 1234],
                attrs!["boo" => "ghosts are scary", "user_key" => 1234],
            ),
            (
                "No extract with no pattern matching",
                attrs!["user_key" => "does not match", "boo" => "ghosts are scary"],
                attrs!["user_key" => "does not match", "boo" => "ghosts are scary"],
            ),
            (
                "No extract with no pattern matching all of it",
                attrs!["user_key" => "/api/v1/document/12345678/update"],
                attrs!["user_key" => "/api/v1/document/12345678/update"],
            ),
            (
                "Extract insert new values",
                attrs!["user_key" => path, "foo" => "casper"],
                attrs![
                    "user_key" => path, "new_user_key" => "12345678", "version" => "v1",
                    "foo" => "casper"
                ],
            ),
            (
                "Extract updates existing values",
                attrs!["user_key" => path, "new_user_key" => "2321", "version" => "na"],
                attrs!["user_key" => path, "new_user_key" => "12345678", "version" => "v1"],
            ),
            (
                "Extract upserts values",
                attrs!["user_key" => path, "new_user_key" => "2321"],
                attrs!["user_key" => path, "new_user_key" => "12345678", "version" => "v1"],
            ),
        ],
    );
    // A group that does not take part in the match is written as "".
    let a = actions(json!([{"key": "k", "pattern": "^(?P<a>x)?(?P<b>y)$", "action": "extract"}]));
    run(
        &a,
        vec![(
            "optional group",
            attrs!["k" => "y"],
            attrs!["k" => "y", "a" => "", "b" => "y"],
        )],
    );
}

#[test]
fn delete_by_key_and_pattern() {
    let a = actions(
        json!([{"key": "duplicate_key", "pattern": "^duplicate_key_.", "action": "delete"}]),
    );
    run(
        &a,
        vec![
            ("DeleteEmptyAttributes", attrs![], attrs![]),
            (
                "DeleteAttributeNoExist",
                attrs!["boo" => "ghosts"],
                attrs!["boo" => "ghosts"],
            ),
            (
                "DeleteAttributeExists",
                attrs!["duplicate_key" => 3245.6, "original_key" => 3245.6],
                attrs!["original_key" => 3245.6],
            ),
            (
                "DeleteAttributeExists by regexp",
                attrs![
                    "duplicate_key_a" => 3245.6, "duplicate_key_b" => 3245.6,
                    "duplicate_key_c" => 3245.6, "original_key" => 3245.6,
                    "not_duplicate_key" => 3246.6
                ],
                attrs!["original_key" => 3245.6, "not_duplicate_key" => 3246.6],
            ),
        ],
    );
    let a = actions(json!([{"pattern": "duplicate.*", "action": "delete"}]));
    run(
        &a,
        vec![
            (
                "pattern only",
                attrs!["duplicate_key" => 1, "original_key" => 2],
                attrs!["original_key" => 2],
            ),
            // With no `key`, an attribute with an empty key is not deleted.
            ("empty key kept", attrs!["" => 1], attrs!["" => 1]),
        ],
    );
}

#[test]
fn hash_each_kind_as_upstream() {
    let a = actions(json!([{"key": "updateme", "pattern": "^updatemeby.*", "action": "hash"}]));
    run(
        &a,
        vec![
            ("HashNoAttributes", attrs![], attrs![]),
            (
                "HashKeyNoExist",
                attrs!["boo" => "foo"],
                attrs!["boo" => "foo"],
            ),
            (
                "HashString",
                attrs!["updateme" => "foo"],
                attrs!["updateme" => sha(b"foo")],
            ),
            (
                "HashInt",
                attrs!["updateme" => 24],
                attrs!["updateme" => sha(&24u64.to_le_bytes())],
            ),
            (
                "HashDouble",
                attrs!["updateme" => 2.4],
                attrs!["updateme" => sha(&2.4f64.to_bits().to_le_bytes())],
            ),
            (
                "HashBoolTrue",
                attrs!["updateme" => true],
                attrs!["updateme" => sha(&[1])],
            ),
            (
                "HashBoolFalse",
                attrs!["updateme" => false],
                attrs!["updateme" => sha(&[0])],
            ),
            (
                "HashRegex",
                attrs!["updatemebyregexp" => false, "donotupdatemebyregexp" => false],
                attrs!["updatemebyregexp" => sha(&[0]), "donotupdatemebyregexp" => false],
            ),
            (
                "HashBytes",
                attrs!["updateme" => bytes([1u8])],
                attrs!["updateme" => ""],
            ),
        ],
    );
    // A key that the pattern also matches is hashed once, not twice.
    let a = actions(json!([{"key": "email", "pattern": "^email$", "action": "hash"}]));
    run(
        &a,
        vec![(
            "once",
            attrs!["email" => "a@b.c"],
            attrs!["email" => sha(b"a@b.c")],
        )],
    );
}

#[test]
fn from_attribute_of_itself_changes_nothing() {
    let a = actions(json!([
        {"key": "boo", "action": "insert", "from_attribute": "boo"},
        {"key": "boo", "action": "update", "from_attribute": "boo"},
        {"key": "boo", "action": "upsert", "from_attribute": "boo"},
    ]));
    run(
        &a,
        vec![(
            "FromAttributeNoChange",
            attrs!["boo" => "ghosts"],
            attrs!["boo" => "ghosts"],
        )],
    );
}

#[test]
fn actions_apply_in_order() {
    let a = actions(json!([
        {"key": "operation", "action": "insert", "value": "default"},
        {"key": "svc.operation", "action": "upsert", "from_attribute": "operation"},
        {"key": "operation", "action": "delete"},
    ]));
    run(
        &a,
        vec![
            (
                "OrderingApplyAllSteps",
                attrs!["foo" => "casper"],
                attrs!["foo" => "casper", "svc.operation" => "default"],
            ),
            (
                "OrderingOperationExists",
                attrs!["foo" => "casper", "operation" => "arithmetic"],
                attrs!["foo" => "casper", "svc.operation" => "arithmetic"],
            ),
            (
                "OrderingSvcOperationExists",
                attrs!["foo" => "casper", "svc.operation" => "some value"],
                attrs!["foo" => "casper", "svc.operation" => "default"],
            ),
            (
                "OrderingBothAttributesExist",
                attrs!["foo" => "casper", "operation" => "arithmetic", "svc.operation" => "add"],
                attrs!["foo" => "casper", "svc.operation" => "arithmetic"],
            ),
        ],
    );
}

#[test]
fn convert_follows_upstream_rules_and_keeps_unconvertible_values() {
    let to = |t: &str| actions(json!([{"key": "k", "action": "convert", "converted_type": t}]));
    run(
        &to("int"),
        vec![
            ("int stays", attrs!["k" => 7], attrs!["k" => 7]),
            ("double truncates", attrs!["k" => 2.9], attrs!["k" => 2]),
            (
                "negative double truncates toward zero",
                attrs!["k" => -2.9],
                attrs!["k" => -2],
            ),
            ("true is 1", attrs!["k" => true], attrs!["k" => 1]),
            ("false is 0", attrs!["k" => false], attrs!["k" => 0]),
            ("decimal string", attrs!["k" => "-123"], attrs!["k" => -123]),
            ("signed string", attrs!["k" => "+5"], attrs!["k" => 5]),
            (
                "float string kept",
                attrs!["k" => "1.5"],
                attrs!["k" => "1.5"],
            ),
            ("text kept", attrs!["k" => "abc"], attrs!["k" => "abc"]),
            (
                "overflow kept",
                attrs!["k" => "9223372036854775808"],
                attrs!["k" => "9223372036854775808"],
            ),
            ("spaces kept", attrs!["k" => " 1"], attrs!["k" => " 1"]),
            (
                "bytes kept",
                attrs!["k" => bytes([1u8])],
                attrs!["k" => bytes([1u8])],
            ),
            (
                "list kept",
                attrs!["k" => array([1])],
                attrs!["k" => array([1])],
            ),
            (
                "absent stays absent",
                attrs!["x" => "1"],
                attrs!["x" => "1"],
            ),
        ],
    );
    run(
        &to("double"),
        vec![
            ("int", attrs!["k" => 3], attrs!["k" => 3.0]),
            ("double stays", attrs!["k" => 3.5], attrs!["k" => 3.5]),
            ("true is 1", attrs!["k" => true], attrs!["k" => 1.0]),
            ("string", attrs!["k" => "2.5e3"], attrs!["k" => 2500.0]),
            ("integer string", attrs!["k" => "-4"], attrs!["k" => -4.0]),
            ("text kept", attrs!["k" => "1.2.3"], attrs!["k" => "1.2.3"]),
            (
                "out of range kept",
                attrs!["k" => "1e400"],
                attrs!["k" => "1e400"],
            ),
            (
                "map kept",
                attrs!["k" => kvlist([("a", 1)])],
                attrs!["k" => kvlist([("a", 1)])],
            ),
        ],
    );
    let inf = {
        let mut v = attrs!["k" => "-Inf"];
        to("double").apply(&mut v, &Metadata::default());
        v
    };
    assert_eq!(inf, attrs!["k" => f64::NEG_INFINITY]);
    run(
        &to("string"),
        vec![
            ("string stays", attrs!["k" => "x"], attrs!["k" => "x"]),
            ("int", attrs!["k" => 42], attrs!["k" => "42"]),
            ("double", attrs!["k" => 1.5], attrs!["k" => "1.5"]),
            ("bool", attrs!["k" => true], attrs!["k" => "true"]),
            (
                "bytes as base64",
                attrs!["k" => bytes([1u8, 2, 3])],
                attrs!["k" => "AQID"],
            ),
            (
                "map as JSON",
                attrs!["k" => kvlist([("b", 1), ("a", 2)])],
                attrs!["k" => r#"{"a":2,"b":1}"#],
            ),
        ],
    );
}

#[test]
fn from_context_reads_request_metadata() {
    let md = Metadata::new(
        Some("192.168.1.1:4711".parse().unwrap()),
        [
            ("source_single_val".to_string(), "single_val".to_string()),
            ("Source_Multiple_Val".to_string(), "first_val".to_string()),
            ("source_multiple_val".to_string(), "second_val".to_string()),
        ],
    );
    let insert =
        |from: &str| actions(json!([{"key": "dest", "action": "insert", "from_context": from}]));
    let cases = [
        ("source", None),
        ("source_single_val", Some("single_val")),
        ("source_multiple_val", Some("first_val;second_val")),
        ("metadata.source_single_val", Some("single_val")),
        ("metadata.SOURCE_SINGLE_VAL", Some("single_val")),
        ("client.address", Some("192.168.1.1")),
    ];
    for (from, want) in cases {
        let want = match want {
            Some(v) => attrs!["dest" => v],
            None => attrs![],
        };
        run_with(&insert(from), &md, vec![(from, attrs![], want)]);
    }
    // No metadata at all: nothing to insert.
    run(
        &insert("metadata.source_single_val"),
        vec![("no_metadata", attrs![], attrs![])],
    );
    run(
        &insert("client.address"),
        vec![("no address", attrs![], attrs![])],
    );
}

#[test]
fn default_value_fills_in_for_a_missing_source() {
    let a = actions(json!([
        {"key": "region", "from_attribute": "cloud.region", "default_value": "us-east-1", "action": "insert"},
        {"key": "tenant", "from_context": "metadata.x-tenant", "default_value": "default-tenant", "action": "upsert"},
        {"key": "only_default", "default_value": 7, "action": "upsert"},
    ]));
    run(
        &a,
        vec![
            (
                "defaults",
                attrs![],
                attrs!["region" => "us-east-1", "tenant" => "default-tenant", "only_default" => 7],
            ),
            (
                "sources win",
                attrs!["cloud.region" => "eu-west-1"],
                attrs![
                    "cloud.region" => "eu-west-1", "region" => "eu-west-1",
                    "tenant" => "default-tenant", "only_default" => 7
                ],
            ),
        ],
    );
    let md = Metadata::new(None, [("x-tenant".to_string(), "acme".to_string())]);
    run_with(
        &a,
        &md,
        vec![(
            "header",
            attrs![],
            attrs!["region" => "us-east-1", "tenant" => "acme", "only_default" => 7],
        )],
    );
}

#[test]
fn values_keep_their_yaml_types() {
    let a = actions(json!([
        {"key": "s", "action": "insert", "value": "x"},
        {"key": "i", "action": "insert", "value": 2245},
        {"key": "d", "action": "insert", "value": 1.5},
        {"key": "b", "action": "insert", "value": true},
        {"key": "l", "action": "insert", "value": [1, "a"]},
        {"key": "m", "action": "insert", "value": {"k": "v"}},
    ]));
    let mut got = attrs![];
    a.apply(&mut got, &Metadata::default());
    let list = AnyValue {
        value: Some(V::ArrayValue(stratus_core::pdata::common::ArrayValue {
            values: vec![1.into_any_value(), "a".into_any_value()],
        })),
    };
    assert_eq!(
        got,
        attrs![
            "s" => "x", "i" => 2245, "d" => 1.5, "b" => true, "l" => list,
            "m" => kvlist([("k", "v")])
        ]
    );
}

#[test]
fn action_names_are_case_insensitive() {
    let a = actions(json!([
        {"key": "one", "action": "Delete"},
        {"key": "two", "value": 123, "action": "INSERT"},
        {"key": "three", "from_attribute": "two", "action": "upDaTE"},
        {"key": "five", "from_attribute": "two", "action": "upsert"},
        {"key": "two", "pattern": "^/api/v1/document/(?P<documentId>.*)/update$", "action": "EXTRact"},
    ]));
    assert_eq!(a.len(), 5);
    run(
        &a,
        vec![(
            "valid configuration",
            attrs!["one" => 1, "three" => 0],
            attrs!["two" => 123, "three" => 123, "five" => 123],
        )],
    );
}

/// Upstream's `TestInvalidConfig` cases, each reported at its key path; and every
/// problem of a list is reported, not only the first.
#[test]
fn invalid_configs_are_reported_at_their_key_paths() {
    let cases: Vec<(serde_json::Value, &str, &str)> = vec![
        (
            json!([{"key": "one", "action": "delete"}, {"key": "", "value": 123, "action": "upsert"}]),
            "actions[1]::key",
            "required for action `upsert`",
        ),
        (
            json!([{"key": "invalid", "action": "invalid"}]),
            "actions[0]::action",
            "unsupported action `invalid`",
        ),
        (json!([{"key": "k"}]), "actions[0]::action", "required"),
        (
            json!([{"key": "MissingValueFromAttributes", "action": "insert"}]),
            "actions[0]::value",
            "needs one of `value`, `from_attribute`, `from_context` or `default_value`",
        ),
        (
            json!([{"key": "BothSet", "value": 123, "from_attribute": "aa", "action": "upsert"}]),
            "actions[0]::from_attribute",
            "only one of",
        ),
        (
            json!([{"key": "key", "pattern": "(?P<operation_website>.*?)$", "from_attribute": "aa", "action": "insert"}]),
            "actions[0]::pattern",
            "action `insert` does not use `pattern`",
        ),
        (
            json!([{"key": "k", "value": 1, "converted_type": "int", "action": "update"}]),
            "actions[0]::converted_type",
            "does not use `converted_type`",
        ),
        (
            json!([{"key": "aa", "action": "extract"}]),
            "actions[0]::pattern",
            "required for action `extract`",
        ),
        (
            json!([{"key": "Key", "pattern": "(?P<operation_website>.*?)$", "value": "value", "action": "extract"}]),
            "actions[0]::value",
            "action `extract` does not use `value`",
        ),
        (
            json!([{"key": "key", "pattern": "(?P<operation_website>.*?)$", "from_attribute": "aa", "action": "extract"}]),
            "actions[0]::from_attribute",
            "does not use `from_attribute`",
        ),
        (
            json!([{"key": "aa", "pattern": "(?P<name.*?)$", "action": "extract"}]),
            "actions[0]::pattern",
            "invalid regular expression",
        ),
        (
            json!([{"key": "aa", "pattern": ".*$", "action": "extract"}]),
            "actions[0]::pattern",
            "contains no named capture groups",
        ),
        (
            json!([{"key": "aa", "pattern": "^\\/api\\/v1\\/document\\/(?P<new_user_key>.*)\\/update\\/(.*)$", "action": "extract"}]),
            "actions[0]::pattern",
            "contains an unnamed capture group",
        ),
        (
            json!([{"action": "delete"}]),
            "actions[0]::key",
            "needs `key`, `pattern` or both",
        ),
        (
            json!([{"action": "hash", "key": "k", "value": "x"}]),
            "actions[0]::value",
            "action `hash` does not use `value`",
        ),
        (
            json!([{"action": "hash", "pattern": "("}]),
            "actions[0]::pattern",
            "invalid regular expression",
        ),
        (
            json!([{"action": "convert", "key": "k"}]),
            "actions[0]::converted_type",
            "required for action `convert`",
        ),
        (
            json!([{"action": "convert", "key": "k", "converted_type": "float"}]),
            "actions[0]::converted_type",
            "invalid value `float`: expected int, double or string",
        ),
        (
            json!([{"action": "convert", "key": "k", "converted_type": "int", "pattern": "x"}]),
            "actions[0]::pattern",
            "does not use `pattern`",
        ),
        (
            json!([{"action": "insert", "key": "k", "from_context": "auth.subject"}]),
            "actions[0]::from_context",
            "`auth.*` context values are not supported",
        ),
        (
            json!([{"action": "insert", "key": "k", "from_context": "metadata."}]),
            "actions[0]::from_context",
            "needs a header name",
        ),
        (
            json!([{"action": "delete", "key": "k", "default_value": 1}]),
            "actions[0]::default_value",
            "does not use `default_value`",
        ),
    ];
    for (config, path, message) in cases {
        let got = problems(config.clone());
        assert!(
            got.iter().any(|(p, m)| p == path && m.contains(message)),
            "{config}: want `{path}: ...{message}...`, got {got:?}"
        );
    }
    let all = problems(json!([
        {"key": "a", "action": "insert", "value": 1},
        {"key": "b", "action": "insert"},
        {"key": "c", "action": "insert", "value": 2},
        {"key": "d", "action": "bogus"},
    ]));
    let paths: Vec<&str> = all.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["actions[1]::value", "actions[3]::action"]);
}

#[test]
fn nothing_is_recorded_when_no_action_applies() {
    let a = actions(json!([
        {"key": "present", "action": "insert", "value": 1},
        {"key": "absent", "action": "update", "value": 1},
        {"key": "absent", "action": "hash"},
        {"pattern": "^secret", "action": "delete"},
        {"key": "present", "action": "convert", "converted_type": "int"},
        {"key": "present", "pattern": "^(?P<x>z)$", "action": "extract"},
    ]));
    let input = attrs!["present" => 5, "other" => "y"];
    let mut got = input.clone();
    let mut calls = 0;
    a.apply_recording(&mut got, &Metadata::default(), &mut |_| calls += 1);
    assert_eq!((got, calls), (input, 0));
}

#[test]
fn reverting_restores_order_and_values_exactly() {
    let a = actions(json!([
        {"key": "b", "action": "hash"},
        {"pattern": "^x", "action": "delete"},
        {"key": "new", "value": 1, "action": "insert"},
        {"key": "d", "action": "upsert", "value": "D"},
        {"key": "c", "action": "convert", "converted_type": "int"},
        {"key": "b", "action": "delete"},
        {"key": "path", "pattern": "^/(?P<p1>\\w+)/(?P<new>\\w+)$", "action": "extract"},
    ]));
    let input = attrs![
        "x1" => 1, "b" => "secret", "x2" => 2, "c" => "42", "d" => "old", "x3" => 3,
        "path" => "/a/b"
    ];
    let mut got = input.clone();
    let mut changes = Vec::new();
    a.apply_recording(&mut got, &Metadata::default(), &mut |c| changes.push(c));
    assert_eq!(
        got,
        attrs!["c" => 42, "d" => "D", "path" => "/a/b", "new" => "b", "p1" => "a"]
    );
    for c in changes.into_iter().rev() {
        c.revert(&mut got);
    }
    assert_eq!(got, input);
}
