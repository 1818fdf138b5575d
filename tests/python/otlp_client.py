"""A real OTLP client for stratus's end-to-end tests, built on the official
OpenTelemetry Python SDK and its OTLP exporters.

It produces spans, metrics and logs through the SDK, exports them to stratus over
gRPC or HTTP/protobuf, and writes what the SDK exported to a dump directory (one
file per signal: each export request as a 4-byte big-endian length and the
protobuf bytes) so a test can compare, message by message, what arrived.

Exits 1 if any export failed.
"""

import argparse
import logging
import os
import struct
import sys

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

failures = []


def ok(result):
    # Export result enums differ between signals and SDK versions; all name success SUCCESS.
    return getattr(result, "name", str(result)) == "SUCCESS"


def dump(path, request):
    with open(path, "ab") as f:
        data = request.SerializeToString()
        f.write(struct.pack(">I", len(data)))
        f.write(data)


class RecordingSpanExporter(SpanExporter):
    def __init__(self, inner, path):
        self.inner, self.path = inner, path

    def export(self, spans):
        result = self.inner.export(spans)
        if ok(result):
            dump(self.path, encode_spans(spans))
        else:
            failures.append(f"traces export failed: {result}")
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return True


class RecordingMetricExporter(MetricExporter):
    def __init__(self, inner, path):
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self.inner, self.path = inner, path

    def export(self, metrics_data, timeout_millis=10000, **kwargs):
        result = self.inner.export(metrics_data, timeout_millis=timeout_millis)
        if ok(result):
            dump(self.path, encode_metrics(metrics_data))
        else:
            failures.append(f"metrics export failed: {result}")
        return result

    def force_flush(self, timeout_millis=10000):
        return True

    def shutdown(self, timeout_millis=30000, **kwargs):
        self.inner.shutdown()


class RecordingLogExporter(LogExporter):
    def __init__(self, inner, path):
        self.inner, self.path = inner, path

    def export(self, batch):
        result = self.inner.export(batch)
        if ok(result):
            dump(self.path, encode_logs(batch))
        else:
            failures.append(f"logs export failed: {result}")
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return True


def exporters(protocol, endpoint, compression):
    if protocol == "grpc":
        from grpc import Compression
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        comp = {"none": Compression.NoCompression, "gzip": Compression.Gzip}[compression]
        kw = dict(endpoint=endpoint, insecure=True, compression=comp, timeout=10)
        return OTLPSpanExporter(**kw), OTLPMetricExporter(**kw), OTLPLogExporter(**kw)
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    comp = {"none": Compression.NoCompression, "gzip": Compression.Gzip}[compression]
    base = endpoint.rstrip("/")
    return (
        OTLPSpanExporter(endpoint=base + "/v1/traces", compression=comp, timeout=10),
        OTLPMetricExporter(endpoint=base + "/v1/metrics", compression=comp, timeout=10),
        OTLPLogExporter(endpoint=base + "/v1/logs", compression=comp, timeout=10),
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--protocol", choices=["grpc", "http"], required=True)
    p.add_argument("--endpoint", required=True, help="host:port (grpc) or http://host:port (http)")
    p.add_argument("--compression", choices=["none", "gzip"], default="none")
    p.add_argument("--spans", type=int, default=10)
    p.add_argument("--logs", type=int, default=5)
    p.add_argument("--metrics", action="store_true", help="also export metrics")
    p.add_argument("--dump", required=True, help="directory for what the SDK exported")
    p.add_argument("--service", default="stratus-e2e")
    args = p.parse_args()
    os.makedirs(args.dump, exist_ok=True)
    logging.basicConfig(level=logging.WARNING)

    resource = Resource.create({"service.name": args.service, "deployment.environment": "test"})
    span_exp, metric_exp, log_exp = exporters(args.protocol, args.endpoint, args.compression)

    if args.spans:
        tp = TracerProvider(resource=resource)
        tp.add_span_processor(
            BatchSpanProcessor(
                RecordingSpanExporter(span_exp, os.path.join(args.dump, "traces.bin")),
                max_export_batch_size=64,
            )
        )
        tracer = tp.get_tracer("stratus.e2e", "1.0.0")
        for i in range(args.spans):
            with tracer.start_as_current_span(
                f"request-{i}", kind=SpanKind.SERVER, attributes={"http.route": "/orders", "i": i}
            ) as span:
                with tracer.start_as_current_span("db", kind=SpanKind.CLIENT) as child:
                    child.set_attribute("db.system", "postgresql")
                    child.add_event("query", {"rows": 3})
                if i % 3 == 0:
                    span.set_status(Status(StatusCode.ERROR, "boom"))
        tp.force_flush()
        tp.shutdown()

    if args.metrics:
        reader = PeriodicExportingMetricReader(
            RecordingMetricExporter(metric_exp, os.path.join(args.dump, "metrics.bin")),
            export_interval_millis=3_600_000,
        )
        mp = MeterProvider(resource=resource, metric_readers=[reader])
        meter = mp.get_meter("stratus.e2e", "1.0.0")
        counter = meter.create_counter("requests", unit="1", description="requests served")
        hist = meter.create_histogram("latency", unit="ms")
        updown = meter.create_up_down_counter("queue.depth")
        for i in range(20):
            counter.add(1, {"route": f"/r{i % 4}"})
            hist.record(i * 1.5, {"route": f"/r{i % 2}"})
            updown.add(1 if i % 2 else -1)
        mp.force_flush()
        mp.shutdown()

    if args.logs:
        lp = LoggerProvider(resource=resource)
        lp.add_log_record_processor(
            BatchLogRecordProcessor(
                RecordingLogExporter(log_exp, os.path.join(args.dump, "logs.bin"))
            )
        )
        logger = lp.get_logger("stratus.e2e", "1.0.0")
        from opentelemetry._logs import LogRecord, SeverityNumber

        for i in range(args.logs):
            logger.emit(
                LogRecord(
                    body=f"log line {i}",
                    severity_number=SeverityNumber.WARN if i % 2 else SeverityNumber.INFO,
                    severity_text="WARN" if i % 2 else "INFO",
                    attributes={"i": i, "user": "ünïcode"},
                )
            )
        lp.force_flush()
        lp.shutdown()

    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
