"""Structured logs and traces of a real batch run: JSON lines with batch and run ids, a span
per batch with a child span per provider call, and no secret in either."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import dagster as dg
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.ops.logs import configure_logging
from beat.ops.tracing import configure_tracing, reset_tracing
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import drive_until_drained
from tests.e2e.conftest import Stack
from tests.e2e.test_no_secrets import SECRETS

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    assert configure_logging("json", stream=stream)
    try:
        yield stream
    finally:
        for handler in [h for h in root.handlers if h.get_name() == "beat-json"]:
            root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert configure_tracing(exporter)
    try:
        yield exporter
    finally:
        reset_tracing()


def test_batch_run_logs_json_with_ids_and_traces_provider_calls(
    stack: Stack, json_logs: io.StringIO, spans: InMemorySpanExporter
) -> None:
    stack.submit("refresh_profile_by_handle", [{"handle": f"traced.{i}"} for i in range(6)])
    stack.fault(
        "graphapi", "server_error", rate=1.0
    )  # fallback: several provider calls per request
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        report = drive_until_drained(defs, instance, stack.queue, [FAMILIES["instagram"]])
    assert report.drained

    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    finished = [line for line in lines if line["message"].startswith("batch ")]
    assert finished, lines
    for line in finished:
        assert line["batch_id"].startswith("instagram-")
        assert len(line["run_id"]) == 36
        assert line["level"] == "INFO"
        assert line["requests"] >= 1 and "provider_mix" in line

    exported = spans.get_finished_spans()
    batches = [s for s in exported if s.name == "beat.batch"]
    calls = [s for s in exported if s.name.startswith("provider ")]
    assert {s.attributes["beat.batch_id"] for s in batches} == {
        line["batch_id"] for line in finished
    }
    assert sum(s.attributes["beat.requests"] for s in batches) == 6
    batch_span_ids = {s.context.span_id for s in batches}
    assert calls and all(c.parent is not None and c.parent.span_id in batch_span_ids for c in calls)
    assert {c.attributes["beat.provider"] for c in calls} >= {"graphapi"}
    failed = [c for c in calls if c.attributes["beat.provider"] == "graphapi"]
    # The sandbox's server_error fault answers 500 or 503; each call's span is an error.
    assert {c.attributes.get("http.response.status_code") for c in failed} <= {500, 503}
    assert all(c.status.status_code.name == "ERROR" for c in failed)
    assert all(c.start_time < c.end_time for c in calls)

    written = json_logs.getvalue() + "\n".join(s.to_json() for s in exported)
    assert not [secret for secret in SECRETS if secret in written]
