"""An instrumented Python function for deploy/lambda/template.yaml.

The OpenTelemetry SDK exports to the stratus extension on localhost:4317
(OTEL_EXPORTER_OTLP_ENDPOINT, set by the template). The handler flushes its own span
processor before returning; stratus then holds the spans and sends them on before
Lambda freezes the environment.
"""

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("otel-example")


def handler(event, context):
    with tracer.start_as_current_span("process-event") as span:
        span.set_attribute("faas.invocation_id", context.aws_request_id)
        result = "Success"
    provider.force_flush()
    return result
