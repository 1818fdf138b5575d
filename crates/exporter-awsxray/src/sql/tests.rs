//! Ported from upstream `sql_test.go` (both its v1.12 and its v1.38 version): the
//! span's attributes in, the `sql` block out, and what stays for metadata.

use serde_json::{Value, json};
use stratus_core::pdata::common::KeyValue;
use stratus_testkit::otlp::{SpanKind, StatusCode, kv};

use super::*;
use crate::test_support::make_span;

/// `constructSQLSpan` then `makeSQL`.
fn sql_of(attrs: Vec<KeyValue>) -> (Option<Value>, Vec<String>) {
    let span = make_span(
        SpanKind::Client,
        Some(9),
        "users.findUnique",
        StatusCode::Unset,
        "OK",
        attrs,
    );
    let view = SpanView::new(&span);
    let mut pool = Pool::new(&view);
    let sql = make_sql(&view, &mut pool).map(|s| serde_json::to_value(s).unwrap());
    (
        sql,
        pool.iter(&span).map(|(_, kv)| kv.key.clone()).collect(),
    )
}

/// (upstream test, attributes, expected block, left for metadata).
type SqlCase<'a> = (&'a str, Vec<KeyValue>, Option<Value>, &'a [&'a str]);

#[test]
fn sql_blocks_from_old_and_new_conventions() {
    // (upstream test, attributes, expected block, left for metadata)
    let cases: Vec<SqlCase<'_>> = vec![
        (
            "TestClientSpanWithStatementAttribute",
            vec![
                kv("db.system", "mysql"),
                kv("db.name", "customers"),
                kv("db.statement", "SELECT * FROM user WHERE user_id = ?"),
                kv("db.user", "readonly_user"),
                kv("db.connection_string", "mysql://db.example.com:3306"),
                kv("net.peer.name", "db.example.com"),
                kv("net.peer.port", "3306"),
            ],
            Some(json!({
                "connection_string": "mysql://db.example.com:3306/customers",
                "url": "users.findUnique",
                "sanitized_query": "SELECT * FROM user WHERE user_id = ?",
                "database_type": "mysql",
                "user": "readonly_user",
            })),
            &["net.peer.name", "net.peer.port"],
        ),
        (
            "TestClientSpanWithStatementAttribute (v1.38 keys)",
            vec![
                kv("db.system.name", "mysql"),
                kv("db.namespace", "customers"),
                kv("db.query.text", "SELECT * FROM user WHERE user_id = ?"),
                kv("user.name", "readonly_user"),
                kv("server.address", "db.example.com"),
            ],
            Some(json!({
                // Upstream's EmitV1DBConventions reads no connection string from v1.38.
                "connection_string": "localhost/customers",
                "url": "users.findUnique",
                "sanitized_query": "SELECT * FROM user WHERE user_id = ?",
                "database_type": "mysql",
                "user": "readonly_user",
            })),
            &["server.address"],
        ),
        (
            "TestClientSpanWithNonSQLDatabase",
            vec![
                kv("db.system", "redis"),
                kv("db.name", "0"),
                kv("db.statement", "SET key value"),
                kv("db.user", "readonly_user"),
                kv("db.connection_string", "redis://db.example.com:3306"),
            ],
            None,
            &[
                "db.system",
                "db.name",
                "db.statement",
                "db.user",
                "db.connection_string",
            ],
        ),
        (
            "TestClientSpanWithNonSQLDatabase (v1.38 keys)",
            vec![
                kv("db.system.name", "redis"),
                kv("db.namespace", "0"),
                kv("db.query.text", "SET key value"),
                kv("user.name", "readonly_user"),
            ],
            None,
            &[
                "db.system.name",
                "db.namespace",
                "db.query.text",
                "user.name",
            ],
        ),
        (
            "TestClientSpanWithoutDBurlAttribute",
            vec![
                kv("db.system", "postgresql"),
                kv("db.name", "customers"),
                kv("db.statement", "SELECT * FROM user WHERE user_id = ?"),
                kv("db.user", "readonly_user"),
                kv("db.connection_string", ""),
            ],
            Some(json!({
                "connection_string": "localhost/customers",
                "url": "users.findUnique",
                "sanitized_query": "SELECT * FROM user WHERE user_id = ?",
                "database_type": "postgresql",
                "user": "readonly_user",
            })),
            &[],
        ),
        (
            "v1.38 system names",
            vec![kv("db.system.name", "microsoft.sql_server")],
            Some(json!({
                "connection_string": "localhost/",
                "url": "users.findUnique",
                "database_type": "microsoft.sql_server",
            })),
            &[],
        ),
        (
            "the later of an old and a new key wins",
            vec![
                kv("db.system", "mysql"),
                kv("db.namespace", "new"),
                kv("db.name", "old"),
            ],
            Some(json!({
                "connection_string": "localhost/old",
                "url": "users.findUnique",
                "database_type": "mysql",
            })),
            &[],
        ),
        (
            "no database attributes",
            vec![kv("http.method", "GET")],
            None,
            &["http.method"],
        ),
    ];
    for (name, attrs, expected, left) in cases {
        let (sql, rest) = sql_of(attrs);
        assert_eq!(sql, expected, "{name}");
        assert_eq!(rest, left, "{name}: left for metadata");
    }
}
