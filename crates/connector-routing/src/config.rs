//! The `routing` connector's config, with upstream's keys.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use stratus_core::Signal;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_ottl::{Condition, Context, ErrorMode, ParseError};

/// The `routing` connector's config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// The routes, in order; each item goes to the first route whose condition holds.
    /// Required: at least one route.
    pub table: Vec<Route>,
    /// Pipelines for the items no route matches. Default: none (such items are dropped
    /// and counted).
    pub default_pipelines: Vec<String>,
    /// What a condition that fails to evaluate does: `propagate` (the batch is refused
    /// with a permanent error), `ignore` (logged; the item goes to `default_pipelines`)
    /// or `silent` (the same, not logged). Default `ignore`, upstream's current
    /// default.
    pub error_mode: ErrorMode,
    /// Upstream's `match_once`, removed in v0.120.0. Rejected with an explanation.
    /// Default: absent.
    pub match_once: Option<Value>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            table: Vec::new(),
            default_pipelines: Vec::new(),
            error_mode: ErrorMode::Ignore,
            match_once: None,
        }
    }
}

/// One route of the table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouteFields {
    /// The context the condition is evaluated in: `resource` (whole resources),
    /// `span`, `log`, `metric`, `datapoint` (single items, split off with their
    /// resource and scope) or `request` (the whole batch, by its request metadata).
    /// Default `resource`.
    pub context: Context,
    /// The condition, in the OTTL subset of `stratus-ottl`. This or `statement` is
    /// required; `request` routes need a condition of the form
    /// `request["key"] == "value"`. Default: none.
    pub condition: String,
    /// The condition as an OTTL statement, `route() where <condition>` (or `route()`,
    /// which always matches). Not for `request` routes. Default: none.
    pub statement: String,
    /// Pipelines the matching items go to. Required: at least one.
    pub pipelines: Vec<String>,
}

impl Default for RouteFields {
    fn default() -> Self {
        RouteFields {
            context: Context::Resource,
            condition: String::new(),
            statement: String::new(),
            pipelines: Vec::new(),
        }
    }
}

/// One route of the table: the fields of [`RouteFields`]. Upstream's newer string form
/// (`- 'route(["traces/eu"]) where ...'`) is rejected with a message showing the map
/// form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Route(pub RouteFields);

impl<'de> Deserialize<'de> for Route {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RouteVisitor;
        impl<'de> Visitor<'de> for RouteVisitor {
            type Value = Route;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a route: {context, condition, pipelines}")
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Route, E> {
                Err(E::custom(
                    "the string form of a route (`route([\"pipeline\"]) where ...`) is not \
                     supported; write {condition: '<condition>', pipelines: [<pipeline>]}",
                ))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Route, A::Error> {
                RouteFields::deserialize(de::value::MapAccessDeserializer::new(map)).map(Route)
            }
        }
        d.deserialize_any(RouteVisitor)
    }
}

/// The contexts a route may use.
const CONTEXTS: &str = "resource, span, metric, datapoint, log, request";

/// Whether `id` is a pipeline id: `traces`, `metrics` or `logs`, optionally `/name`.
pub(crate) fn is_pipeline_id(id: &str) -> bool {
    let (ty, name) = match id.split_once('/') {
        Some((ty, name)) => (ty, Some(name)),
        None => (id, None),
    };
    ty.parse::<Signal>().is_ok()
        && name.is_none_or(|n| {
            !n.is_empty() && !n.contains('/') && !n.chars().any(char::is_whitespace)
        })
}

/// A route's condition, parsed: `None` for `route()` with no `where`, which always
/// matches. The error's path is the route's `condition` or `statement` key.
pub(crate) fn route_condition(
    route: &RouteFields,
) -> Result<Option<Condition>, (&'static str, String)> {
    let ctx = route.context;
    let has_condition = !route.condition.trim().is_empty();
    let has_statement = !route.statement.trim().is_empty();
    match (has_condition, has_statement) {
        (true, true) => Err((
            "statement",
            "give either `condition` or `statement`, not both".to_string(),
        )),
        (false, false) => Err((
            "condition",
            "required: the condition that selects this route's items, e.g. \
             'resource.attributes[\"cloud.region\"] == \"eu-west-1\"' (or a `statement`, \
             'route() where <condition>')"
                .to_string(),
        )),
        (true, false) => Condition::parse(&route.condition, ctx)
            .map(Some)
            .map_err(|e| ("condition", e.to_string())),
        (false, true) if ctx == Context::Request => Err((
            "statement",
            "the request context takes a `condition` (request[\"key\"] == \"value\"), not a \
             statement"
                .to_string(),
        )),
        (false, true) => {
            parse_statement(&route.statement, ctx).map_err(|e| ("statement", e.to_string()))
        }
    }
}

/// Parses `route()` or `route() where <condition>`; columns count from the start of the
/// statement.
fn parse_statement(text: &str, ctx: Context) -> Result<Option<Condition>, ParseError> {
    let err = |column: usize, message: &str| ParseError {
        column,
        message: message.to_string(),
    };
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while chars.get(*i).is_some_and(|c| c.is_whitespace()) {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    let word: String = chars[i..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
        .collect();
    if word != "route" {
        return Err(err(
            i + 1,
            "expected a statement of the form `route() where <condition>` (or write the \
             condition under `condition`)",
        ));
    }
    i += word.len();
    skip_ws(&mut i);
    if chars.get(i) != Some(&'(') {
        return Err(err(i + 1, "expected \"(\" after route"));
    }
    i += 1;
    skip_ws(&mut i);
    if chars.get(i) != Some(&')') {
        return Err(err(
            i + 1,
            "route(...) with pipelines in it is not supported: write route() and list the \
             pipelines under `pipelines`",
        ));
    }
    i += 1;
    let after_call = i;
    skip_ws(&mut i);
    if i == chars.len() {
        return Ok(None);
    }
    let word: String = chars[i..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
        .collect();
    if word != "where" || i == after_call {
        return Err(err(
            i + 1,
            "expected \"where\" and a condition after route(), or the end of the statement",
        ));
    }
    i += word.len();
    let rest: String = chars[i..].iter().collect();
    Condition::parse(&rest, ctx)
        .map(Some)
        .map_err(|e| e.shifted(i))
}

impl Validate for RoutingConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.match_once.is_some() {
            problems.push(ConfigProblem::new(
                "match_once",
                "removed upstream in v0.120.0: each item goes to the first route that matches \
                 it; to send an item to several pipelines, list them in one route's \
                 `pipelines`, or use several routing connectors",
            ));
        }
        if self.table.is_empty() {
            problems.push(ConfigProblem::new(
                "table",
                "required: list at least one route, e.g. [{condition: \
                 'resource.attributes[\"cloud.region\"] == \"eu-west-1\"', pipelines: \
                 [traces/eu]}]",
            ));
        }
        for (i, Route(route)) in self.table.iter().enumerate() {
            let at = |key: &str| format!("table[{i}]::{key}");
            if route.context == Context::SpanEvent {
                problems.push(ConfigProblem::new(
                    at("context"),
                    format!(
                        "the routing connector does not route by span event; use one of {CONTEXTS}"
                    ),
                ));
            } else if let Err((key, message)) = route_condition(route) {
                problems.push(ConfigProblem::new(at(key), message));
            }
            if route.pipelines.is_empty() {
                problems.push(ConfigProblem::new(
                    at("pipelines"),
                    "required: the pipelines this route's items go to, e.g. [traces/eu]",
                ));
            }
            check_ids(&route.pipelines, &at("pipelines"), &mut problems);
        }
        check_ids(&self.default_pipelines, "default_pipelines", &mut problems);
        problems
    }
}

fn check_ids(ids: &[String], path: &str, problems: &mut Vec<ConfigProblem>) {
    for (j, id) in ids.iter().enumerate() {
        if !is_pipeline_id(id) {
            problems.push(ConfigProblem::new(
                format!("{path}[{j}]"),
                format!(
                    "`{id}` is not a pipeline id: expected `traces`, `metrics` or `logs`, \
                     optionally followed by `/name`"
                ),
            ));
        } else if ids[..j].contains(id) {
            problems.push(ConfigProblem::new(
                format!("{path}[{j}]"),
                format!("pipeline `{id}` is listed more than once"),
            ));
        }
    }
}
