"""No credential leaves beat: not in events, raw responses, logs or Dagster's event log."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import select

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.store.models import outbox, scrape_request_log
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import drive_until_drained
from sandbox import sandbox_credentials
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SECRETS = [
    value
    for _, secret, _ in sandbox_credentials()
    for key, value in secret.items()
    if key.lower() not in {"user_id", "x-rapidapi-host"}
]


def everything_written(stack: Stack, instance: dg.DagsterInstance, run_ids: list[str]) -> str:
    parts = []
    with stack.engine.connect() as conn:
        parts += [str(row) for row in conn.execute(select(outbox))]
        parts += [str(row) for row in conn.execute(select(scrape_request_log))]
    for path in Path(stack.home).rglob("*"):
        if path.is_file() and path.suffix != ".db":
            data = path.read_bytes()
            parts.append(
                (gzip.decompress(data) if path.suffix == ".gz" else data).decode(errors="replace")
            )
    for run_id in run_ids:
        parts += [str(entry) for entry in instance.all_logs(run_id)]
    return "\n".join(parts)


def test_no_credential_in_events_raw_or_logs(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stack.submit("refresh_profile_by_handle", [{"handle": f"secret.{i}"} for i in range(20)])
    stack.fault("graphapi", "expired_token", rate=0.5)  # auth errors carry request details
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        report = drive_until_drained(defs, instance, stack.queue, [FAMILIES["instagram"]])
        written = everything_written(stack, instance, report.run_ids)
    assert stack.statuses() == {"COMPLETE": 20}
    assert {"sandbox-graph-token", "sandbox-rapidapi-key"} <= set(SECRETS)
    assert "profile_log_events" in written  # the scan did see the events
    assert "trace_log" in written and "REDACTED" in written  # and the per-call traces
    logs = "\n".join(record.getMessage() for record in caplog.records)
    for secret in SECRETS:
        assert secret not in written
        assert secret not in logs
