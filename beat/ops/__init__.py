"""Operations: draining on SIGTERM, structured logs, optional tracing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

log = logging.getLogger("beat.batch")


class _HasReport(Protocol):
    requests: int
    failed: int

    def metadata(self) -> dict[str, Any]: ...


_Report = TypeVar("_Report", bound=_HasReport)


def configure_observability() -> None:
    """JSON logs if BEAT_LOG_FORMAT=json, traces if BEAT_OTEL=1; each process calls this once
    at start (the code location's import, the API's start). Idempotent."""
    from beat.ops.logs import configure_logging
    from beat.ops.tracing import configure_tracing

    configure_logging()
    configure_tracing()


def observe_batch(batch_id: str, run_id: str, run: Callable[[], _Report]) -> _Report:
    """Run a batch with its ids on every log line, inside a ``beat.batch`` span (when tracing
    is on), and log its report when it ends."""
    from beat.ops.logs import log_context
    from beat.ops.tracing import span

    with (
        log_context(batch_id=batch_id, run_id=run_id),
        span("beat.batch", **{"beat.batch_id": batch_id, "beat.run_id": run_id}) as batch_span,
    ):
        report = run()
        if batch_span is not None:
            batch_span.set_attributes(
                {"beat.requests": report.requests, "beat.failed": report.failed}
            )
        log.info("batch %s finished", batch_id, extra=report.metadata())
    return report
