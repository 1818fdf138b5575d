//! `stratus top`: a terminal view of a running stratus, read from its admin
//! endpoint's status document (`/api/v1/status`) once a second.
//!
//! One row per component: items per second in and out, refused and failed, the
//! sending queue's fill as a bar, the failover level. A header shows health, uptime,
//! the live heap against the memory limit, RSS and CPU. Keys: `s` changes the sort
//! column, `r` reverses it, `/` filters by id or kind, `q` quits. It fits 80×24 and
//! works over SSH: no mouse, no colours needed.

use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::{DefaultTerminal, Frame};
use serde_json::Value;

/// Where the admin extension listens by default.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:55679";

/// How often the view reads the status document.
const REFRESH: Duration = Duration::from_secs(1);

/// The column rows are sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Pipeline order: receivers, processors, connectors, exporters, extensions.
    Graph,
    /// Items in per second.
    Incoming,
    /// Items out per second.
    Outgoing,
    /// Refused per second.
    Refused,
    /// Failed per second.
    Failed,
    /// Queue fill.
    Queue,
    /// Component id.
    Id,
}

impl Sort {
    fn next(self) -> Sort {
        match self {
            Sort::Graph => Sort::Incoming,
            Sort::Incoming => Sort::Outgoing,
            Sort::Outgoing => Sort::Refused,
            Sort::Refused => Sort::Failed,
            Sort::Failed => Sort::Queue,
            Sort::Queue => Sort::Id,
            Sort::Id => Sort::Graph,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Sort::Graph => "pipeline order",
            Sort::Incoming => "in/s",
            Sort::Outgoing => "out/s",
            Sort::Refused => "refused/s",
            Sort::Failed => "failed/s",
            Sort::Queue => "queue",
            Sort::Id => "id",
        }
    }
}

/// One row of the table, from one component of the document.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentRow {
    /// `receiver`, `processor`, ...
    pub kind: String,
    /// The component id.
    pub id: String,
    /// Rates, absent until two readings were taken.
    pub incoming: Option<f64>,
    /// Items out per second.
    pub outgoing: Option<f64>,
    /// Refused per second.
    pub refused: Option<f64>,
    /// Failed per second.
    pub failed: Option<f64>,
    /// Queue (size, capacity) in batches.
    pub queue: Option<(u64, u64)>,
    /// A failover connector's level.
    pub level: Option<u64>,
    /// Position in the document (pipeline order).
    order: usize,
}

impl ComponentRow {
    fn fill(&self) -> f64 {
        match self.queue {
            Some((size, cap)) if cap > 0 => size as f64 / cap as f64,
            _ => 0.0,
        }
    }
}

/// The rows of `status`, filtered by `filter` (a substring of id or kind) and sorted.
pub fn rows(status: &Value, sort: Sort, reverse: bool, filter: &str) -> Vec<ComponentRow> {
    let empty = Vec::new();
    let components = status["components"].as_array().unwrap_or(&empty);
    let filter = filter.to_lowercase();
    let mut rows: Vec<ComponentRow> = components
        .iter()
        .enumerate()
        .map(|(order, c)| {
            let rate = |k: &str| c["rates"][k].as_f64();
            ComponentRow {
                kind: c["kind"].as_str().unwrap_or_default().to_string(),
                id: c["id"].as_str().unwrap_or_default().to_string(),
                incoming: rate("incoming"),
                outgoing: rate("outgoing"),
                refused: rate("refused"),
                failed: rate("failed"),
                queue: c["queue"]["size"]
                    .as_u64()
                    .zip(c["queue"]["capacity"].as_u64()),
                level: c["failover_level"].as_u64(),
                order,
            }
        })
        .filter(|r| {
            filter.is_empty() || r.id.to_lowercase().contains(&filter) || r.kind.contains(&filter)
        })
        .collect();
    let key = |r: &ComponentRow| -> f64 {
        match sort {
            Sort::Incoming => r.incoming.unwrap_or(0.0),
            Sort::Outgoing => r.outgoing.unwrap_or(0.0),
            Sort::Refused => r.refused.unwrap_or(0.0),
            Sort::Failed => r.failed.unwrap_or(0.0),
            Sort::Queue => r.fill(),
            Sort::Graph | Sort::Id => 0.0,
        }
    };
    match sort {
        Sort::Graph => rows.sort_by_key(|r| r.order),
        Sort::Id => rows.sort_by(|a, b| a.id.cmp(&b.id)),
        // Busiest first.
        _ => rows.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.order.cmp(&b.order))),
    }
    if reverse {
        rows.reverse();
    }
    rows
}

/// A rate as the table shows it: `–` before the first interval, `12.3k`, `1.05M`.
pub fn rate(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if v >= 1e6 => format!("{:.2}M", v / 1e6),
        Some(v) if v >= 1e4 => format!("{:.0}k", v / 1e3),
        Some(v) if v >= 1e3 => format!("{:.1}k", v / 1e3),
        Some(v) if v < 10.0 && v > 0.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.0}"),
    }
}

/// A queue fill as a bar of `width` cells: `[####      ]`.
pub fn bar(fill: f64, width: usize) -> String {
    let inner = width.saturating_sub(2);
    let full = ((fill.clamp(0.0, 1.0) * inner as f64).round() as usize).min(inner);
    format!("[{}{}]", "#".repeat(full), " ".repeat(inner - full))
}

fn mib(v: &Value) -> Option<String> {
    v.as_f64().map(|b| format!("{:.1} MiB", b / 1_048_576.0))
}

/// The header lines: version, health, uptime; heap against the limit, RSS, CPU.
pub fn header(status: &Value) -> [String; 2] {
    let p = &status["process"];
    let uptime = status["uptime_seconds"].as_f64().unwrap_or(0.0) as u64;
    let heap = match (mib(&p["heap_bytes"]), mib(&p["memory_limit_bytes"])) {
        (Some(h), Some(l)) => format!("heap {h} of {l}"),
        (Some(h), None) => format!("heap {h} (no limit)"),
        _ => "heap not counted".into(),
    };
    let refusing = if p["memory_limiter_refusing"].as_bool() == Some(true) {
        "  REFUSING: memory limit"
    } else {
        ""
    };
    [
        format!(
            "stratus {}  {}  up {}h{:02}m{:02}s",
            status["version"].as_str().unwrap_or("?"),
            status["health"].as_str().unwrap_or("?"),
            uptime / 3600,
            uptime / 60 % 60,
            uptime % 60
        ),
        format!(
            "{heap}  RSS {}  CPU {}{refusing}",
            mib(&p["rss_bytes"]).unwrap_or_else(|| "?".into()),
            p["cpu_percent"]
                .as_f64()
                .map_or_else(|| "–".into(), |c| format!("{c:.1} %")),
        ),
    ]
}

/// The view's state between frames.
struct View {
    endpoint: String,
    status: Option<Value>,
    error: Option<String>,
    sort: Sort,
    reverse: bool,
    filter: String,
    editing: bool,
}

fn kind_short(kind: &str) -> &str {
    match kind {
        "receiver" => "recv",
        "processor" => "proc",
        "exporter" => "exp",
        "connector" => "conn",
        "extension" => "ext",
        other => other,
    }
}

fn draw(frame: &mut Frame, view: &View) {
    let [top, table_area, errors, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let head = match (&view.status, &view.error) {
        (Some(s), None) => header(s).map(Line::from).to_vec(),
        (Some(s), Some(e)) => vec![
            Line::from(header(s)[0].clone()),
            Line::from(format!("{} did not answer: {e}", view.endpoint)),
        ],
        (None, Some(e)) => vec![
            Line::from(format!("stratus top: {}", view.endpoint)),
            Line::from(format!("no answer: {e}")),
        ],
        (None, None) => vec![Line::from(format!("stratus top: {}", view.endpoint))],
    };
    frame.render_widget(Paragraph::new(head), top);

    let rows_data = view
        .status
        .as_ref()
        .map(|s| rows(s, view.sort, view.reverse, &view.filter))
        .unwrap_or_default();
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let header_row = Row::new(
        [
            "kind", "id", "in/s", "out/s", "refused", "failed", "queue", "lvl",
        ]
        .map(Cell::from),
    )
    .style(bold);
    let body: Vec<Row> = rows_data
        .iter()
        .map(|r| {
            Row::new(vec![
                Cell::from(kind_short(&r.kind).to_string()),
                Cell::from(r.id.clone()),
                Cell::from(Line::from(rate(r.incoming)).right_aligned()),
                Cell::from(Line::from(rate(r.outgoing)).right_aligned()),
                Cell::from(Line::from(rate(r.refused)).right_aligned()),
                Cell::from(Line::from(rate(r.failed)).right_aligned()),
                Cell::from(r.queue.map_or_else(String::new, |_| bar(r.fill(), 12))),
                Cell::from(r.level.map_or_else(String::new, |l| l.to_string())),
            ])
        })
        .collect();
    let table = Table::new(
        body,
        [
            Constraint::Length(4),
            Constraint::Min(14),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(12),
            Constraint::Length(3),
        ],
    )
    .header(header_row);
    frame.render_widget(table, table_area);

    let last_error = view
        .status
        .as_ref()
        .and_then(|s| s["recent_errors"].as_array()?.last().cloned())
        .map(|e| {
            format!(
                "{} {}",
                e["level"].as_str().unwrap_or_default(),
                e["message"].as_str().unwrap_or_default()
            )
        })
        .unwrap_or_default();
    frame.render_widget(Paragraph::new(last_error), errors);
    let keys = if view.editing {
        format!("filter: {}_  (Enter keeps, Esc clears)", view.filter)
    } else {
        format!(
            "q quit  s sort ({}{})  r reverse  / filter{}",
            view.sort.name(),
            if view.reverse { ", reversed" } else { "" },
            if view.filter.is_empty() {
                String::new()
            } else {
                format!(" [{}]", view.filter)
            }
        )
    };
    frame.render_widget(Paragraph::new(keys).style(bold), footer);
}

fn refresh(view: &mut View) {
    match crate::healthcheck::fetch(&view.endpoint, "/api/v1/status") {
        Ok((200, body)) => match serde_json::from_slice(&body) {
            Ok(status) => {
                view.status = Some(status);
                view.error = None;
            }
            Err(e) => view.error = Some(format!("not a status document: {e}")),
        },
        Ok((401, _)) => view.error = Some("401: the admin endpoint wants credentials".into()),
        Ok((code, _)) => {
            view.error = Some(format!(
                "HTTP {code} (is the `admin` or `zpages` extension enabled?)"
            ))
        }
        Err(e) => view.error = Some(e),
    }
}

/// Runs the view on the terminal until the user quits.
pub fn run(endpoint: &str) -> std::io::Result<()> {
    let mut terminal = ratatui::init();
    let result = run_on(&mut terminal, endpoint);
    ratatui::restore();
    result
}

fn run_on(terminal: &mut DefaultTerminal, endpoint: &str) -> std::io::Result<()> {
    let mut view = View {
        endpoint: endpoint.to_string(),
        status: None,
        error: None,
        sort: Sort::Graph,
        reverse: false,
        filter: String::new(),
        editing: false,
    };
    let mut next = Instant::now();
    loop {
        if Instant::now() >= next {
            refresh(&mut view);
            next = Instant::now() + REFRESH;
        }
        terminal.draw(|f| draw(f, &view))?;
        let wait = next.saturating_duration_since(Instant::now());
        if !event::poll(wait)? {
            continue;
        }
        let Event::Key(key) = event::read()? else {
            continue;
        };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Ok(());
        }
        if view.editing {
            match key.code {
                KeyCode::Enter => view.editing = false,
                KeyCode::Esc => {
                    view.filter.clear();
                    view.editing = false;
                }
                KeyCode::Backspace => {
                    view.filter.pop();
                }
                KeyCode::Char(c) => view.filter.push(c),
                _ => {}
            }
            continue;
        }
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
            KeyCode::Char('s') => view.sort = view.sort.next(),
            KeyCode::Char('r') => view.reverse = !view.reverse,
            KeyCode::Char('/') => view.editing = true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status() -> Value {
        json!({
            "version": "0.1.0", "health": "ready", "uptime_seconds": 3725.0,
            "process": {"rss_bytes": 10485760, "heap_bytes": 2097152,
                        "memory_limit_bytes": 419430400, "memory_limiter_refusing": false,
                        "cpu_seconds": 1.0, "cpu_percent": 3.25},
            "components": [
                {"kind": "receiver", "id": "otlp", "rates": {"incoming": 10000.0, "outgoing": 10000.0, "refused": 0.0, "failed": 0.0}},
                {"kind": "processor", "id": "batch", "rates": {"incoming": 10000.0, "outgoing": 9000.0, "refused": 0.0, "failed": 0.0}},
                {"kind": "exporter", "id": "otlp/gateway", "queue": {"size": 500, "capacity": 1000},
                 "rates": {"incoming": 200.0, "outgoing": 0.0, "refused": 5.0, "failed": 0.0}},
                {"kind": "extension", "id": "admin", "rates": null},
            ],
            "recent_errors": [],
        })
    }

    #[test]
    fn rows_sort_and_filter() {
        let s = status();
        let ids = |rows: Vec<ComponentRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            ids(rows(&s, Sort::Graph, false, "")),
            ["otlp", "batch", "otlp/gateway", "admin"]
        );
        assert_eq!(
            ids(rows(&s, Sort::Outgoing, false, "")),
            ["otlp", "batch", "otlp/gateway", "admin"]
        );
        assert_eq!(
            ids(rows(&s, Sort::Queue, false, "")),
            ["otlp/gateway", "otlp", "batch", "admin"]
        );
        assert_eq!(
            ids(rows(&s, Sort::Id, true, "")),
            ["otlp/gateway", "otlp", "batch", "admin"]
        );
        assert_eq!(
            ids(rows(&s, Sort::Graph, false, "OTLP")),
            ["otlp", "otlp/gateway"]
        );
        assert_eq!(
            ids(rows(&s, Sort::Graph, false, "exporter")),
            ["otlp/gateway"]
        );
        let gateway = &rows(&s, Sort::Graph, false, "gateway")[0];
        assert_eq!(gateway.queue, Some((500, 1000)));
        assert_eq!(gateway.refused, Some(5.0));
        assert_eq!(rows(&s, Sort::Graph, false, "admin")[0].incoming, None);
    }

    #[test]
    fn figures_read_at_a_glance() {
        assert_eq!(rate(None), "–");
        assert_eq!(rate(Some(0.0)), "0");
        assert_eq!(rate(Some(2.5)), "2.5");
        assert_eq!(rate(Some(950.0)), "950");
        assert_eq!(rate(Some(1_250.0)), "1.2k");
        assert_eq!(rate(Some(98_700.0)), "99k");
        assert_eq!(rate(Some(1_050_000.0)), "1.05M");
        assert_eq!(bar(0.5, 12), "[#####     ]");
        assert_eq!(bar(0.0, 6), "[    ]");
        assert_eq!(bar(2.0, 6), "[####]");
        let [first, second] = header(&status());
        assert_eq!(first, "stratus 0.1.0  ready  up 1h02m05s");
        assert_eq!(second, "heap 2.0 MiB of 400.0 MiB  RSS 10.0 MiB  CPU 3.2 %");
    }

    #[test]
    fn the_view_fits_80_by_24() {
        use ratatui::Terminal;
        use ratatui::backend::TestBackend;
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let view = View {
            endpoint: DEFAULT_ENDPOINT.into(),
            status: Some(status()),
            error: None,
            sort: Sort::Graph,
            reverse: false,
            filter: String::new(),
            editing: false,
        };
        terminal.draw(|f| draw(f, &view)).unwrap();
        let screen: Vec<String> = terminal
            .backend()
            .buffer()
            .content
            .chunks(80)
            .map(|row| row.iter().map(|c| c.symbol()).collect())
            .collect();
        let text = screen.join("\n");
        assert!(text.contains("otlp/gateway"), "{text}");
        assert!(text.contains("[#####     ]"), "{text}");
        assert!(text.contains("10k"), "{text}");
        assert!(text.contains("9.0k"), "{text}");
        assert!(text.contains("q quit"), "{text}");
    }
}
