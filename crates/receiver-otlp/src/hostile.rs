//! Builders of hostile request bodies for the tests: bombs, deep nesting, raw
//! protobuf that prost would refuse to encode.

use std::io::Write;

/// A gzip member whose deflate stream repeats one sync-flushed block of zeros, so
/// it inflates to `mib` MiB while staying about 1 KiB per MiB.
pub fn gzip_bomb(mib: usize) -> Vec<u8> {
    use flate2::write::DeflateEncoder;
    let zeros = vec![0u8; 1 << 20];
    let mut enc = DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&zeros).unwrap();
    enc.flush().unwrap();
    let first = enc.get_ref().len();
    enc.write_all(&zeros).unwrap();
    enc.flush().unwrap();
    let second = enc.get_ref()[first..].to_vec();
    let head = enc.get_ref()[..first].to_vec();
    let tail = {
        let all = enc.finish().unwrap();
        all[first + second.len()..].to_vec()
    };
    let mut crc = crc32fast::Hasher::new();
    crc.update(&zeros);
    let one = crc.clone();
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend_from_slice(&head);
    for _ in 1..mib {
        out.extend_from_slice(&second);
        crc.combine(&one);
    }
    out.extend_from_slice(&tail);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&((mib as u32) << 20).to_le_bytes());
    out
}

/// An `ExportTraceServiceRequest` whose one span carries an attribute `k` with
/// `value` (an encoded `AnyValue`), and whose span name is `name` (raw bytes).
pub fn span_request(name: &[u8], value: &[u8]) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
        out.push(tag);
        let mut n = body.len();
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend_from_slice(body);
    }
    let mut kv = Vec::new();
    field(&mut kv, 0x0a, b"k");
    field(&mut kv, 0x12, value);
    let mut span = Vec::new();
    field(&mut span, 0x2a, name); // Span.name = 5
    field(&mut span, 0x4a, &kv); // Span.attributes = 9
    let mut scope = Vec::new();
    field(&mut scope, 0x12, &span);
    let mut resource = Vec::new();
    field(&mut resource, 0x12, &scope);
    let mut req = Vec::new();
    field(&mut req, 0x0a, &resource);
    req
}

/// An `AnyValue` nested `depth` arrays deep, built back to front (encoding it
/// with prost would recurse as deep).
pub fn nested_any_value(depth: usize) -> Vec<u8> {
    let mut rev: Vec<u8> = Vec::new();
    let push = |rev: &mut Vec<u8>, tag: u8| {
        let mut n = rev.len();
        let mut varint = Vec::new();
        while n >= 0x80 {
            varint.push((n as u8) | 0x80);
            n >>= 7;
        }
        varint.push(n as u8);
        rev.extend(varint.iter().rev());
        rev.push(tag);
    };
    for _ in 0..depth {
        push(&mut rev, 0x0a); // ArrayValue.values = 1
        push(&mut rev, 0x2a); // AnyValue.array_value = 5
    }
    rev.reverse();
    rev
}

/// OTLP/JSON with one span whose attribute value nests `depth` arrays deep.
pub fn nested_json(depth: usize) -> String {
    let mut value = String::from("{}");
    value = format!(
        "{}{value}{}",
        r#"{"arrayValue":{"values":["#.repeat(depth),
        "]}}".repeat(depth)
    );
    format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"name":"s","attributes":[{{"key":"k","value":{value}}}]}}]}}]}}]}}"#
    )
}
