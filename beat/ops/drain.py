"""Stopping cleanly on SIGTERM (a deploy, a scale-down, a Kubernetes pod eviction).

A process that gets SIGTERM stops taking new work, finishes what it can within a short grace
(``BEAT_DRAIN_GRACE_SECONDS``) and hands the rest back to the queue, then exits. The batch
run and the API each apply this in their own way; this module holds what they share.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_GRACE_SECONDS = 20.0


def grace_seconds() -> float:
    """How long in-flight work may go on after SIGTERM. Kubernetes kills a pod 30 s after
    SIGTERM by default (terminationGracePeriodSeconds): keep this below that."""
    return float(os.environ.get("BEAT_DRAIN_GRACE_SECONDS", DEFAULT_GRACE_SECONDS))


@contextmanager
def on_sigterm(callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback`` on SIGTERM while inside, instead of dying; restore the previous
    handler on leaving. The callback runs in the signal handler: it must only set a flag or
    schedule work (``loop.call_soon_threadsafe``).

    Off the main thread no handler can be installed; then SIGTERM keeps its previous meaning
    (leases still return the rows of a run that is killed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        log.warning("SIGTERM: draining", extra={"event": "drain.sigterm"})
        callback()

    previous: Any = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve_api(app: Any, *, host: str, port: int, access_log_class: Any = None) -> None:
    """Serve the API as production runs it: JSON logs and traces if configured, a request id
    on every request, and on SIGTERM or Ctrl-C a drain: stop listening at once (new
    connections are refused, so a load balancer moves on), give requests in flight the grace
    to finish, run the app's cleanup and return (exit status 0). The API claims no queue rows,
    so nothing it holds outlives it."""
    from aiohttp import web

    from beat.ops import configure_observability
    from beat.ops.logs import request_logging

    async def announce(_: web.Application) -> None:
        log.warning("API stopping: no new connections; in-flight requests get the grace")

    configure_observability()
    app.middlewares.insert(0, request_logging())  # outermost: errors carry the request id
    app.on_shutdown.append(announce)
    options = {"access_log_class": access_log_class} if access_log_class else {}
    web.run_app(app, host=host, port=port, shutdown_timeout=grace_seconds(), print=None, **options)
