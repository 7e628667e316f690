"""Decode OTLP trace exports (protobuf and OTLP/JSON) into normalised spans.

What real clients send (OTLP/HTTP): ``application/x-protobuf`` (every SDK exporter's default) or
``application/json``. OTLP/JSON uses lowerCamelCase keys, hex trace/span ids, 64-bit integers as
decimal strings and enums as integers; protobuf's generic JSON conversion emits base64 ids instead,
so both are accepted, as are numeric int64s and snake_case keys.

A payload that is not an OTLP trace export at all raises :class:`OtlpFormatError` (the API answers
400). A malformed individual span (missing or invalid ids, end before start) is rejected and
counted, and the rest of the export is accepted: a partial success, which clients do not retry.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from mao.domain.formats.semconv import assign_agents, build_span, framework_from_resource
from mao.domain.models import Span

try:  # orjson parses OTLP/JSON several times faster than the standard library; optional
    from orjson import loads as _json_loads
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    _json_loads = json.loads

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MAX_ERRORS_KEPT = 20
DEFAULT_MAX_DECOMPRESSED = 64 * 1024 * 1024

_TRACE_ID_BYTES = 16
_SPAN_ID_BYTES = 8


class OtlpFormatError(ValueError):
    """The body is not an OTLP trace export (the reason is the message)."""


class PayloadTooLargeError(ValueError):
    """A compressed body expands beyond the allowed size."""


@dataclass(slots=True)
class OtlpDecodeResult:
    spans: list[Span] = field(default_factory=list)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def reject(self, message: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(message)

    @property
    def error_message(self) -> str:
        if not self.rejected:
            return ""
        more = self.rejected - len(self.errors)
        suffix = f" (and {more} more)" if more > 0 else ""
        return "; ".join(self.errors) + suffix

    def response_body(self) -> dict[str, Any]:
        """OTLP/JSON ``ExportTraceServiceResponse``: ``partialSuccess`` only when spans were refused."""
        if not self.rejected:
            return {}
        return {"partialSuccess": {"rejectedSpans": str(self.rejected), "errorMessage": self.error_message}}


def maybe_gunzip(body: bytes, encoding: str | None, max_bytes: int = DEFAULT_MAX_DECOMPRESSED) -> bytes:
    """Undo ``Content-Encoding: gzip`` (or ``deflate``), refusing output larger than ``max_bytes``.

    Decompresses incrementally so a small gzip bomb never allocates its full expansion.
    """
    enc = (encoding or "").strip().lower()
    if enc in ("", "identity"):
        return body
    if enc in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif enc == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise OtlpFormatError(f"unsupported Content-Encoding {encoding!r} (use gzip or identity)")
    decompressor = zlib.decompressobj(wbits)
    try:
        out = decompressor.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise OtlpFormatError(f"body is not valid {enc} data: {exc}") from None
    if len(out) > max_bytes or decompressor.unconsumed_tail:
        raise PayloadTooLargeError(f"decompressed body exceeds {max_bytes} bytes")
    if not decompressor.eof:
        raise OtlpFormatError(f"truncated {enc} body")
    return out


def decode_otlp(body: bytes, content_type: str) -> OtlpDecodeResult:
    """Decode an OTLP trace export; ``content_type`` may carry parameters (``; charset=utf-8``)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in (PROTOBUF, "application/protobuf", "application/vnd.google.protobuf"):
        result = _decode_protobuf(body)
    elif media == JSON or media.endswith("+json"):
        result = _decode_json(body)
    else:
        raise OtlpFormatError(
            f"unsupported Content-Type {content_type!r}: send application/x-protobuf or application/json")
    assign_agents(result.spans)
    return result


# --- protobuf ------------------------------------------------------------------------------------


def _pb_value(value: Any) -> Any:
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "bool_value":
        return value.bool_value
    if which == "double_value":
        return value.double_value
    if which == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


def _pb_attrs(kvs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in kvs:
        value = kv.value
        which = value.WhichOneof("value")
        if which == "string_value":
            out[kv.key] = value.string_value
        elif which == "int_value":
            out[kv.key] = value.int_value
        else:
            out[kv.key] = _pb_value(value)
    return out


def _decode_protobuf(body: bytes) -> OtlpDecodeResult:
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise OtlpFormatError(f"body is not an OTLP protobuf ExportTraceServiceRequest: {exc}") from None
    if body and not request.resource_spans:
        raise OtlpFormatError("protobuf body holds no resource_spans")

    result = OtlpDecodeResult()
    spans_out = result.spans
    for resource_spans in request.resource_spans:
        resource = _pb_attrs(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            framework = framework_from_resource(resource, scope_spans.scope.name)
            for span in scope_spans.spans:
                trace_id = span.trace_id
                span_id = span.span_id
                name = span.name
                if len(trace_id) != _TRACE_ID_BYTES or not any(trace_id):
                    result.reject(f"span {name!r}: invalid trace_id (need 16 non-zero bytes)")
                    continue
                if len(span_id) != _SPAN_ID_BYTES or not any(span_id):
                    result.reject(f"span {name!r}: invalid span_id (need 8 non-zero bytes)")
                    continue
                parent = span.parent_span_id
                parent_hex: str | None = None
                if parent and any(parent):
                    if len(parent) != _SPAN_ID_BYTES:
                        result.reject(f"span {span_id.hex()}: invalid parent_span_id")
                        continue
                    parent_hex = parent.hex()
                start = span.start_time_unix_nano
                end = span.end_time_unix_nano
                if not start:
                    result.reject(f"span {span_id.hex()}: missing start time")
                    continue
                if end and end < start:
                    result.reject(f"span {span_id.hex()}: end time before start time")
                    continue
                events = [
                    {"name": ev.name, "time_ns": ev.time_unix_nano, "attributes": _pb_attrs(ev.attributes)}
                    for ev in span.events
                ] if span.events else []
                status = span.status
                spans_out.append(build_span(
                    trace_id=trace_id.hex(),
                    span_id=span_id.hex(),
                    parent_span_id=parent_hex,
                    name=name,
                    start_ns=start,
                    end_ns=end or None,
                    status_code=status.code,
                    status_message=status.message or None,
                    attributes=_pb_attrs(span.attributes),
                    events=events,
                    resource=resource,
                    framework=framework,
                ))
    return result


# --- OTLP/JSON -----------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return _int64(value["intValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [_json_value(v) for v in (value["arrayValue"] or {}).get("values", ())]
    if "kvlistValue" in value:
        return _json_attrs((value["kvlistValue"] or {}).get("values", ()))
    if "bytesValue" in value:
        return value["bytesValue"]
    # snake_case, as some hand-written clients send it
    for key in ("string_value", "int_value", "bool_value", "double_value"):
        if key in value:
            return _json_value({_CAMEL[key]: value[key]})
    return None


_CAMEL = {"string_value": "stringValue", "int_value": "intValue", "bool_value": "boolValue",
          "double_value": "doubleValue"}


def _json_attrs(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not items:
        return out
    for kv in items:
        value = kv.get("value")
        if value.__class__ is dict:
            string = value.get("stringValue")
            out[kv["key"]] = string if string is not None else _json_value(value)
        else:
            out[kv["key"]] = None
    return out


def _int64(value: Any) -> int:
    if value.__class__ is int:
        return value
    if isinstance(value, str):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"not a 64-bit integer: {value!r}")


def _id(value: Any, size: int) -> str | None:
    """Hex id of ``size`` bytes from hex or base64 text; ``None`` if invalid or all zero."""
    if value.__class__ is not str or not value:
        return None
    raw: bytes | None = None
    if len(value) == 2 * size:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = None
        if raw is not None:
            return value.lower() if any(raw) else None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        try:
            raw = base64.urlsafe_b64decode(value)
        except (binascii.Error, ValueError):
            return None
    if len(raw) != size or not any(raw):
        return None
    return raw.hex()


def _decode_json(body: bytes) -> OtlpDecodeResult:
    try:
        data = _json_loads(body)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise OtlpFormatError(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise OtlpFormatError("OTLP/JSON body must be an object with resourceSpans")
    resource_spans_list = data.get("resourceSpans")
    if resource_spans_list is None:
        resource_spans_list = data.get("resource_spans")
    if resource_spans_list is None:
        if data:
            raise OtlpFormatError("not an OTLP trace export: no resourceSpans")
        resource_spans_list = []
    if not isinstance(resource_spans_list, list):
        raise OtlpFormatError("resourceSpans must be a list")

    result = OtlpDecodeResult()
    spans_out = result.spans
    for resource_spans in resource_spans_list:
        if not isinstance(resource_spans, dict):
            raise OtlpFormatError("each resourceSpans entry must be an object")
        resource_obj = resource_spans.get("resource") or {}
        try:
            resource = _json_attrs(resource_obj.get("attributes"))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise OtlpFormatError(f"invalid resource attributes: {exc}") from None
        scope_list = resource_spans.get("scopeSpans")
        if scope_list is None:
            scope_list = resource_spans.get("scope_spans")
        if scope_list is None:
            scope_list = resource_spans.get("instrumentationLibrarySpans")
        for scope_spans in scope_list or ():
            scope = scope_spans.get("scope") or scope_spans.get("instrumentationLibrary") or {}
            framework = framework_from_resource(resource, scope.get("name"))
            for span in scope_spans.get("spans") or ():
                try:
                    built = _json_span(span, resource, framework, result)
                except (AttributeError, KeyError, TypeError, ValueError) as exc:
                    name = span.get("name") if isinstance(span, dict) else None
                    result.reject(f"span {name!r}: malformed ({exc.__class__.__name__}: {exc})")
                    continue
                if built is not None:
                    spans_out.append(built)
    return result


def _json_span(span: dict[str, Any], resource: dict[str, Any], framework: str,
               result: OtlpDecodeResult) -> Span | None:
    name = span.get("name") or ""
    trace_id = _id(span.get("traceId", span.get("trace_id")), _TRACE_ID_BYTES)
    if trace_id is None:
        result.reject(f"span {name!r}: missing or invalid traceId")
        return None
    span_id = _id(span.get("spanId", span.get("span_id")), _SPAN_ID_BYTES)
    if span_id is None:
        result.reject(f"span {name!r}: missing or invalid spanId")
        return None
    raw_parent = span.get("parentSpanId", span.get("parent_span_id"))
    parent_id: str | None = None
    if raw_parent:
        parent_id = _id(raw_parent, _SPAN_ID_BYTES)
        if parent_id is None and raw_parent.strip("0=A"):
            result.reject(f"span {span_id}: invalid parentSpanId")
            return None
    raw_start = span.get("startTimeUnixNano", span.get("start_time_unix_nano"))
    start = _int64(raw_start) if raw_start is not None else 0
    if not start:
        result.reject(f"span {span_id}: missing startTimeUnixNano")
        return None
    raw_end = span.get("endTimeUnixNano", span.get("end_time_unix_nano"))
    end = _int64(raw_end) if raw_end is not None else 0
    if end and end < start:
        result.reject(f"span {span_id}: end time before start time")
        return None
    raw_events = span.get("events")
    events = [
        {"name": ev.get("name", ""), "time_ns": _int64(ev.get("timeUnixNano") or 0),
         "attributes": _json_attrs(ev.get("attributes"))}
        for ev in raw_events
    ] if raw_events else []
    status = span.get("status") or {}
    code = status.get("code", 0)
    if isinstance(code, str):
        code = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}.get(code, 0) \
            if not code.isdigit() else int(code)
    return build_span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_id,
        name=name,
        start_ns=start,
        end_ns=end or None,
        status_code=code,
        status_message=status.get("message") or None,
        attributes=_json_attrs(span.get("attributes")),
        events=events,
        resource=resource,
        framework=framework,
    )
