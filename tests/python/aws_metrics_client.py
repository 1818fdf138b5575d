"""The metrics client of stratus's CloudWatch EMF end-to-end test, on the official
OpenTelemetry Python SDK metrics API and its OTLP/gRPC exporter.

Cumulative temporality for every instrument. It records, with the data point
attributes `service.name` and `operation` (the product brief's dimension set; see
the awsemf README on why `service.name` is on the points and not only on the
resource):

- a counter `http.server.requests` (5, then 7 more: 12 cumulative),
- a histogram `http.server.duration` (unit ms: 1, 5, 9 in the first cycle),
- a synchronous gauge `rpc.queue.depth` (4, then 6),
- a counter `db.calls` that the brief's selectors do not match (3, then 5 more),

and exports twice: two collection cycles, each one `force_flush`. Exits 1 if an
export failed.
"""

import argparse
import sys

from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
    _Gauge,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource

CUMULATIVE = {
    kind: AggregationTemporality.CUMULATIVE
    for kind in (
        Counter,
        UpDownCounter,
        Histogram,
        _Gauge,
        ObservableCounter,
        ObservableUpDownCounter,
        ObservableGauge,
    )
}

failures = []


class Recording(OTLPMetricExporter):
    """The SDK's OTLP exporter, remembering whether an export failed."""

    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        result = super().export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        if result != MetricExportResult.SUCCESS:
            failures.append(result)
        return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True, help="OTLP/gRPC, e.g. http://127.0.0.1:4317")
    args = parser.parse_args()

    exporter = Recording(endpoint=args.endpoint, insecure=True,
                         preferred_temporality=CUMULATIVE)
    # A long interval: the two exports are the two force_flush calls.
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    # No shutdown of the provider (here or at exit): it would collect and export a
    # third time.
    provider = MeterProvider(
        resource=Resource.create({"service.name": "checkout"}),
        metric_readers=[reader],
        shutdown_on_exit=False,
    )
    meter = provider.get_meter("io.opentelemetry.http")
    labels = {"service.name": "checkout", "operation": "GET"}
    requests = meter.create_counter("http.server.requests", unit="1")
    duration = meter.create_histogram("http.server.duration", unit="ms")
    depth = meter.create_gauge("rpc.queue.depth")
    db_calls = meter.create_counter("db.calls")

    requests.add(5, labels)
    for v in (1, 5, 9):
        duration.record(v, labels)
    depth.set(4, labels)
    db_calls.add(3, labels)
    if not provider.force_flush(10_000):
        failures.append("first flush")

    requests.add(7, labels)
    depth.set(6, labels)
    db_calls.add(5, labels)
    if not provider.force_flush(10_000):
        failures.append("second flush")

    exporter.shutdown()
    if failures:
        print(f"exports failed: {failures}", file=sys.stderr)
        sys.exit(1)
    print("exported twice")


if __name__ == "__main__":
    main()
