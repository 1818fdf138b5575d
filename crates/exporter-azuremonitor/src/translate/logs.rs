//! Log records → Message, Exception (with `exception.*`) or Event (custom events).

use super::attrs::{self, get_str, truncate};
use super::common::{self, tag};
use super::spans::exception;
use super::{Output, TranslatorConfig};
use crate::envelope::{BaseData, DOMAIN_VERSION, EventData, MessageData, StrMap};
use stratus_core::pdata::common::{AnyValue, InstrumentationScope, any_value::Value};
use stratus_core::pdata::logs::LogRecord;

/// Attribute naming a custom event.
pub const CUSTOM_EVENT_NAME: &str = "microsoft.custom_event.name";
/// Legacy marker of a custom event.
pub const EVENT_MARKER: &str = "APPLICATION_INSIGHTS_EVENT_MARKER_ATTRIBUTE";

/// Attributes the mapping consumes (never properties).
const IGNORED: &[&str] = &[
    CUSTOM_EVENT_NAME,
    EVENT_MARKER,
    attrs::CUSTOM_MEASUREMENTS,
    "microsoft.availability.id",
    "microsoft.availability.name",
    "microsoft.availability.duration",
    "microsoft.availability.success",
    "microsoft.availability.runLocation",
    "microsoft.availability.message",
    "enduser.id",
    "enduser.pseudo.id",
    "session.id",
];

/// Exception attributes, consumed when the record becomes an Exception.
const EXCEPTION_ATTRS: &[&str] = &[
    "exception.type",
    "exception.message",
    "exception.stacktrace",
    "exception.escaped",
];

/// Application Insights severity: 0 Verbose (TRACE, DEBUG, unset), 1 Information,
/// 2 Warning, 3 Error, 4 Critical.
pub fn severity_level(severity_number: i32) -> u8 {
    if severity_number < 9 {
        0
    } else {
        (((severity_number - 1) / 4 - 1).clamp(0, 4)) as u8
    }
}

/// A log body as message text: strings as is, other values as JSON, nothing as "".
fn body_text(body: Option<&AnyValue>) -> String {
    match body.and_then(|b| b.value.as_ref()) {
        None => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(v) => serde_json::to_string(&attrs::value_to_json(v)).unwrap_or_default(),
    }
}

/// Translates one log record into `out`.
pub fn translate_log(
    config: &TranslatorConfig,
    resource_tags: &StrMap,
    scope: Option<&InstrumentationScope>,
    record: &LogRecord,
    out: &mut Output,
) -> Result<(), String> {
    let a = record.attributes.as_slice();
    let time = if record.time_unix_nano != 0 {
        record.time_unix_nano
    } else if record.observed_time_unix_nano != 0 {
        record.observed_time_unix_nano
    } else {
        return Err("log record has neither a time nor an observed time".to_owned());
    };
    let mut tags = resource_tags.clone();
    let trace_id = if record.trace_id.is_empty() {
        "0".repeat(32)
    } else {
        common::trace_id_hex(&record.trace_id)?
    };
    tags.insert(tag::OPERATION_ID, trace_id);
    common::user_tags(&mut tags, a);
    let span_id = if record.span_id.is_empty() {
        "0".repeat(16)
    } else {
        common::span_id_hex(&record.span_id)?
    };
    tags.insert(tag::PARENT_ID, span_id);
    if let Some(name) = get_str(a, tag::OPERATION_NAME) {
        tags.insert(tag::OPERATION_NAME, name);
    }
    if common::is_synthetic(a) {
        tags.insert(tag::SYNTHETIC, "True");
    }
    if let Some(ip) = common::location_ip(a) {
        tags.insert(tag::LOCATION_IP, ip);
    }
    let is_exception = config.exception_events_enabled
        && (attrs::has(a, "exception.type") || attrs::has(a, "exception.message"));
    let is_event = config.custom_events_enabled
        && (attrs::has(a, CUSTOM_EVENT_NAME) || attrs::has(a, EVENT_MARKER));
    let mut properties = StrMap::new();
    attrs::properties_into(&mut properties, a, |k| {
        !(IGNORED.contains(&k) || (is_exception && EXCEPTION_ATTRS.contains(&k)))
    });
    if let Some(scope) = scope
        && !scope.name.is_empty()
    {
        properties.insert_if_absent("logger_name", scope.name.clone());
    }
    let measurements = attrs::measurements(a);
    let severity = severity_level(record.severity_number);
    let body = body_text(record.body.as_ref());
    let data = if is_exception {
        let message = (!body.is_empty()).then_some(body);
        BaseData::Exception(exception(
            a,
            Some(severity),
            message,
            properties,
            measurements,
        ))
    } else if is_event {
        let name = get_str(a, CUSTOM_EVENT_NAME).unwrap_or(body);
        BaseData::Event(EventData {
            ver: DOMAIN_VERSION,
            name: truncate(name, 512),
            properties,
            measurements,
        })
    } else {
        let message = body.trim();
        let message = if message.is_empty() { "n/a" } else { message };
        BaseData::Message(MessageData {
            ver: DOMAIN_VERSION,
            message: truncate(message.to_owned(), 32768),
            severity_level: Some(severity),
            properties,
            measurements,
        })
    };
    out.push(config, tags, time, None, data);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_follow_the_otel_ranges() {
        let got: Vec<u8> = [0, 1, 8, 9, 12, 13, 16, 17, 20, 21, 24]
            .into_iter()
            .map(severity_level)
            .collect();
        assert_eq!(got, [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    }
}
