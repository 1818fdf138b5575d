//! `/api/v1/tap`: a stream of the data leaving one component, as OTLP/JSON lines,
//! what `stratus tap` prints.
//!
//! `GET /api/v1/tap?component=ID[&kind=receiver|processor|exporter|connector]
//! [&signal=traces|metrics|logs][&limit=N][&rate=R]` answers `application/x-ndjson`:
//! a first line `{"stratusTap":{...}}` naming what is tapped, then one OTLP/JSON export
//! request per sampled batch, and a `{"stratusTap":{"dropped_batches":...}}` line
//! whenever samples were dropped because the reader did not keep up. `rate` caps the
//! items a second (default 100; 0 for no cap); `limit` ends the stream after that many
//! items. Samples pass through the redaction processors downstream of the tap point.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Frame;
use stratus_core::tap::Tap;
use stratus_core::telemetry::Registry;
use stratus_core::{Kind, Signal};

/// Items a second a tap takes when the request does not say.
pub const DEFAULT_RATE: f64 = 100.0;

/// What a tap request asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct TapRequest {
    /// The component id.
    pub component: String,
    /// Its kind, when the id alone is ambiguous.
    pub kind: Option<Kind>,
    /// One signal, or every signal.
    pub signal: Option<Signal>,
    /// Items after which the stream ends.
    pub limit: Option<u64>,
    /// Items a second at most; 0 is no cap.
    pub rate: f64,
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn kind_of(s: &str) -> Option<Kind> {
    match s {
        "receiver" => Some(Kind::Receiver),
        "processor" => Some(Kind::Processor),
        "exporter" => Some(Kind::Exporter),
        "connector" => Some(Kind::Connector),
        _ => None,
    }
}

impl TapRequest {
    /// Reads the query string of a tap request.
    pub fn parse(query: Option<&str>) -> Result<TapRequest, String> {
        let mut req = TapRequest {
            component: String::new(),
            kind: None,
            signal: None,
            limit: None,
            rate: DEFAULT_RATE,
        };
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v);
            match k {
                "component" => req.component = v,
                "kind" => {
                    req.kind = Some(kind_of(&v).ok_or_else(|| {
                        format!("kind `{v}`: one of receiver, processor, exporter, connector")
                    })?)
                }
                "signal" => {
                    req.signal = Some(match v.as_str() {
                        "traces" => Signal::Traces,
                        "metrics" => Signal::Metrics,
                        "logs" => Signal::Logs,
                        _ => return Err(format!("signal `{v}`: one of traces, metrics, logs")),
                    })
                }
                "limit" => {
                    req.limit = Some(
                        v.parse()
                            .map_err(|_| format!("limit `{v}`: a count of items"))?,
                    )
                }
                "rate" => {
                    req.rate = v
                        .parse::<f64>()
                        .ok()
                        .filter(|r| r.is_finite() && *r >= 0.0)
                        .ok_or_else(|| format!("rate `{v}`: items a second, 0 for no cap"))?
                }
                other => return Err(format!("unknown parameter `{other}`")),
            }
        }
        if req.component.is_empty() {
            return Err("component: the id of the component to tap (`component=otlp`)".into());
        }
        Ok(req)
    }

    /// Subscribes to the tap point the request names in `registry`.
    pub fn subscribe(&self, registry: &Registry) -> Result<(Kind, Tap), String> {
        let points: Vec<_> = registry
            .tap_points(&self.component)
            .into_iter()
            .filter(|(k, _)| self.kind.is_none_or(|want| want == *k))
            .collect();
        match points.as_slice() {
            [] => Err(format!(
                "no component `{}`{} in the running pipelines",
                self.component,
                self.kind
                    .map_or_else(String::new, |k| format!(" of kind {}", k.as_str()))
            )),
            [(kind, point)] => Ok((*kind, point.subscribe(self.signal, self.rate))),
            several => Err(format!(
                "`{}` names a {}: say which with kind=",
                self.component,
                several
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" and a ")
            )),
        }
    }
}

struct State {
    tap: Tap,
    limit: Option<u64>,
    sent: u64,
    reported: (u64, u64),
    tick: tokio::time::Interval,
    header: Option<Bytes>,
    done: bool,
}

fn drops(state: &State) -> (u64, u64) {
    (
        state.tap.stats.dropped_batches.load(Ordering::Relaxed),
        state.tap.stats.dropped_items.load(Ordering::Relaxed),
    )
}

fn drop_line(state: &State, (batches, items): (u64, u64)) -> Bytes {
    let skipped = state.tap.stats.skipped_items.load(Ordering::Relaxed);
    Bytes::from(format!(
        "{{\"stratusTap\":{{\"dropped_batches\":{batches},\"dropped_items\":{items},\
         \"skipped_items\":{skipped},\"message\":\"the tap's reader did not keep up; \
         samples were dropped, the pipeline was not slowed\"}}}}\n"
    ))
}

/// The response body of a tap: the header line, then samples and drop reports.
pub fn stream(
    req: &TapRequest,
    kind: Kind,
    tap: Tap,
) -> impl futures::Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + 'static {
    let header = serde_json::json!({"stratusTap": {
        "component": req.component,
        "kind": kind.as_str(),
        "signal": req.signal.map(Signal::as_str),
        "rate": req.rate,
        "limit": req.limit,
    }});
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = State {
        tap,
        limit: req.limit,
        sent: 0,
        reported: (0, 0),
        tick,
        header: Some(Bytes::from(format!("{header}\n"))),
        done: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        if let Some(header) = state.header.take() {
            return Some((Ok(Frame::data(header)), state));
        }
        if state.done {
            return None;
        }
        loop {
            tokio::select! {
                batch = state.tap.rx.recv() => {
                    let batch = batch?;
                    state.sent += batch.item_count() as u64;
                    let mut line = stratus_core::pdata::json::encode_request(&batch.payload);
                    line.push(b'\n');
                    if state.limit.is_some_and(|l| state.sent >= l) {
                        state.done = true;
                    }
                    return Some((Ok(Frame::data(Bytes::from(line))), state));
                }
                _ = state.tick.tick() => {
                    let now = drops(&state);
                    if now != state.reported {
                        state.reported = now;
                        let line = drop_line(&state, now);
                        return Some((Ok(Frame::data(line)), state));
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_stratus_tap_sends() {
        let r = TapRequest::parse(Some(
            "component=otlp%2Feu&kind=exporter&signal=logs&limit=20&rate=0",
        ))
        .unwrap();
        assert_eq!(r.component, "otlp/eu");
        assert_eq!(r.kind, Some(Kind::Exporter));
        assert_eq!(r.signal, Some(Signal::Logs));
        assert_eq!(r.limit, Some(20));
        assert_eq!(r.rate, 0.0);
        let d = TapRequest::parse(Some("component=batch")).unwrap();
        assert_eq!(
            (d.kind, d.signal, d.limit, d.rate),
            (None, None, None, 100.0)
        );
        for bad in [
            None,
            Some("kind=receiver"),
            Some("component=x&signal=spans"),
            Some("component=x&rate=-1"),
            Some("component=x&limit=many"),
            Some("component=x&kind=extension"),
            Some("component=x&colour=blue"),
        ] {
            assert!(TapRequest::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("a%zz"), "a%zz");
    }

    #[test]
    fn names_what_it_cannot_tap() {
        let registry = Registry::new();
        registry.tap_point(Kind::Receiver, "otlp");
        registry.tap_point(Kind::Exporter, "otlp");
        let req = TapRequest::parse(Some("component=otlp")).unwrap();
        let err = req.subscribe(&registry).err().unwrap();
        assert!(
            err.contains("a receiver and a exporter") || err.contains("kind="),
            "{err}"
        );
        let req = TapRequest::parse(Some("component=otlp&kind=exporter")).unwrap();
        assert_eq!(req.subscribe(&registry).unwrap().0, Kind::Exporter);
        let req = TapRequest::parse(Some("component=nope")).unwrap();
        assert!(
            req.subscribe(&registry)
                .err()
                .unwrap()
                .contains("no component `nope`")
        );
    }
}
