//! What the queue's files hold: framed records and the cursor (see the module docs of
//! [`super`] for the layout).

use std::collections::BTreeSet;
use std::net::SocketAddr;

use bytes::Bytes;
use prost::Message;
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use stratus_core::{Metadata, Payload, Signal, Telemetry};

use crate::config::Sizer;

/// `[len u32 LE][crc32 u32 LE]` before every record's payload.
pub(crate) const FRAME: usize = 8;
/// The largest record accepted on replay; a larger length means corruption.
pub(crate) const MAX_RECORD: u32 = 512 * 1024 * 1024;
const FORMAT: u8 = 1;

/// What a record says about itself.
pub(crate) struct Header {
    pub items: u64,
    pub bytes: u64,
}

impl Header {
    pub(crate) fn of(data: &Telemetry) -> Header {
        Header {
            items: data.item_count() as u64,
            bytes: data.payload.encoded_len() as u64,
        }
    }

    pub(crate) fn size(&self, sizer: Sizer) -> usize {
        match sizer {
            Sizer::Requests => 1,
            Sizer::Items => self.items as usize,
            Sizer::Bytes => self.bytes as usize,
        }
    }
}

fn signal_byte(s: Signal) -> u8 {
    match s {
        Signal::Traces => 1,
        Signal::Metrics => 2,
        Signal::Logs => 3,
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// One framed record (`[len][crc32][payload]`), ready to append.
pub(crate) fn encode_frame(header: &Header, data: &Telemetry) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME + 64 + header.bytes as usize);
    out.extend_from_slice(&[0u8; FRAME]);
    out.push(FORMAT);
    out.push(signal_byte(data.signal()));
    out.extend_from_slice(&header.items.to_le_bytes());
    out.extend_from_slice(&header.bytes.to_le_bytes());
    let addr = data
        .metadata
        .client_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    put_str(&mut out, &addr);
    let headers: Vec<_> = data.metadata.headers().collect();
    out.extend_from_slice(&(headers.len() as u32).to_le_bytes());
    for (k, values) in headers {
        put_str(&mut out, k);
        out.extend_from_slice(&(values.len() as u32).to_le_bytes());
        for v in values {
            put_str(&mut out, v);
        }
    }
    data.payload.write_request(&mut out);
    let len = (out.len() - FRAME) as u32;
    let crc = crc32(&out[FRAME..]);
    out[..4].copy_from_slice(&len.to_le_bytes());
    out[4..FRAME].copy_from_slice(&crc.to_le_bytes());
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("record header is truncated".into());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.bytes(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.bytes(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn string(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.bytes(n)?.to_vec()).map_err(|_| "bad text in record".into())
    }
}

/// A record's header, metadata and where its OTLP request starts in the payload.
pub(crate) struct Decoded {
    pub header: Header,
    pub signal: Signal,
    pub metadata: Metadata,
    /// Offset of the OTLP export request in the payload.
    pub body: usize,
}

/// Parses the header of a record's payload.
pub(crate) fn decode_header(payload: &[u8]) -> Result<Decoded, String> {
    let mut r = Reader(payload);
    if r.u8()? != FORMAT {
        return Err("unknown record format".into());
    }
    let signal = match r.u8()? {
        1 => Signal::Traces,
        2 => Signal::Metrics,
        3 => Signal::Logs,
        _ => return Err("unknown signal in record".into()),
    };
    let items = r.u64()?;
    let bytes = r.u64()?;
    let addr = r.string()?;
    let client: Option<SocketAddr> = if addr.is_empty() {
        None
    } else {
        Some(addr.parse().map_err(|_| "bad client address in record")?)
    };
    let n = r.u32()?;
    let mut headers = Vec::new();
    for _ in 0..n {
        let k = r.string()?;
        let m = r.u32()?;
        for _ in 0..m {
            headers.push((k.clone(), r.string()?));
        }
    }
    Ok(Decoded {
        header: Header { items, bytes },
        signal,
        metadata: Metadata::new(client, headers),
        body: payload.len() - r.0.len(),
    })
}

/// Decodes a signal's OTLP export request.
pub(crate) fn decode_body(signal: Signal, body: &[u8]) -> Result<Payload, String> {
    let bad = |e: prost::DecodeError| format!("bad OTLP data in record: {e}");
    Ok(match signal {
        Signal::Traces => Payload::Traces(
            ExportTraceServiceRequest::decode(body)
                .map_err(bad)?
                .resource_spans,
        ),
        Signal::Metrics => Payload::Metrics(
            ExportMetricsServiceRequest::decode(body)
                .map_err(bad)?
                .resource_metrics,
        ),
        Signal::Logs => Payload::Logs(
            ExportLogsServiceRequest::decode(body)
                .map_err(bad)?
                .resource_logs,
        ),
    })
}

/// Decodes a whole record's payload.
pub(crate) fn decode_record(payload: &[u8]) -> Result<Telemetry, String> {
    let d = decode_header(payload)?;
    let body = decode_body(d.signal, &payload[d.body..])?;
    Ok(Telemetry::with_metadata(body, d.metadata))
}

/// Checks a frame read back (`[len][crc][payload]`) and returns its payload.
pub(crate) fn check_frame(frame: Bytes) -> Result<Bytes, String> {
    let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let payload = frame.slice(FRAME..);
    if crc32(&payload) != crc {
        return Err("checksum mismatch".into());
    }
    Ok(payload)
}

// ---- the cursor ----

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// Decodes a cursor file (either layout, see the module docs); `None` when damaged.
pub(crate) fn decode_cursor(data: &[u8]) -> Option<(u64, BTreeSet<u64>)> {
    let (body, crc) = data.split_at_checked(data.len().checked_sub(4)?)?;
    if crc32(body) != u32::from_le_bytes(crc.try_into().ok()?) {
        return None;
    }
    let floor = u64_at(body, 0)?;
    if body.len() == 8 {
        return Some((floor, Default::default()));
    }
    let count = u32::from_le_bytes(body.get(8..12)?.try_into().ok()?) as usize;
    if body.len() != 12 + count.checked_mul(8)? {
        return None;
    }
    let done = (0..count)
        .map(|i| u64_at(body, 12 + i * 8))
        .collect::<Option<_>>()?;
    Some((floor, done))
}

pub(crate) fn encode_cursor(floor: u64, done_above: &BTreeSet<u64>) -> Vec<u8> {
    let mut data = Vec::with_capacity(16 + done_above.len() * 8);
    data.extend_from_slice(&floor.to_le_bytes());
    data.extend_from_slice(&(done_above.len() as u32).to_le_bytes());
    for seq in done_above {
        data.extend_from_slice(&seq.to_le_bytes());
    }
    data.extend_from_slice(&crc32(&data).to_le_bytes());
    data
}

/// Lookup tables of CRC-32 (reflected polynomial 0xEDB88320), sliced by 8:
/// `TABLES[0]` is the byte-at-a-time table, `TABLES[k]` advances `k` more bytes.
const TABLES: [[u32; 256]; 8] = {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    t
};

/// CRC-32 (IEEE 802.3, the one zlib and gzip use), eight bytes at a time.
pub fn crc32(data: &[u8]) -> u32 {
    let t = &TABLES;
    let mut crc = !0u32;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let one = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) ^ crc;
        let two = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
        crc = t[7][(one & 0xff) as usize]
            ^ t[6][((one >> 8) & 0xff) as usize]
            ^ t[5][((one >> 16) & 0xff) as usize]
            ^ t[4][(one >> 24) as usize]
            ^ t[3][(two & 0xff) as usize]
            ^ t[2][((two >> 8) & 0xff) as usize]
            ^ t[1][((two >> 16) & 0xff) as usize]
            ^ t[0][(two >> 24) as usize];
    }
    for &b in chunks.remainder() {
        crc = t[0][((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}
