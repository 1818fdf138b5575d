"""Logs for the CloudWatch Logs end-to-end test, through the official OpenTelemetry
Python SDK logs API (LoggerProvider + BatchLogRecordProcessor + OTLPLogExporter over
gRPC).

Emits --count records: a text body, alternating INFO / ERROR severities, attributes
of several types, an explicit timestamp, and on every other record a trace context
(a span context made current with the SDK's context API). Prints what it sent as
JSON on stdout: {"resource": {...}, "scope": {...}, "records": [...]}, ids in
lowercase hex, so the test can compare with what arrived in CloudWatch Logs.

Exits 1 if the export failed.
"""

import argparse
import json
import sys
import time

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

failures = []


class CheckedExporter(LogExporter):
    def __init__(self, inner):
        self.inner = inner

    def export(self, batch):
        result = self.inner.export(batch)
        if getattr(result, "name", str(result)) != "SUCCESS":
            failures.append(f"logs export failed: {result}")
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True, help="host:port of the OTLP/gRPC receiver")
    p.add_argument("--count", type=int, default=6)
    args = p.parse_args()

    resource = Resource.create({"service.name": "checkout", "deployment.environment": "e2e"})
    lp = LoggerProvider(resource=resource)
    exporter = OTLPLogExporter(endpoint=args.endpoint, insecure=True, timeout=10)
    lp.add_log_record_processor(BatchLogRecordProcessor(CheckedExporter(exporter)))
    logger = lp.get_logger("checkout.orders", "2.3.1")

    sent = []
    now = time.time_ns()
    for i in range(args.count):
        error = i % 2 == 1
        record = {
            "body": f"order {i} {'failed' if error else 'placed'}",
            "severity_number": (SeverityNumber.ERROR if error else SeverityNumber.INFO).value,
            "severity_text": "ERROR" if error else "INFO",
            "attributes": {"order.id": i, "customer": f"c-{i % 3}", "paid": not error,
                           "amount": 12.5 + i},
            "timestamp_ns": now - (args.count - i) * 1_000_000,
        }
        context = None
        if i % 2 == 0:
            trace_id = 0x5B8EFFF798038103D269B633813FC600 + i
            span_id = 0x0102030405060700 + i
            ctx = SpanContext(trace_id, span_id, is_remote=False,
                              trace_flags=TraceFlags(TraceFlags.SAMPLED))
            context = trace.set_span_in_context(NonRecordingSpan(ctx))
            record["trace_id"] = f"{trace_id:032x}"
            record["span_id"] = f"{span_id:016x}"
            record["flags"] = 1
        logger.emit(
            timestamp=record["timestamp_ns"],
            context=context,
            severity_number=SeverityNumber(record["severity_number"]),
            severity_text=record["severity_text"],
            body=record["body"],
            attributes=record["attributes"],
        )
        sent.append(record)
    lp.force_flush()
    lp.shutdown()

    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)
    print(json.dumps({
        "resource": dict(resource.attributes),
        "scope": {"name": "checkout.orders", "version": "2.3.1"},
        "records": sent,
    }))


if __name__ == "__main__":
    main()
