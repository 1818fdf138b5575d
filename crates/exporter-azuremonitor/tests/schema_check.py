"""Validates Application Insights envelopes against the Track-API model classes that
azure-monitor-opentelemetry-exporter generates from the service's TypeSpec.

Reads one envelope JSON per line on stdin. For every envelope: builds a TelemetryItem from
the raw mapping, then walks the model tree (TelemetryItem -> MonitorBase -> the baseData
class named by baseType -> nested models) and checks that
  * every key is a field of the model (no unknown fields),
  * every required field is present,
  * every value deserialises and has the annotated type (str, int, float, bool,
    dict[str, str], dict[str, float], list[Model], datetime in RFC 3339).
Prints {"checked": N, "errors": [...]} as JSON; exit code 0 either way.
"""

import datetime
import enum
import json
import re
import sys
import typing

from azure.monitor.opentelemetry.exporter._generated.exporter import models

BASE_TYPES = {
    "RequestData": models.RequestData,
    "RemoteDependencyData": models.RemoteDependencyData,
    "ExceptionData": models.TelemetryExceptionData,
    "MessageData": models.MessageData,
    "MetricData": models.MetricsData,
    "EventData": models.TelemetryEventData,
}
NAMES = {
    "RequestData": "Microsoft.ApplicationInsights.Request",
    "RemoteDependencyData": "Microsoft.ApplicationInsights.RemoteDependency",
    "ExceptionData": "Microsoft.ApplicationInsights.Exception",
    "MessageData": "Microsoft.ApplicationInsights.Message",
    "MetricData": "Microsoft.ApplicationInsights.Metric",
    "EventData": "Microsoft.ApplicationInsights.Event",
}
# "Request duration in format: DD.HH:MM:SS.MMMMMM. Must be less than 1000 days."
DURATION = re.compile(r"^\d{1,3}\.\d{2}:\d{2}:\d{2}\.\d{3,7}$")


def fields(cls):
    """rest name -> (attribute name, annotation, required) of a model class."""
    ns = dict(vars(sys.modules[cls.__module__]))
    ns["_models"] = models  # the generated code's forward references ("_models.X")
    hints = typing.get_type_hints(cls, ns)
    out = {}
    for attr, rf in cls._attr_to_rest_field.items():
        if list(getattr(rf, "_visibility", None) or []) == ["read"]:
            continue  # read-only discriminator (kind), never sent
        ann = hints.get(attr)
        args = typing.get_args(ann)
        optional = typing.get_origin(ann) is typing.Union and type(None) in args
        if optional:
            rest = tuple(a for a in args if a is not type(None))
            ann = rest[0] if len(rest) == 1 else typing.Union[rest]
        out[rf._rest_name] = (attr, ann, not optional)
    return out


def enum_of(ann):
    """The Enum class of a `Union[str, SomeEnum]` annotation, if it is one."""
    if typing.get_origin(ann) is typing.Union:
        for a in typing.get_args(ann):
            if isinstance(a, type) and issubclass(a, enum.Enum):
                return a
    return None


def check_value(path, value, ann, errors):
    origin = typing.get_origin(ann)
    enum_cls = enum_of(ann)
    if enum_cls is not None:
        # An enum field (severityLevel, dataPointType): the member name as a string, or its
        # ordinal, which is what Microsoft's exporters send (`"severityLevel": 2`) and the
        # service accepts.
        names = [m.value.lower() for m in enum_cls]
        if isinstance(value, bool) or not (
            (isinstance(value, str) and value.lower() in names)
            or (isinstance(value, int) and 0 <= value < len(names))
        ):
            errors.append(f"{path}: not a {enum_cls.__name__}: {value!r}")
    elif ann is str:
        if not isinstance(value, str):
            errors.append(f"{path}: want string, got {value!r}")
    elif ann is bool:
        if not isinstance(value, bool):
            errors.append(f"{path}: want bool, got {value!r}")
    elif ann is int:
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{path}: want int, got {value!r}")
    elif ann is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"{path}: want number, got {value!r}")
    elif ann is datetime.datetime:
        if not isinstance(value, str) or not value.endswith("Z"):
            errors.append(f"{path}: want RFC 3339 UTC time, got {value!r}")
    elif origin is dict:
        _, vt = typing.get_args(ann)
        if not isinstance(value, dict):
            errors.append(f"{path}: want object, got {value!r}")
            return
        for k, v in value.items():
            check_value(f"{path}.{k}", v, vt, errors)
    elif origin is list:
        (it,) = typing.get_args(ann)
        if not isinstance(value, list):
            errors.append(f"{path}: want array, got {value!r}")
            return
        for i, v in enumerate(value):
            check_value(f"{path}[{i}]", v, it, errors)
    elif isinstance(ann, type) and issubclass(ann, models.MonitorDomain):
        pass  # checked by the caller with the class named by baseType
    elif isinstance(ann, type) and hasattr(ann, "_attr_to_rest_field"):
        check_model(path, value, ann, errors)
    else:
        errors.append(f"{path}: no rule for annotation {ann!r}")


def check_model(path, raw, cls, errors):
    if not isinstance(raw, dict):
        errors.append(f"{path}: want object for {cls.__name__}, got {raw!r}")
        return None
    model = cls(raw)
    spec = fields(cls)
    for key in raw:
        if key not in spec:
            errors.append(f"{path}.{key}: not a field of {cls.__name__}")
    for rest, (attr, ann, required) in spec.items():
        if rest not in raw:
            if required:
                errors.append(f"{path}.{rest}: required by {cls.__name__}, missing")
            continue
        try:
            getattr(model, attr)  # deserialises (datetimes, nested models)
        except Exception as e:  # noqa: BLE001
            errors.append(f"{path}.{rest}: does not deserialise: {e}")
            continue
        check_value(f"{path}.{rest}", raw[rest], ann, errors)
    return model


def check_envelope(i, raw, errors):
    item = check_model(f"[{i}]", raw, models.TelemetryItem, errors)
    if item is None:
        return
    try:
        t = item.time
        if not isinstance(t, datetime.datetime) or t.tzinfo is None:
            errors.append(f"[{i}].time: not an aware datetime: {t!r}")
    except Exception as e:  # noqa: BLE001
        errors.append(f"[{i}].time: {e}")
    data = raw.get("data")
    if not isinstance(data, dict):
        errors.append(f"[{i}].data: missing")
        return
    base_type = data.get("baseType")
    cls = BASE_TYPES.get(base_type)
    if cls is None:
        errors.append(f"[{i}].data.baseType: unknown {base_type!r}")
        return
    if raw.get("name") != NAMES[base_type]:
        errors.append(f"[{i}].name: {raw.get('name')!r} does not match baseType {base_type}")
    base = data.get("baseData")
    check_model(f"[{i}].data.baseData", base, cls, errors)
    if isinstance(base, dict) and "duration" in base and not DURATION.match(str(base["duration"])):
        errors.append(f"[{i}].data.baseData.duration: bad format {base['duration']!r}")


def main():
    errors = []
    n = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        check_envelope(n, json.loads(line), errors)
        n += 1
    print(json.dumps({"checked": n, "errors": errors}))


if __name__ == "__main__":
    main()
