//! Ported from upstream `cause_test.go`: the stack trace parsers (each case: the
//! trace, the exceptions expected with every frame) and the error flags.

use serde_json::{Value, json};
use stratus_core::pdata::common::KeyValue;
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::Span;
use stratus_testkit::otlp::{SpanKind, StatusCode, event, kv};

use super::*;
use crate::attrs::Pool;
use crate::test_support::{make_span, resource, to_event};
use crate::trace_id::PURPOSE_EXCEPTIONS;

/// `parseException`, as JSON; checks that ids are set and each exception's `cause`
/// is the id of the next one, then drops both fields.
fn parse(exception_type: &str, message: &str, trace: &str, remote: bool, lang: &str) -> Value {
    let mut ids = IdGen::new(&[1; 16], &[2; 8], PURPOSE_EXCEPTIONS);
    let exceptions = parse_exception(exception_type, message, trace, remote, lang, &mut ids);
    strip_ids(serde_json::to_value(&exceptions).unwrap())
}

fn strip_ids(v: Value) -> Value {
    strip(v, true)
}

/// Removes `id` and `cause` after checking them: every id is 16 hex digits, and a
/// `cause` names the next exception (`chain`: every exception but the last has one).
fn strip(mut v: Value, chain: bool) -> Value {
    let list = v.as_array_mut().expect("a list");
    let ids: Vec<Value> = list.iter().map(|e| e["id"].clone()).collect();
    for (i, e) in list.iter_mut().enumerate() {
        let e = e.as_object_mut().unwrap();
        let id = e.remove("id").expect("every exception has an id");
        assert_eq!(id.as_str().map(str::len), Some(16), "16 hex digits");
        match (e.remove("cause"), ids.get(i + 1)) {
            (Some(cause), Some(next)) => {
                assert_eq!(&cause, next, "a cause names the next exception")
            }
            (Some(cause), None) => panic!("the last exception has a cause {cause}"),
            (None, Some(_)) if chain => panic!("exception {i} has no cause"),
            (None, _) => {}
        }
    }
    v
}

fn frames(f: &[(&str, i64, &str)]) -> Value {
    Value::Array(
        f.iter()
            .map(|(path, line, label)| json!({"path": path, "line": line, "label": label}))
            .collect(),
    )
}

fn exception(t: &str, m: &str, remote: bool, stack: &[(&str, i64, &str)]) -> Value {
    let mut e = json!({"message": m, "type": t, "remote": remote});
    if !stack.is_empty() {
        e["stack"] = frames(stack);
    }
    e
}

const JAVA_TOP: &str = "java.lang.IllegalStateException: state is not legal
\tat io.opentelemetry.sdk.trace.RecordEventsReadableSpanTest.recordException(RecordEventsReadableSpanTest.java:626)
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke(NativeMethodAccessorImpl.java:62)";

const JAVA_TOP_FRAMES: &[(&str, i64, &str)] = &[
    (
        "RecordEventsReadableSpanTest.java",
        626,
        "io.opentelemetry.sdk.trace.RecordEventsReadableSpanTest.recordException",
    ),
    (
        "Native Method",
        0,
        "jdk.internal.reflect.NativeMethodAccessorImpl.invoke0",
    ),
    (
        "NativeMethodAccessorImpl.java",
        62,
        "jdk.internal.reflect.NativeMethodAccessorImpl.invoke",
    ),
];

const JUNIT_FRAMES: &[(&str, i64, &str)] = &[
    (
        "ThrowableCollector.java",
        73,
        "org.junit.platform.engine.support.hierarchical.ThrowableCollector.execute",
    ),
    (
        "NodeTestTask.java",
        0,
        "org.junit.platform.engine.support.hierarchical.NodeTestTask.executeRecursively",
    ),
];

#[test]
fn stack_traces_parse_per_language() {
    let java_cause =
        format!("{JAVA_TOP}\nCaused by: java.lang.IllegalArgumentException: bad argument");
    let java_cause_no_message =
        format!("{JAVA_TOP}\nCaused by: java.lang.IllegalArgumentException");
    let java_cause_stack = format!(
        "{JAVA_TOP}\nCaused by: java.lang.IllegalArgumentException: bad argument
\tat org.junit.platform.engine.support.hierarchical.ThrowableCollector.execute(ThrowableCollector.java:73)
\tat org.junit.platform.engine.support.hierarchical.NodeTestTask.executeRecursively(NodeTestTask.java)"
    );
    let java_malformed = "java.lang.IllegalStateException: state is not legal
\tat io.opentelemetry.sdk.trace.RecordEventsReadableSpanTest.recordException(RecordEventsReadableSpanTest.java:626)
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke(NativeMethodAccessorImpl.java:62)
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke(NativeMethodAccessorImpl.java:62)afaefaef
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke(NativeMethodAccessorImpl.java:62
\tat java.base/java.util.ArrayList.forEach(ArrayList.java:)
\tSuppressed: Resource$CloseFailException: Resource ID = 2
\t\tat Resource.close(Resource.java:26)\t
\t\tat Foo3.main(Foo3.java:5)
\tSuppressed: Resource$CloseFailException: Resource ID = 1
\t\tat Resource.close(Resource.java:26)
\t\tat Foo3.main(Foo3.java:5)
Caused by: java.lang.IllegalArgumentException: bad argument
\tat org.junit.platform.engine.support.hierarchical.ThrowableCollector.execute(ThrowableCollector.java:73)
\tat org.junit.platform.engine.support.hierarchical.NodeTestTask.executeRecursively(NodeTestTask.java)
\t... 99 more";
    let mut malformed_frames = JAVA_TOP_FRAMES.to_vec();
    // Technically malformed, but close enough to the format to accept.
    malformed_frames.push(("ArrayList.java", 0, "java.util.ArrayList.forEach"));

    let python = "Traceback (most recent call last):
  File \"main.py\", line 14, in <module>
    greet_many(['Chad', 'Dan', 1])
  File \"greetings.py\", line 12, in greet_many
    print('hi, ' + person)
TypeError: must be str, not int";
    let python_frames: &[(&str, i64, &str)] = &[
        ("greetings.py", 12, "greet_many"),
        ("main.py", 14, "<module>"),
    ];
    let python_cause = "Traceback (most recent call last):
  File \"bar.py\", line 10, in greet_many
    greet(person)
  File \"foo.py\", line 5, in greet
    print(greeting + ', ' + who_to_greet(someone))
ValueError: bad value

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File \"main.py\", line 14, in <module>
    greet_many(['Chad', 'Dan', 1])
  File \"greetings.py\", line 12, in greet_many
    print('hi, ' + person)
TypeError: must be str, not int";
    let python_cause_frames: &[(&str, i64, &str)] =
        &[("foo.py", 5, "greet"), ("bar.py", 10, "greet_many")];
    let python_multiline_cause = python_cause.replace(
        "ValueError: bad value\n",
        "ValueError: bad value\nwith more on\nnew lines\n",
    );
    let python_malformed_lines = "Traceback (most recent call last):
  File \"main.py\", line 14 in <module>
    greet_many(['Chad', 'Dan', 1])
  File \"main.py\", lin 14, in <module>
    greet_many(['Chad', 'Dan', 1])
  File \"main.py\", line 14, fin <module>
    greet_many(['Chad', 'Dan', 1])
  File \"greetings.py\", line 12, in greet_many
    print('hi, ' + person)
TypeError: must be str, not int";
    let python_malformed_cause = "Traceback (most recent call last):
ValueError: bad value

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File \"main.py\", line 14, in <module>
    greet_many(['Chad', 'Dan', 1])
  File \"greetings.py\", line 12, in greet_many
    print('hi, ' + person)
TypeError: must be str, not int";
    let python_malformed_cause_message = python_cause.replace("ValueError: bad", "ValueError bad");

    let js = "TypeError: Cannot read property 'value' of null
    at speedy (/home/gbusey/file.js:6:11)
    at makeFaster (/home/gbusey/file.js:5:3)
    at Object.<anonymous> (/home/gbusey/file.js:10:1)
    at node.js:906:3
    at Array.forEach (native)
    at native";
    let js_malformed = "TypeError: Cannot read property 'value' of null
    at speedy (/home/gbusey/file.js)
    at makeFaster (/home/gbusey/file.js:5:3)malformed123
    at Object.<anonymous> (/home/gbusey/file.js:10";

    let dotnet = "System.FormatException: Input string was not in a correct format.
\tat System.Number.ThrowOverflowOrFormatException(ParsingStatus status, TypeCode type)
\tat System.Number.ParseInt32(ReadOnlySpan1 value, NumberStyles styles, NumberFormatInfo info)
\tat System.Int32.Parse(String s)
\tat MyNamespace.IntParser.Parse(String s) in C:\\apps\\MyNamespace\\IntParser.cs:line 11
\tat MyNamespace.Program.Main(String[] args) in C:\\apps\\MyNamespace\\Program.cs:line 12";
    let dotnet_inner = "System.Exception: Second exception happened\r\n \
---> System.Exception: Error happened when get weatherforecasts\r\n   \
at TestAppApi.Services.ForecastService.GetWeatherForecasts() in D:\\Users\\foobar\\test-app\\TestAppApi\\Services\\ForecastService.cs:line 9\r\n   \
--- End of inner exception stack trace ---\r\n   \
at TestAppApi.Services.ForecastService.GetWeatherForecasts() in D:\\Users\\foobar\\test-app\\TestAppApi\\Services\\ForecastService.cs:line 12\r\n   \
at TestAppApi.Controllers.WeatherForecastController.Get() in D:\\Users\\foobar\\test-app\\TestAppApi\\Controllers\\WeatherForecastController.cs:line 31";
    let dotnet_malformed = "System.Exception: test
\tat integration_test_app.Controllers.AppController.OutgoingHttp() in /Users/bhautip/Documents/otel-dotnet/aws-otel-dotnet/integration-test-app/integration-test-app/Controllers/AppController.cs:line 21
\tat Microsoft.AspNetCore.Diagnostics.DeveloperExceptionPageMiddleware.Invoke(HttpContext context malformed
\tat System.Net.Http.HttpConnectionPool.ConnectAsync(HttpRequestMessage request, Boolean allowHttp2, CancellationToken cancellationToken) non-malformed";

    let php = "Exception: Thrown from grandparent
\tat grandparent_func(test.php:56)
\tat parent_func(test.php:51)
\tat child_func(test.php:44)
\tat main(test.php:63)";
    let php_cause = "Exception: Thrown from class B
\tat B.exc(test.php:59)
\tat fail(test.php:81)
\tat main(test.php:89)
Caused by: Exception: Thrown from class A";
    let php_cause_stack =
        format!("{php_cause}\n\tat A.exc(test.php:48)\n\tat B.exc(test.php:56)\n\t... 2 more");
    let php_multiple = "Exception: Thrown from class C
\tat C.exc(test.php:74)
\tat main(test.php:89)
Caused by: Exception: Thrown from class B
\tat B.exc(test.php:59)
\tat C.exc(test.php:71)
\t... 3 more
Caused by: Exception: Thrown from class A
\tat A.exc(test.php:48)
\tat B.exc(test.php:56)
\t... 4 more";
    let php_malformed = "Exception: Thrown from class B
\tat B.exc(test.php:59)
\tat fail(test.php:81 malformed
\tat main(test.php:89)";
    let b_frames: &[(&str, i64, &str)] = &[
        ("test.php", 59, "B.exc"),
        ("test.php", 81, "fail"),
        ("test.php", 89, "main"),
    ];

    let go = "goroutine 19 [running]:
go.opentelemetry.io/otel/sdk/trace.recordStackTrace(0x0, 0x0)
\totel-go-core/opentelemetry-go/sdk/trace/span.go:323 +0x9b
go.opentelemetry.io/otel/sdk/trace.(*span).RecordError(0xc0003a6000, 0x14a5f00, 0xc00038c000, 0xc000390140, 0x3, 0x4)
\totel-go-core/opentelemetry-go/sdk/trace/span.go:302 +0x3fc
go.opentelemetry.io/otel/sdk/trace.TestRecordErrorWithStackTrace(0xc000102900)
\totel-go-core/opentelemetry-go/sdk/trace/trace_test.go:1167 +0x3ef
testing.tRunner(0xc000102900, 0x1484410)
\t/usr/local/Cellar/go/1.16.3/libexec/src/testing/testing.go:1193 +0x1a3
created by testing.(*T).Run
\t/usr/local/Cellar/go/1.16.3/libexec/src/testing/testing.go:1238 +0x63c";
    let go_multiple = "goroutine 19 [running]:
go.opentelemetry.io/otel/sdk/trace.recordStackTrace(0x0, 0x0)
\tDocuments/otel-go-core/opentelemetry-go/sdk/trace/span.go:318 +0x9b
go.opentelemetry.io/otel/sdk/trace.(*span).End(0xc000082300, 0xc0000a0040, 0x1, 0x1)
\tDocuments/otel-go-core/opentelemetry-go/sdk/trace/span.go:252 +0x4ee
panic(0x1414f00, 0xc0000a0050)
\t/usr/local/Cellar/go/1.16.3/libexec/src/runtime/panic.go:971 +0x4c7
go.opentelemetry.io/otel/sdk/trace.TestSpanCapturesPanicWithStackTrace.func1()
\tDocuments/otel-go-core/opentelemetry-go/sdk/trace/trace_test.go:1425 +0x225
github.com/stretchr/testify/assert.didPanic.func1(0xc0001ad0e8, 0xc0001ad0d7, 0xc0001ad0d8, 0xc00009e048)
\tgo/pkg/mod/github.com/stretchr/testify@v1.7.0/assert/assertions.go:1018 +0xb8
github.com/stretchr/testify/assert.didPanic(0xc00009e048, 0x14a5b00, 0x0, 0x0, 0x0, 0x0)
\tgo/pkg/mod/github.com/stretchr/testify@v1.7.0/assert/assertions.go:1020 +0x85
github.com/stretchr/testify/assert.PanicsWithError(0x14a5b60, 0xc000186600, 0x146e31c, 0xd, 0xc00009e048, 0x0, 0x0, 0x0, 0xc000038900)
\tgo/pkg/mod/github.com/stretchr/testify@v1.7.0/assert/assertions.go:1071 +0x10c
goroutine 26 [running]:
github.com/stretchr/testify/require.PanicsWithError(0x14a7328, 0xc000186600, 0x146e31c, 0xd, 0xc00009e048, 0x0, 0x0, 0x0)
\tgo/pkg/mod/github.com/stretchr/testify@v1.7.0/require/require.go:1607 +0x15e
go.opentelemetry.io/otel/sdk/trace.TestSpanCapturesPanicWithStackTrace(0xc000186600)
\tDocuments/otel-go-core/opentelemetry-go/sdk/trace/trace_test.go:1427 +0x33a
testing.tRunner(0xc000186600, 0x1484440)
\t/usr/local/Cellar/go/1.16.3/libexec/src/testing/testing.go:1193 +0x1a3
created by testing.(*T).Run
\t/usr/local/Cellar/go/1.16.3/libexec/src/testing/testing.go:1238 +0x63c";
    let span_go = "otel-go-core/opentelemetry-go/sdk/trace/span.go";
    let testing_go = "/usr/local/Cellar/go/1.16.3/libexec/src/testing/testing.go";
    let docs_span = "Documents/otel-go-core/opentelemetry-go/sdk/trace/span.go";
    let docs_test = "Documents/otel-go-core/opentelemetry-go/sdk/trace/trace_test.go";
    let assertions = "go/pkg/mod/github.com/stretchr/testify@v1.7.0/assert/assertions.go";

    // (upstream test, type, message, stack trace, language, expected exceptions)
    let cases: Vec<(&str, &str, &str, String, &str, Value)> = vec![
        (
            "TestParseExceptionWithoutStacktrace",
            "com.foo.Exception",
            "Error happened",
            String::new(),
            "",
            json!([exception("com.foo.Exception", "Error happened", true, &[])]),
        ),
        (
            "TestParseExceptionWithoutMessage",
            "com.foo.Exception",
            "",
            String::new(),
            "",
            json!([exception("com.foo.Exception", "", true, &[])]),
        ),
        (
            "TestParseExceptionWithJavaStacktraceNoCause",
            "com.foo.Exception",
            "Error happened",
            JAVA_TOP.into(),
            "java",
            json!([exception(
                "com.foo.Exception",
                "Error happened",
                true,
                JAVA_TOP_FRAMES
            )]),
        ),
        // We ignore the exception type and message in the stack trace, and an
        // unknown language's stack trace.
        (
            "TestParseExceptionWithStacktraceNotJava",
            "com.foo.Exception",
            "Error happened",
            JAVA_TOP.into(),
            "",
            json!([exception("com.foo.Exception", "Error happened", true, &[])]),
        ),
        (
            "TestParseExceptionWithJavaStacktraceAndCauseWithoutStacktrace",
            "com.foo.Exception",
            "Error happened",
            java_cause,
            "java",
            json!([
                exception("com.foo.Exception", "Error happened", true, JAVA_TOP_FRAMES),
                exception(
                    "java.lang.IllegalArgumentException",
                    "bad argument",
                    true,
                    &[]
                )
            ]),
        ),
        (
            "TestParseExceptionWithJavaStacktraceAndCauseWithoutMessageOrStacktrace",
            "com.foo.Exception",
            "Error happened",
            java_cause_no_message,
            "java",
            json!([
                exception("com.foo.Exception", "Error happened", true, JAVA_TOP_FRAMES),
                exception("java.lang.IllegalArgumentException", "", true, &[])
            ]),
        ),
        (
            "TestParseExceptionWithJavaStacktraceAndCauseWithStacktrace",
            "com.foo.Exception",
            "Error happened",
            java_cause_stack,
            "java",
            json!([
                exception("com.foo.Exception", "Error happened", true, JAVA_TOP_FRAMES),
                exception(
                    "java.lang.IllegalArgumentException",
                    "bad argument",
                    true,
                    JUNIT_FRAMES
                )
            ]),
        ),
        (
            "TestParseExceptionWithJavaStacktraceAndCauseWithStacktraceSkipCommonAndSuppressedAndMalformed",
            "com.foo.Exception",
            "Error happened",
            java_malformed.into(),
            "java",
            json!([
                exception(
                    "com.foo.Exception",
                    "Error happened",
                    true,
                    &malformed_frames
                ),
                exception(
                    "java.lang.IllegalArgumentException",
                    "bad argument",
                    true,
                    JUNIT_FRAMES
                )
            ]),
        ),
        (
            "TestParseExceptionWithPythonStacktraceNoCause",
            "TypeError",
            "must be str, not int",
            python.into(),
            "python",
            json!([exception(
                "TypeError",
                "must be str, not int",
                true,
                python_frames
            )]),
        ),
        (
            "TestParseExceptionWithPythonStacktraceAndCause",
            "TypeError",
            "must be str, not int",
            python_cause.into(),
            "python",
            json!([
                exception("TypeError", "must be str, not int", true, python_frames),
                exception("ValueError", "bad value", true, python_cause_frames)
            ]),
        ),
        (
            "TestParseExceptionWithPythonStacktraceAndMultiLineCause",
            "TypeError",
            "must be str, not int",
            python_multiline_cause,
            "python",
            json!([
                exception("TypeError", "must be str, not int", true, python_frames),
                exception(
                    "ValueError",
                    "bad value\nwith more on\nnew lines",
                    true,
                    python_cause_frames
                )
            ]),
        ),
        (
            "TestParseExceptionWithPythonStacktraceMalformedLines",
            "TypeError",
            "must be str, not int",
            python_malformed_lines.into(),
            "python",
            json!([exception(
                "TypeError",
                "must be str, not int",
                true,
                &[
                    ("greetings.py", 12, "greet_many"),
                    ("main.py", 14, ""),
                    ("main.py", 0, "<module>")
                ]
            )]),
        ),
        (
            "TestParseExceptionWithPythonStacktraceAndMalformedCause",
            "TypeError",
            "must be str, not int",
            python_malformed_cause.into(),
            "python",
            json!([exception(
                "TypeError",
                "must be str, not int",
                true,
                python_frames
            )]),
        ),
        (
            "TestParseExceptionWithPythonStacktraceAndMalformedCauseMessage",
            "TypeError",
            "must be str, not int",
            python_malformed_cause_message,
            "python",
            json!([exception(
                "TypeError",
                "must be str, not int",
                true,
                python_frames
            )]),
        ),
        (
            "TestParseExceptionWithJavaScriptStacktrace",
            "TypeError",
            "Cannot read property 'value' of null",
            js.into(),
            "javascript",
            json!([exception(
                "TypeError",
                "Cannot read property 'value' of null",
                true,
                &[
                    ("/home/gbusey/file.js", 6, "speedy "),
                    ("/home/gbusey/file.js", 5, "makeFaster "),
                    ("/home/gbusey/file.js", 10, "Object.<anonymous> "),
                    ("node.js", 906, ""),
                    ("native", 0, "Array.forEach "),
                    ("native", 0, ""),
                ]
            )]),
        ),
        (
            "TestParseExceptionWithStacktraceNotJavaScript",
            "TypeError",
            "Cannot read property 'value' of null",
            js.into(),
            "",
            json!([exception(
                "TypeError",
                "Cannot read property 'value' of null",
                true,
                &[]
            )]),
        ),
        (
            "TestParseExceptionWithJavaScriptStacktraceMalformedLines",
            "TypeError",
            "Cannot read property 'value' of null",
            js_malformed.into(),
            "javascript",
            json!([exception(
                "TypeError",
                "Cannot read property 'value' of null",
                true,
                &[("/home/gbusey/file.js", 0, "speedy ")]
            )]),
        ),
        (
            "TestParseExceptionWithSimpleStacktrace",
            "System.FormatException",
            "Input string was not in a correct format",
            dotnet.into(),
            "dotnet",
            json!([exception(
                "System.FormatException",
                "Input string was not in a correct format",
                true,
                &[
                    (
                        "",
                        0,
                        "System.Number.ThrowOverflowOrFormatException(ParsingStatus status, TypeCode type)"
                    ),
                    (
                        "",
                        0,
                        "System.Number.ParseInt32(ReadOnlySpan1 value, NumberStyles styles, NumberFormatInfo info)"
                    ),
                    ("", 0, "System.Int32.Parse(String s)"),
                    (
                        "C:\\apps\\MyNamespace\\IntParser.cs",
                        11,
                        "MyNamespace.IntParser.Parse(String s)"
                    ),
                    (
                        "C:\\apps\\MyNamespace\\Program.cs",
                        12,
                        "MyNamespace.Program.Main(String[] args)"
                    ),
                ]
            )]),
        ),
        (
            "TestParseExceptionWithInnerExceptionStacktrace",
            "System.Exception",
            "test",
            dotnet_inner.into(),
            "dotnet",
            json!([exception(
                "System.Exception",
                "test",
                true,
                &[
                    (
                        "D:\\Users\\foobar\\test-app\\TestAppApi\\Services\\ForecastService.cs",
                        9,
                        "TestAppApi.Services.ForecastService.GetWeatherForecasts()"
                    ),
                    (
                        "D:\\Users\\foobar\\test-app\\TestAppApi\\Services\\ForecastService.cs",
                        12,
                        "TestAppApi.Services.ForecastService.GetWeatherForecasts()"
                    ),
                    (
                        "D:\\Users\\foobar\\test-app\\TestAppApi\\Controllers\\WeatherForecastController.cs",
                        31,
                        "TestAppApi.Controllers.WeatherForecastController.Get()"
                    ),
                ]
            )]),
        ),
        (
            "TestParseExceptionWithMalformedStacktrace",
            "System.Exception",
            "test",
            dotnet_malformed.into(),
            "dotnet",
            json!([exception(
                "System.Exception",
                "test",
                true,
                &[
                    (
                        "/Users/bhautip/Documents/otel-dotnet/aws-otel-dotnet/integration-test-app/integration-test-app/Controllers/AppController.cs",
                        21,
                        "integration_test_app.Controllers.AppController.OutgoingHttp()"
                    ),
                    (
                        "",
                        0,
                        "System.Net.Http.HttpConnectionPool.ConnectAsync(HttpRequestMessage request, Boolean allowHttp2, CancellationToken cancellationToken)"
                    ),
                ]
            )]),
        ),
        (
            "TestParseExceptionPhpStacktrace",
            "Exception",
            "Thrown from grandparent",
            php.into(),
            "php",
            json!([exception(
                "Exception",
                "Thrown from grandparent",
                true,
                &[
                    ("test.php", 56, "grandparent_func"),
                    ("test.php", 51, "parent_func"),
                    ("test.php", 44, "child_func"),
                    ("test.php", 63, "main"),
                ]
            )]),
        ),
        (
            "TestParseExceptionPhpWithoutStacktrace",
            "Exception",
            "Thrown from grandparent",
            String::new(),
            "php",
            json!([exception("Exception", "Thrown from grandparent", true, &[])]),
        ),
        (
            "TestParseExceptionPhpStacktraceWithCause",
            "Exception",
            "Thrown from class B",
            php_cause.into(),
            "php",
            json!([
                exception("Exception", "Thrown from class B", true, b_frames),
                exception("Exception", "Thrown from class A", true, &[])
            ]),
        ),
        (
            "TestParseExceptionPhpStacktraceWithCauseAndStacktrace",
            "Exception",
            "Thrown from class B",
            php_cause_stack,
            "php",
            json!([
                exception("Exception", "Thrown from class B", true, b_frames),
                exception(
                    "Exception",
                    "Thrown from class A",
                    true,
                    &[("test.php", 48, "A.exc"), ("test.php", 56, "B.exc")]
                )
            ]),
        ),
        (
            "TestParseExceptionPhpStacktraceWithMultipleCause",
            "Exception",
            "Thrown from class C",
            php_multiple.into(),
            "php",
            json!([
                exception(
                    "Exception",
                    "Thrown from class C",
                    true,
                    &[("test.php", 74, "C.exc"), ("test.php", 89, "main")]
                ),
                exception(
                    "Exception",
                    "Thrown from class B",
                    true,
                    &[("test.php", 59, "B.exc"), ("test.php", 71, "C.exc")]
                ),
                exception(
                    "Exception",
                    "Thrown from class A",
                    true,
                    &[("test.php", 48, "A.exc"), ("test.php", 56, "B.exc")]
                )
            ]),
        ),
        (
            "TestParseExceptionPhpStacktraceMalformedLines",
            "Exception",
            "Thrown from class B",
            php_malformed.into(),
            "php",
            json!([exception(
                "Exception",
                "Thrown from class B",
                true,
                &[("test.php", 59, "B.exc"), ("test.php", 89, "main")]
            )]),
        ),
        (
            "TestParseExceptionGoWithoutStacktrace",
            "Exception",
            "Thrown from grandparent",
            String::new(),
            "go",
            json!([exception("Exception", "Thrown from grandparent", true, &[])]),
        ),
        (
            "TestParseExceptionGoWithStacktrace",
            "Exception",
            "error message",
            go.into(),
            "go",
            json!([exception(
                "Exception",
                "error message",
                true,
                &[
                    (
                        span_go,
                        323,
                        "go.opentelemetry.io/otel/sdk/trace.recordStackTrace(0x0, 0x0)"
                    ),
                    (
                        span_go,
                        302,
                        "go.opentelemetry.io/otel/sdk/trace.(*span).RecordError(0xc0003a6000, 0x14a5f00, 0xc00038c000, 0xc000390140, 0x3, 0x4)"
                    ),
                    (
                        "otel-go-core/opentelemetry-go/sdk/trace/trace_test.go",
                        1167,
                        "go.opentelemetry.io/otel/sdk/trace.TestRecordErrorWithStackTrace(0xc000102900)"
                    ),
                    (testing_go, 1193, "testing.tRunner(0xc000102900, 0x1484410)"),
                    (testing_go, 1238, "created by testing.(*T).Run"),
                ]
            )]),
        ),
        (
            "TestParseMultipleExceptionGoWithStacktrace",
            "Exception",
            "panic",
            go_multiple.into(),
            "go",
            json!([exception(
                "Exception",
                "panic",
                true,
                &[
                    (
                        docs_span,
                        318,
                        "go.opentelemetry.io/otel/sdk/trace.recordStackTrace(0x0, 0x0)"
                    ),
                    (
                        docs_span,
                        252,
                        "go.opentelemetry.io/otel/sdk/trace.(*span).End(0xc000082300, 0xc0000a0040, 0x1, 0x1)"
                    ),
                    (
                        "/usr/local/Cellar/go/1.16.3/libexec/src/runtime/panic.go",
                        971,
                        "panic(0x1414f00, 0xc0000a0050)"
                    ),
                    (
                        docs_test,
                        1425,
                        "go.opentelemetry.io/otel/sdk/trace.TestSpanCapturesPanicWithStackTrace.func1()"
                    ),
                    (
                        assertions,
                        1018,
                        "github.com/stretchr/testify/assert.didPanic.func1(0xc0001ad0e8, 0xc0001ad0d7, 0xc0001ad0d8, 0xc00009e048)"
                    ),
                    (
                        assertions,
                        1020,
                        "github.com/stretchr/testify/assert.didPanic(0xc00009e048, 0x14a5b00, 0x0, 0x0, 0x0, 0x0)"
                    ),
                    (
                        assertions,
                        1071,
                        "github.com/stretchr/testify/assert.PanicsWithError(0x14a5b60, 0xc000186600, 0x146e31c, 0xd, 0xc00009e048, 0x0, 0x0, 0x0, 0xc000038900)"
                    ),
                    (
                        "go/pkg/mod/github.com/stretchr/testify@v1.7.0/require/require.go",
                        1607,
                        "github.com/stretchr/testify/require.PanicsWithError(0x14a7328, 0xc000186600, 0x146e31c, 0xd, 0xc00009e048, 0x0, 0x0, 0x0)"
                    ),
                    (
                        docs_test,
                        1427,
                        "go.opentelemetry.io/otel/sdk/trace.TestSpanCapturesPanicWithStackTrace(0xc000186600)"
                    ),
                    (testing_go, 1193, "testing.tRunner(0xc000186600, 0x1484440)"),
                    (testing_go, 1238, "created by testing.(*T).Run"),
                ]
            )]),
        ),
    ];
    for (name, t, m, trace, lang, expected) in cases {
        assert_eq!(parse(t, m, &trace, true, lang), expected, "{name}");
    }
}

#[test]
fn remote_is_written_as_given() {
    let got = parse("E", "m", "", false, "java");
    assert_eq!(got, json!([exception("E", "m", false, &[])]));
}

#[test]
fn malformed_traces_do_not_panic() {
    // Lines upstream would slice past their end.
    let traces = [
        "x\nCaused by: Foo:",
        "x\n\tat (",
        "x\n\tat )",
        "Traceback\n  File \"\n  File ,,\nE: m",
        "E\nDuring handling of the above exception, another exception occurred:\n",
        "x\n  File \"a\", line 1, in f\n  File \"b\", line 2, in g\nDuring handling of the above exception, another exception occurred:\nE: m",
        "x\n   at line",
        "x\nat a in b:line",
        "goroutine 1 [running]:\nf()",
        "\n",
    ];
    for trace in traces {
        for lang in ["java", "python", "javascript", "dotnet", "go", "php"] {
            let out = parse("T", "m", trace, false, lang);
            assert!(!out.as_array().unwrap().is_empty(), "{lang}: {trace:?}");
        }
    }
}

/// (upstream test, attributes, status, status message, error, fault, throttle,
/// cause, attributes left).
type StatusCase<'a> = (
    &'a str,
    Vec<KeyValue>,
    StatusCode,
    &'a str,
    bool,
    bool,
    bool,
    Option<Value>,
    &'a [&'a str],
);

/// `constructExceptionServerSpan`.
fn exception_server_span(attrs: Vec<KeyValue>, code: StatusCode, message: &str) -> Span {
    make_span(SpanKind::Server, Some(9), "/widgets", code, message, attrs)
}

/// `makeCause` after `makeHTTP`, as MakeSegment runs them: flags, cause (ids
/// removed) and the attributes left for metadata.
fn cause_of(span: &Span, res: &Resource) -> (bool, bool, bool, Option<Value>, Vec<String>) {
    let view = SpanView::new(span);
    let mut pool = Pool::new(&view);
    let _ = crate::http::make_http(&view, &mut pool);
    let mut ids = IdGen::new(&span.trace_id, &span.span_id, PURPOSE_EXCEPTIONS);
    let out = make_cause(&view, &mut pool, Some(res), &mut ids);
    let cause = out.cause.map(|c| {
        let mut v = serde_json::to_value(c).unwrap();
        if let Some(list) = v.get_mut("exceptions") {
            *list = strip(list.take(), false);
        }
        v
    });
    let left = pool.iter(span).map(|(_, kv)| kv.key.clone()).collect();
    (out.error, out.fault, out.throttle, cause, left)
}

#[test]
fn error_fault_throttle_and_cause_from_status_and_codes() {
    let old = |code: i64| {
        vec![
            kv("http.method", "POST"),
            kv("http.url", "https://api.example.com/widgets"),
            kv("http.status_code", code),
            kv("http.status_text", "this is a test"),
        ]
    };
    let stable = |code: i64| {
        vec![
            kv("http.request.method", "POST"),
            kv("url.full", "https://api.example.com/widgets"),
            kv("http.response.status_code", code),
            kv("http.status_text", "this is a test"),
        ]
    };
    let status_cause = |m: &str| json!({"exceptions": [{"message": m, "type": ""}]});
    let no_res = resource(Vec::new());
    // (upstream test, attributes, status, status message, error, fault, throttle,
    //  cause, attributes left)
    let cases: Vec<StatusCase<'_>> = vec![
        (
            "TestCauseWithStatusMessage",
            old(500)[..3].to_vec(),
            StatusCode::Error,
            "this is a test",
            false,
            true,
            false,
            Some(status_cause("this is a test")),
            &[],
        ),
        (
            "TestCauseWithStatusMessageStable",
            stable(500)[..3].to_vec(),
            StatusCode::Error,
            "this is a test",
            false,
            true,
            false,
            Some(status_cause("this is a test")),
            &[],
        ),
        // http.status_text is the message when the status has none, and leaves metadata.
        (
            "TestCauseWithHttpStatusMessage",
            old(500),
            StatusCode::Error,
            "",
            false,
            true,
            false,
            Some(status_cause("this is a test")),
            &[],
        ),
        (
            "TestCauseWithHttpStatusMessageStable",
            stable(500),
            StatusCode::Error,
            "",
            false,
            true,
            false,
            Some(status_cause("this is a test")),
            &[],
        ),
        // Status wins over a 5xx code for the cause, not for the fault flag.
        (
            "TestCauseWithZeroStatusMessageAndFaultHttpCode",
            old(500),
            StatusCode::Unset,
            "",
            false,
            true,
            false,
            None,
            &["http.status_text"],
        ),
        (
            "TestCauseWithZeroStatusMessageAndFaultHttpCodeStable",
            stable(500),
            StatusCode::Unset,
            "",
            false,
            true,
            false,
            None,
            &["http.status_text"],
        ),
        (
            "TestNonHttpUnsetCodeSpan",
            vec![old(0)[0].clone(), old(0)[1].clone(), old(0)[3].clone()],
            StatusCode::Unset,
            "",
            false,
            false,
            false,
            None,
            &["http.status_text"],
        ),
        (
            "TestNonHttpOkCodeSpan",
            vec![old(0)[0].clone(), old(0)[1].clone(), old(0)[3].clone()],
            StatusCode::Ok,
            "",
            false,
            false,
            false,
            None,
            &["http.status_text"],
        ),
        (
            "TestNonHttpErrCodeSpan",
            vec![old(0)[0].clone(), old(0)[1].clone(), old(0)[3].clone()],
            StatusCode::Error,
            "",
            false,
            true,
            false,
            Some(status_cause("this is a test")),
            &[],
        ),
        (
            "TestCauseWithZeroStatusMessageAndFaultErrorCode",
            old(400),
            StatusCode::Unset,
            "",
            true,
            false,
            false,
            None,
            &["http.status_text"],
        ),
        (
            "TestCauseWithZeroStatusMessageAndFaultErrorCodeStable",
            stable(400),
            StatusCode::Unset,
            "",
            true,
            false,
            false,
            None,
            &["http.status_text"],
        ),
        (
            "TestCauseWithClientErrorMessage",
            old(499),
            StatusCode::Error,
            "",
            true,
            false,
            false,
            Some(status_cause("this is a test")),
            &[],
        ),
        (
            "TestCauseWithClientErrorMessageStable",
            stable(499),
            StatusCode::Error,
            "",
            true,
            false,
            false,
            Some(status_cause("this is a test")),
            &[],
        ),
        (
            "TestCauseWithThrottled",
            old(429),
            StatusCode::Error,
            "",
            true,
            false,
            true,
            Some(status_cause("this is a test")),
            &[],
        ),
        (
            "TestCauseWithThrottledStable",
            stable(429),
            StatusCode::Error,
            "",
            true,
            false,
            true,
            Some(status_cause("this is a test")),
            &[],
        ),
        // Codes outside 400-599 leave the status to decide.
        (
            "a 600 code with an error status",
            old(600),
            StatusCode::Error,
            "boom",
            false,
            true,
            false,
            Some(status_cause("boom")),
            &[],
        ),
        (
            "a 302 code, status unset",
            old(302),
            StatusCode::Unset,
            "",
            false,
            false,
            false,
            None,
            &["http.status_text"],
        ),
        (
            "an error status without a message gives no cause",
            Vec::new(),
            StatusCode::Error,
            "",
            false,
            true,
            false,
            None,
            &[],
        ),
    ];
    for (name, attrs, code, message, error, fault, throttle, cause, left) in cases {
        let span = exception_server_span(attrs, code, message);
        let got = cause_of(&span, &no_res);
        assert_eq!(
            got,
            (
                error,
                fault,
                throttle,
                cause,
                left.iter().map(|s| (*s).to_string()).collect()
            ),
            "{name}"
        );
    }
}

#[test]
fn exception_events_become_the_cause() {
    // TestCauseWithExceptions: two exception events, the first with a Java stack
    // trace and a cause.
    let mut span = exception_server_span(Vec::new(), StatusCode::Error, "this is a test");
    span.events = vec![
        to_event(
            event("exception")
                .attr("exception.type", "java.lang.IllegalStateException")
                .attr("exception.message", "bad state")
                .attr(
                    "exception.stacktrace",
                    format!(
                        "{JAVA_TOP}\nCaused by: java.lang.IllegalArgumentException: bad argument"
                    ),
                ),
        ),
        to_event(event("exception").attr("exception.type", "EmptyError")),
        to_event(event("not an exception").attr("exception.type", "Ignored")),
    ];
    let res = resource(vec![kv("telemetry.sdk.language", "java")]);
    let (error, fault, throttle, cause, _) = cause_of(&span, &res);
    assert_eq!((error, fault, throttle), (false, true, false));
    let exceptions = cause.unwrap()["exceptions"].clone();
    // The first event's exception has its cause next to it; the second event's
    // exception follows, with no cause.
    assert_eq!(exceptions.as_array().unwrap().len(), 3);
    assert_eq!(exceptions[0]["type"], "java.lang.IllegalStateException");
    assert_eq!(exceptions[0]["message"], "bad state");
    assert_eq!(exceptions[0]["stack"], frames(JAVA_TOP_FRAMES));
    assert_eq!(exceptions[1]["type"], "java.lang.IllegalArgumentException");
    assert_eq!(
        exceptions[2],
        json!({"message": "", "type": "EmptyError", "remote": false})
    );
}

#[test]
fn exceptions_are_written_even_without_an_error_status() {
    // TestCauseExceptionWithoutError and TestEventWithoutExceptionWithoutError.
    for code in [StatusCode::Unset, StatusCode::Ok] {
        let mut span = exception_server_span(Vec::new(), code, "this is a test");
        span.events = vec![to_event(
            event("exception")
                .attr("exception.type", "java.lang.IllegalStateException")
                .attr("exception.message", "bad state")
                .attr(
                    "exception.stacktrace",
                    format!(
                        "{JAVA_TOP}\nCaused by: java.lang.IllegalArgumentException: bad argument"
                    ),
                ),
        )];
        let res = resource(vec![kv("telemetry.sdk.language", "java")]);
        let (error, fault, throttle, cause, _) = cause_of(&span, &res);
        assert_eq!((error, fault, throttle), (false, false, false));
        assert_eq!(cause.unwrap()["exceptions"].as_array().unwrap().len(), 2);

        span.events = vec![to_event(event("NotException").attr("http.method", "Post"))];
        let (error, fault, throttle, cause, _) = cause_of(&span, &res);
        assert_eq!((error, fault, throttle, cause), (false, false, false, None));
    }
}

#[test]
fn aws_sdk_http_failures_become_remote_exceptions() {
    // TestMakeCauseAwsSdkSpan.
    let mut span = exception_server_span(
        vec![kv("rpc.system", "aws-api")],
        StatusCode::Error,
        "this is a test",
    );
    span.events = vec![to_event(
        event("HTTP request failure")
            .attr("http.response.status_code", "503")
            .attr(
                "aws.http.error_message",
                "service is temporarily unavailable",
            )
            .time(1_696_954_761_000_001_000),
    )];
    let (error, fault, throttle, cause, _) = cause_of(&span, &resource(Vec::new()));
    assert_eq!((error, fault, throttle), (false, true, false));
    assert_eq!(
        cause,
        Some(json!({"exceptions": [{
            "message": "503@1696954761.000001@service is temporarily unavailable",
            "type": "aws.http.error.event",
            "remote": true,
        }]}))
    );

    // Not an AWS SDK span: the event is ignored and the status message is used.
    span.attributes.clear();
    let (_, _, _, cause, _) = cause_of(&span, &resource(Vec::new()));
    assert_eq!(
        cause,
        Some(json!({"exceptions": [{"message": "this is a test", "type": ""}]}))
    );
}

#[test]
fn client_and_producer_exceptions_are_remote() {
    for (kind, remote) in [
        (SpanKind::Client, true),
        (SpanKind::Producer, true),
        (SpanKind::Server, false),
        (SpanKind::Consumer, false),
        (SpanKind::Internal, false),
    ] {
        let mut span = make_span(kind, Some(9), "x", StatusCode::Error, "", Vec::new());
        span.events = vec![to_event(event("exception").attr("exception.type", "E"))];
        let (_, _, _, cause, _) = cause_of(&span, &resource(Vec::new()));
        assert_eq!(
            cause.unwrap()["exceptions"][0]["remote"],
            remote,
            "{kind:?}"
        );
    }
}
