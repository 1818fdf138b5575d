//! `error`, `fault`, `throttle` and the `cause` block.
//!
//! Upstream `internal/translator/cause.go` `makeCause` and `parseException`:
//! - `cause` lists one exception per span event named `exception`
//!   (`exception.type`, `.message`, `.stacktrace`), or, for an AWS SDK span
//!   (`rpc.system: aws-api`), per `HTTP request failure` event; its stack trace is
//!   parsed by the resource's `telemetry.sdk.language` (java, python, javascript,
//!   dotnet, php as java, go). Exceptions are `remote` for client and producer spans.
//! - Without such events, an error status gives one exception with the status
//!   message (or `http.status_text`, which is then kept out of metadata).
//! - `http.status_code` (else `http.response.status_code`) 400–499 is `error` (429
//!   also `throttle`), 500–599 is `fault`; without a code in those ranges an error
//!   status is `fault`.
//!
//! The stack parsers are ports of upstream's, line for line, including what they
//! skip; where upstream would panic on a malformed line (slicing past its end) this
//! port reads an empty string instead.

use std::borrow::Cow;

use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::span::SpanKind;
use stratus_core::pdata::trace::status::StatusCode;

use crate::attrs::{Pool, SpanView, as_string, get, int_of, resource_attrs, str_of, value_of};
use crate::model::{Cause, Exception, StackFrame};
use crate::trace_id::IdGen;

/// Span event name of a recorded exception.
pub const EXCEPTION_EVENT_NAME: &str = "exception";
/// Span event name of one failed HTTP attempt of an AWS SDK call.
pub const AWS_INDIVIDUAL_HTTP_EVENT_NAME: &str = "HTTP request failure";
/// Exception type written for an [`AWS_INDIVIDUAL_HTTP_EVENT_NAME`] event.
pub const AWS_INDIVIDUAL_HTTP_ERROR_EVENT_TYPE: &str = "aws.http.error.event";
/// Attribute of an [`AWS_INDIVIDUAL_HTTP_EVENT_NAME`] event holding the message.
pub const AWS_INDIVIDUAL_HTTP_ERROR_MSG_ATTR: &str = "aws.http.error_message";

/// What `makeCause` returns besides the filtered attributes.
#[derive(Debug, Default)]
pub(crate) struct CauseOut<'a> {
    pub error: bool,
    pub fault: bool,
    pub throttle: bool,
    pub cause: Option<Cause<'a>>,
}

/// Builds the error flags and the `cause` block.
pub(crate) fn make_cause<'a>(
    view: &SpanView<'a>,
    pool: &mut Pool,
    resource: Option<&'a Resource>,
    ids: &mut IdGen,
) -> CauseOut<'a> {
    let span = view.span;
    let status_code = span
        .status
        .as_ref()
        .map_or(StatusCode::Unset as i32, |s| s.code);
    let is_error_status = status_code == StatusCode::Error as i32;
    let aws_sdk = view.is_aws_sdk();

    let has_exceptions = span.events.iter().any(|e| {
        e.name == EXCEPTION_EVENT_NAME || (aws_sdk && e.name == AWS_INDIVIDUAL_HTTP_EVENT_NAME)
    });

    let cause = if has_exceptions {
        let language = get(resource_attrs(resource), "telemetry.sdk.language").map_or("", str_of);
        let remote = matches!(view.kind(), SpanKind::Client | SpanKind::Producer);
        let mut exceptions = Vec::new();
        for event in &span.events {
            if event.name == EXCEPTION_EVENT_NAME {
                let attr = |k| get(&event.attributes, k).map_or("", str_of);
                exceptions.extend(parse_exception(
                    attr("exception.type"),
                    attr("exception.message"),
                    attr("exception.stacktrace"),
                    remote,
                    language,
                    ids,
                ));
            } else if aws_sdk && event.name == AWS_INDIVIDUAL_HTTP_EVENT_NAME {
                let code = get(&event.attributes, "http.response.status_code");
                let message = get(&event.attributes, AWS_INDIVIDUAL_HTTP_ERROR_MSG_ATTR);
                if let (Some(code), Some(message)) = (code, message) {
                    // code@seconds.micros@message, the time from the event in µs.
                    let micros = event.time_unix_nano / 1_000;
                    let message = format!(
                        "{}@{}.{:06}@{}",
                        as_string(code),
                        micros / 1_000_000,
                        micros % 1_000_000,
                        str_of(message)
                    );
                    exceptions.push(Exception {
                        id: ids.next_hex(),
                        message: Some(Cow::Owned(message)),
                        exception_type: Some(Cow::Borrowed(AWS_INDIVIDUAL_HTTP_ERROR_EVENT_TYPE)),
                        remote: Some(true),
                        truncated: None,
                        cause: None,
                        stack: Vec::new(),
                    });
                }
            }
        }
        Some(Cause { exceptions })
    } else if !is_error_status {
        None
    } else {
        // No exception events: the OpenCensus-era behaviour, the status message.
        let mut message: &'a str = span.status.as_ref().map_or("", |s| s.message.as_str());
        for (i, kv) in view.attrs() {
            if kv.key == "http.status_text" && pool.is_free(i) {
                if message.is_empty() {
                    message = str_of(value_of(kv));
                }
                pool.take(i);
            }
        }
        (!message.is_empty()).then(|| Cause {
            exceptions: vec![Exception {
                id: ids.next_hex(),
                message: Some(Cow::Borrowed(message)),
                exception_type: Some(Cow::Borrowed("")),
                remote: None,
                truncated: None,
                cause: None,
                stack: Vec::new(),
            }],
        })
    };

    // The status of an HTTP span comes from its status code: some instrumentation
    // sets the code but never the span status.
    let code = view
        .get("http.status_code")
        .or_else(|| view.get("http.response.status_code"))
        .map(int_of);
    let mut out = CauseOut {
        cause,
        ..CauseOut::default()
    };
    match code {
        Some(c @ 400..=499) => {
            out.error = true;
            out.throttle = c == 429;
        }
        Some(500..=599) => out.fault = true,
        _ => out.fault = is_error_status,
    }
    out
}

/// `parseException`: the exception itself, then the causes found in its stack trace.
pub(crate) fn parse_exception<'a>(
    exception_type: &'a str,
    message: &'a str,
    stacktrace: &'a str,
    remote: bool,
    language: &str,
    ids: &mut IdGen,
) -> Vec<Exception<'a>> {
    let mut exceptions = vec![Exception {
        id: ids.next_hex(),
        message: Some(Cow::Borrowed(message)),
        exception_type: Some(Cow::Borrowed(exception_type)),
        remote: Some(remote),
        truncated: None,
        cause: None,
        stack: Vec::new(),
    }];
    if stacktrace.is_empty() {
        return exceptions;
    }
    match language {
        // The PHP SDK formats stack traces exactly like Java.
        "java" | "php" => fill_java(stacktrace, &mut exceptions, remote, ids),
        "python" => fill_python(stacktrace, &mut exceptions, remote, ids),
        "javascript" => fill_javascript(stacktrace, &mut exceptions),
        "dotnet" => fill_dotnet(stacktrace, &mut exceptions),
        "go" => fill_go(stacktrace, &mut exceptions),
        _ => {}
    }
    exceptions
}

/// A cause exception with no stack yet.
fn cause_exception<'a>(
    exception_type: &'a str,
    message: Cow<'a, str>,
    remote: bool,
    ids: &mut IdGen,
) -> Exception<'a> {
    Exception {
        id: ids.next_hex(),
        message: Some(message),
        exception_type: Some(Cow::Borrowed(exception_type)),
        remote: Some(remote),
        truncated: None,
        cause: None,
        stack: Vec::new(),
    }
}

/// Appends `cause` and points the current last exception at it.
fn push_cause<'a>(exceptions: &mut Vec<Exception<'a>>, cause: Exception<'a>) {
    if let Some(last) = exceptions.last_mut() {
        last.cause = Some(cause.id.clone());
    }
    exceptions.push(cause);
}

/// Go's `strconv.Atoi`, 0 when it fails (upstream ignores the error).
fn atoi(s: &str) -> i64 {
    s.parse().unwrap_or(0)
}

/// The lines of `s` as Go's `textproto.Reader.ReadLine` yields them: split at `\n`,
/// a trailing `\r` dropped, no empty line after a final newline.
fn go_lines(s: &str) -> std::str::Lines<'_> {
    s.lines()
}

/// `fillJavaStacktrace` (also used for PHP).
fn fill_java<'a>(
    stacktrace: &'a str,
    exceptions: &mut Vec<Exception<'a>>,
    remote: bool,
    ids: &mut IdGen,
) {
    let mut lines = go_lines(stacktrace);
    // The first line holds the top-level type and message: skip it.
    if lines.next().is_none() {
        return;
    }
    let Some(mut line) = lines.next() else {
        return;
    };
    loop {
        if let Some(frame) = line.strip_prefix("\tat ") {
            if let (Some(paren), true) = (frame.find('('), frame.ends_with(')')) {
                let mut label = &frame[..paren];
                if let Some(slash) = label.find('/') {
                    // A class loader or Java module prefix: drop it.
                    label = &label[slash + 1..];
                }
                let mut path = &frame[paren + 1..frame.len() - 1];
                let mut line_no = 0;
                if let Some(colon) = path.find(':') {
                    line_no = atoi(&path[colon + 1..]);
                    path = &path[..colon];
                }
                if let Some(current) = exceptions.last_mut() {
                    current.stack.push(StackFrame {
                        path,
                        line: line_no,
                        label,
                    });
                }
            }
        } else if let Some(cause) = line.strip_prefix("Caused by: ") {
            let (cause_type, mut cause_message) = match cause.find(':') {
                // Skip the space after the colon too.
                Some(colon) => (
                    &cause[..colon],
                    Cow::Borrowed(cause.get(colon + 2..).unwrap_or("")),
                ),
                None => (cause, Cow::Borrowed("")),
            };
            // The message may span lines: read until the next stack frame.
            let mut next = None;
            for l in lines.by_ref() {
                if is_java_frame(l) {
                    next = Some(l);
                    break;
                }
                cause_message.to_mut().push_str(l);
            }
            push_cause(
                exceptions,
                cause_exception(cause_type, cause_message, remote, ids),
            );
            match next {
                // Continue straight to processing the frame we peeked at.
                Some(l) => {
                    line = l;
                    continue;
                }
                None => break,
            }
        }
        // "..." (common frames) and "Suppressed:" exceptions are skipped.
        match lines.next() {
            Some(l) => line = l,
            None => break,
        }
    }
}

fn is_java_frame(line: &str) -> bool {
    line.starts_with("\tat ") && line.contains('(') && line.ends_with(')')
}

/// `fillPythonStacktrace`: tracebacks read bottom-up, with `During handling of the
/// above exception` sections becoming causes.
fn fill_python<'a>(
    stacktrace: &'a str,
    exceptions: &mut Vec<Exception<'a>>,
    remote: bool,
    ids: &mut IdGen,
) {
    // Python always writes '\n', so a plain split is right.
    let lines: Vec<&str> = stacktrace.split('\n').collect();
    // Skip the last line, the top-level exception and message.
    let Some(mut idx) = lines.len().checked_sub(2) else {
        return;
    };
    loop {
        let line = lines[idx];
        if line.starts_with("  File ") {
            let parts: Vec<&str> = line.split(',').collect();
            if parts.len() == 3 {
                let file_part = parts[0];
                // `  File "` is 8 bytes; the closing quote is the last one.
                let file = file_part.get(8..file_part.len() - 1).unwrap_or("");
                let line_no = parts[1].strip_prefix(" line ").map_or(0, atoi);
                let label = parts[2].strip_prefix(" in ").unwrap_or("");
                if let Some(current) = exceptions.last_mut() {
                    current.stack.push(StackFrame {
                        path: file,
                        line: line_no,
                        label,
                    });
                }
            }
        } else if line
            .starts_with("During handling of the above exception, another exception occurred:")
        {
            // Find the `  File` line before this one; none means malformed.
            let Some(next_file) = (0..idx).rev().find(|&i| lines[i].starts_with("  File ")) else {
                return;
            };
            // The message starts two lines after that `File` line and ends two lines
            // before this one, possibly over several lines.
            let message = if next_file + 2 <= idx.saturating_sub(1) {
                lines[next_file + 2..idx - 1].join("\n")
            } else {
                String::new()
            };
            let Some(colon) = message.find(':') else {
                // No colon after the error type: malformed.
                return;
            };
            let cause_type_owned = message[..colon].to_string();
            let cause_message = message.get(colon + 2..).unwrap_or("").to_string();
            let mut cause = cause_exception("", Cow::Owned(cause_message), remote, ids);
            cause.exception_type = Some(Cow::Owned(cause_type_owned));
            push_cause(exceptions, cause);
            idx = next_file;
            continue;
        }
        if idx == 0 {
            break;
        }
        idx -= 1;
    }
}

/// `fillJavaScriptStacktrace`.
fn fill_javascript<'a>(stacktrace: &'a str, exceptions: &mut [Exception<'a>]) {
    let mut lines = go_lines(stacktrace);
    // Skip the first line, the top-level message.
    if lines.next().is_none() {
        return;
    }
    let Some(current) = exceptions.first_mut() else {
        return;
    };
    for line in lines {
        let Some(frame) = line.strip_prefix("    at ") else {
            continue;
        };
        let (mut label, mut path) = ("", "");
        match frame.find('(') {
            Some(paren) if frame.ends_with(')') => {
                label = &frame[..paren];
                path = &frame[paren + 1..frame.len() - 1];
            }
            Some(_) => {}
            None => path = frame,
        }
        let mut line_no = 0;
        let first = path.find(':');
        let second = first.and_then(|f| path[f + 1..].find(':').map(|s| s + f + 1));
        match (first, second) {
            (Some(f), Some(s)) => {
                line_no = atoi(&path[f + 1..s]);
                path = &path[..f];
            }
            (None, _) if path.contains("native") => path = "native",
            _ => {}
        }
        // Only frames with at least one known value.
        if !path.is_empty() || !label.is_empty() || line_no != 0 {
            current.stack.push(StackFrame {
                path,
                line: line_no,
                label,
            });
        }
    }
}

/// `fillDotnetStacktrace`.
fn fill_dotnet<'a>(stacktrace: &'a str, exceptions: &mut [Exception<'a>]) {
    let mut lines = go_lines(stacktrace);
    // Skip the first line, the top-level message.
    if lines.next().is_none() {
        return;
    }
    let Some(current) = exceptions.first_mut() else {
        return;
    };
    for line in lines {
        let Some(frame) = line.trim().strip_prefix("at ") else {
            continue;
        };
        if frame.contains(" in ") {
            // `at Label in Path:line N`; Go's Split keeps only the text up to a
            // second " in ".
            let mut split = frame.split(" in ");
            let label = split.next().unwrap_or("");
            let mut path = split.next().unwrap_or("");
            let mut line_no = 0;
            if let Some(colon) = path.rfind(':') {
                let mut line_str = &path[colon + 1..];
                if line_str.starts_with("line") {
                    line_str = line_str.get(5..).unwrap_or("");
                }
                line_no = atoi(line_str);
                path = &path[..colon];
            }
            current.stack.push(StackFrame {
                path,
                line: line_no,
                label,
            });
        } else if let Some(close) = frame.rfind(')') {
            current.stack.push(StackFrame {
                path: "",
                line: 0,
                label: &frame[..=close],
            });
        }
    }
}

/// `fillGoStacktrace`: pairs of lines, the function then `\tpath:line +0x..`;
/// `goroutine N [running]:` headers are skipped. As upstream, a function whose next
/// line has no `path:line` reuses the previous frame's path and line.
fn fill_go<'a>(stacktrace: &'a str, exceptions: &mut [Exception<'a>]) {
    let mut lines = go_lines(stacktrace);
    // Skip the first line (`goroutine N [running]:`).
    if lines.next().is_none() {
        return;
    }
    let Some(mut line) = lines.next() else {
        return;
    };
    let Some(current) = exceptions.first_mut() else {
        return;
    };
    let (mut path, mut line_no) = ("", 0);
    loop {
        if is_goroutine_header(line) {
            line = lines.next().unwrap_or("");
        }
        let label = line;
        let location = lines.next().unwrap_or("");
        if let Some((p, n)) = path_and_line(location) {
            path = p;
            line_no = atoi(n);
        }
        current.stack.push(StackFrame {
            path,
            line: line_no,
            label,
        });
        match lines.next() {
            Some(l) => line = l,
            None => break,
        }
    }
}

/// Upstream's `^goroutine.*\brunning\b.*:$` (ASCII word boundaries, as in RE2).
fn is_goroutine_header(line: &str) -> bool {
    const PREFIX: &str = "goroutine";
    const WORD: &str = "running";
    if !line.starts_with(PREFIX) || !line.ends_with(':') {
        return false;
    }
    let bytes = line.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let end_limit = line.len() - 1; // the final ':'
    let mut from = PREFIX.len();
    while let Some(pos) = line.get(from..end_limit).and_then(|s| s.find(WORD)) {
        let start = from + pos;
        let end = start + WORD.len();
        let before_ok = !is_word(bytes[start - 1]);
        let after_ok = bytes.get(end).is_none_or(|b| !is_word(*b));
        if before_ok && after_ok {
            return true;
        }
        from = start + 1;
    }
    false
}

/// Upstream's `([^:\s]+)\:(\d+)`, first match: the path and the line digits.
fn path_and_line(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    // Go's \s: ASCII space, \t, \n, \f, \r.
    let is_run = |b: u8| !matches!(b, b':' | b' ' | b'\t' | b'\n' | b'\x0c' | b'\r');
    let mut i = 0;
    while i < bytes.len() {
        if !is_run(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_run(bytes[i]) {
            i += 1;
        }
        // The run is maximal; it matches when ":<digits>" follows.
        if bytes.get(i) == Some(&b':') {
            let digits_start = i + 1;
            let mut j = digits_start;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            if j > digits_start {
                return Some((&line[start..i], &line[digits_start..j]));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
