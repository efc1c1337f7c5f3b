"""Optional OpenTelemetry traces: a span per batch and per provider call.

Off unless ``BEAT_OTEL=1`` (and the ``otel`` extra installed): then spans go over OTLP/HTTP to
``OTEL_EXPORTER_OTLP_ENDPOINT`` (the SDK's standard variables: endpoint, headers, service
name). Off, ``span`` is a no-op costing a function call. Provider spans carry only what the
trace events carry: the provider, the URL with credentials redacted, status and error, never
a header value or a secret.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from providers.http import HttpCall

_tracer: Any = None


def tracing_enabled() -> bool:
    return _tracer is not None


def configure_tracing(exporter: Any = None) -> bool:
    """Set up the tracer when BEAT_OTEL=1 (or an exporter is given, as tests do); idempotent.
    Returns whether tracing is on."""
    global _tracer
    if _tracer is not None:
        return True
    if exporter is None and os.environ.get("BEAT_OTEL") != "1":
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME", "beat")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    _tracer = provider.get_tracer("beat")
    return True


def reset_tracing() -> None:
    """Turn tracing off again (tests)."""
    global _tracer
    _tracer = None


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """A span around the block when tracing is on; None otherwise."""
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(name, attributes=_clean(attributes)) as current:
        yield current


def record_call(call: HttpCall) -> None:
    """A finished provider call as a child span of the current one (the batch), timed from
    what the engine measured."""
    if _tracer is None:
        return
    end_ns = int(call.at * 1e9)
    start_ns = end_ns - int(call.elapsed_ms * 1e6)
    attributes = {
        "beat.provider": call.provider,
        "beat.fetch": call.kind,
        "http.request.method": call.method,
        "url.full": call.url_redacted,  # credentials already redacted by the engine
        "http.response.status_code": call.status,
        "error.type": call.error,
    }
    provider_span = _tracer.start_span(
        f"provider {call.provider}", start_time=start_ns, attributes=_clean(attributes)
    )
    if call.error or (call.status or 0) >= 400:
        from opentelemetry.trace import Status, StatusCode

        provider_span.set_status(Status(StatusCode.ERROR, call.error or f"HTTP {call.status}"))
    provider_span.end(end_time=end_ns)


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if v is not None}
