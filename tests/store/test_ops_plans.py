"""queue_health and retention read indexes, never the whole table: on a big history a
sequential scan would cost seconds. Each statement they send is explained with sequential
scans priced out; if a partial index's predicate could not be proven, the plan would still
scan the table."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from beat.store.queue import Completion, NewRequest, RequestQueue
from beat.store.queue_health import measure
from beat.store.retention import RetentionPolicy, purge_finished

pytestmark = pytest.mark.postgres

FLOW = "refresh_profile_by_handle"


def _statements(engine: Engine, action: Any) -> list[tuple[str, Any]]:
    sent: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return [(s, p) for s, p in sent if "scrape_request_log" in s]


def _plan(engine: Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        rows = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
        conn.rollback()
    return json.dumps(rows)


def test_queue_health_and_purge_read_indexes_only(pg_engine: Engine) -> None:
    queue = RequestQueue(pg_engine)
    queue.enqueue_many([NewRequest(FLOW, "INSTAGRAM", {"handle": f"p{i}"}) for i in range(300)])
    claims = queue.claim_batch([FLOW], 200, batch_id="b")
    queue.complete([Completion(c.id, c.attempt, "graphapi", None) for c in claims[:150]])
    with pg_engine.begin() as conn:
        conn.execute(text("ANALYZE scrape_request_log"))
    policy = RetentionPolicy(keep=timedelta(days=1), batch_size=10)
    statements = _statements(pg_engine, lambda: measure(pg_engine))
    statements += _statements(pg_engine, lambda: purge_finished(pg_engine, policy, max_batches=1))
    assert len(statements) >= 6
    plans = []
    for statement, parameters in statements:
        plans.append(_plan(pg_engine, statement, parameters))
        assert '"Seq Scan"' not in plans[-1], f"{statement}\n{plans[-1]}"
    used = set(re.findall(r'"Index Name": "(\w+)"', " ".join(plans)))
    # Pending rows through a PENDING partial index (either serves), processing rows through
    # the lease index, finished rows through the finished index.
    assert used & {"ix_scrape_request_log_claim", "ix_scrape_request_log_pending_expiry"}
    assert {"ix_scrape_request_log_lease", "ix_scrape_request_log_finished"} <= used
