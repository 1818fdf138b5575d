//! The `sql` block.
//!
//! Upstream `internal/translator/sql.go` `makeSQL` as of v0.147, read with both
//! conventions on (`exporter.awsxray.EmitV1DBConventions` enabled,
//! `DontEmitV0DBConventions` not): the old keys `db.system`, `db.name`,
//! `db.statement`, `db.user`, `db.connection_string` and the new `db.system.name`,
//! `db.namespace`, `db.query.text`, `user.name`. Upstream's default reads only the
//! old ones; the issue asks for both. Where an old and a new key set the same field,
//! the later attribute wins.
//!
//! The block is written only for SQL databases; then its attributes leave the pool.
//! Otherwise they stay and end up in metadata.

use std::borrow::Cow;

use crate::attrs::{Pool, SpanView, non_empty, str_of, value_of};
use crate::model::Sql;

/// Builds the `sql` block for a SQL database span.
pub(crate) fn make_sql<'a>(view: &SpanView<'a>, pool: &mut Pool) -> Option<Sql<'a>> {
    let span = view.span;
    let (mut connection, mut system, mut instance, mut statement, mut user) = ("", "", "", "", "");
    let mut claimed = Vec::new();
    for (i, kv) in pool.iter(span) {
        let s = str_of(value_of(kv));
        match kv.key.as_str() {
            "db.connection_string" => connection = s,
            "db.system" | "db.system.name" => system = s,
            "db.name" | "db.namespace" => instance = s,
            "db.statement" | "db.query.text" => statement = s,
            "db.user" | "user.name" => user = s,
            _ => continue,
        }
        claimed.push(i);
    }
    if !is_sql(system) {
        // No database attributes, or not a SQL database.
        return None;
    }
    for i in claimed {
        pool.take(i);
    }
    // The connection string as given (or localhost), then `/` and the database.
    let connection = format!(
        "{}/{}",
        if connection.is_empty() {
            "localhost"
        } else {
            connection
        },
        instance
    );
    Some(Sql {
        connection_string: Some(connection),
        // Despite what the X-Ray documents say, the connection string is not useful
        // as the URL: upstream uses the span name.
        url: non_empty(&span.name),
        sanitized_query: non_empty(statement).map(Cow::Borrowed),
        database_type: non_empty(system),
        user: non_empty(user),
    })
}

/// `isSQL`: the semconv v1.12 and v1.38 names of SQL database systems.
fn is_sql(system: &str) -> bool {
    matches!(
        system,
        // v1.12.0 names.
        "db2" | "mssql" | "oracle"
        // In both v1.12.0 and v1.38.0.
        | "derby" | "hive" | "mariadb" | "mysql" | "other_sql" | "postgresql" | "sqlite"
        | "teradata"
        // v1.38.0 names.
        | "ibm.db2" | "microsoft.sql_server" | "oracle.db"
    )
}

#[cfg(test)]
mod tests;
