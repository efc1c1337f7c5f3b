"""Operations: draining on SIGTERM, structured logs, optional tracing."""

from __future__ import annotations


def configure_observability() -> None:
    """JSON logs if BEAT_LOG_FORMAT=json, traces if BEAT_OTEL=1; each process calls this once
    at start (the code location's import, the API's start). Idempotent."""
    from beat.ops.logs import configure_logging
    from beat.ops.tracing import configure_tracing

    configure_logging()
    configure_tracing()
