//! The HTML pages: upstream zpages' `/debug/servicez`, `/debug/pipelinez` and
//! `/debug/extensionz`, and the live status page at `/`.

use std::fmt::Write as _;

use crate::status::Status;

/// The status page: plain HTML and JS served from the binary (no CDN). It reads
/// `/api/v1/status` every second and redraws the pipeline graph as SVG.
pub const STATUS_PAGE: &str = include_str!("status.html");

/// `s` with `&`, `<`, `>`, `"` and `'` escaped for HTML text and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:left}}</style></head>\
         <body><h1>{title}</h1>\n{body}\n<p><a href=\"/debug/servicez\">servicez</a> · \
         <a href=\"/debug/pipelinez\">pipelinez</a> · <a href=\"/debug/extensionz\">extensionz</a> · \
         <a href=\"/\">status</a> · <a href=\"/api/v1/status\">status JSON</a></p></body></html>\n",
        title = escape(title),
    )
}

/// `/debug/servicez`: build and runtime information.
pub fn servicez(status: &Status) -> String {
    let mut body = String::from("<table>");
    let rows = [
        ("Version", format!("stratus {}", status.version)),
        ("Health", status.health.to_string()),
        ("Uptime", format!("{:.0} s", status.uptime_seconds)),
        ("RSS", format!("{:.1} MiB", mib(status.process.rss_bytes))),
        (
            "Live heap",
            status
                .process
                .heap_bytes
                .map_or_else(|| "not counted".into(), |b| format!("{:.1} MiB", mib(b))),
        ),
        (
            "Memory limit",
            status
                .process
                .memory_limit_bytes
                .map_or_else(|| "none".into(), |b| format!("{:.1} MiB", mib(b))),
        ),
        ("CPU time", format!("{:.2} s", status.process.cpu_seconds)),
    ];
    for (k, v) in rows {
        let _ = write!(body, "<tr><th>{k}</th><td>{}</td></tr>", escape(&v));
    }
    body.push_str("</table>");
    page("Service", &body)
}

/// `/debug/pipelinez`: each pipeline's receivers, processors and exporters.
pub fn pipelinez(status: &Status) -> String {
    let mut body = String::from(
        "<table><tr><th>Pipeline</th><th>Signal</th><th>Receivers</th>\
         <th>Processors</th><th>Exporters</th></tr>",
    );
    for p in &status.pipelines {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.id),
            p.signal,
            escape(&p.receivers.join(", ")),
            escape(&p.processors.join(" → ")),
            escape(&p.exporters.join(", ")),
        );
    }
    body.push_str("</table>");
    page("Pipelines", &body)
}

/// `/debug/extensionz`: the running extensions.
pub fn extensionz(status: &Status) -> String {
    let mut body = String::from("<table><tr><th>Extension</th></tr>");
    for c in status.components.iter().filter(|c| c.kind == "extension") {
        let _ = write!(body, "<tr><td>{}</td></tr>", escape(&c.id));
    }
    body.push_str("</table>");
    page("Extensions", &body)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Reporter;
    use stratus_core::telemetry::Registry;
    use stratus_core::{Health, PipelineShape, Signal, Topology};

    #[test]
    fn ids_are_escaped() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        let topology = Topology {
            pipelines: vec![PipelineShape {
                id: "traces/<script>".into(),
                signal: Signal::Traces,
                receivers: vec!["otlp".into()],
                processors: vec!["batch".into(), "attributes/x".into()],
                exporters: vec!["nop".into()],
            }],
            extensions: vec!["admin".into()],
            connectors: vec![],
        };
        let status = Reporter::new(Registry::new()).status(&topology, Health::Ready);
        let html = pipelinez(&status);
        assert!(html.contains("traces/&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"));
        assert!(html.contains("batch → attributes/x"));
        assert!(extensionz(&status).contains("<td>admin</td>"));
        assert!(servicez(&status).contains("<td>ready</td>"));
    }
}
