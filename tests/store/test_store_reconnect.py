"""Lost connections without pool pre-ping: dead pooled connections are replaced at checkout, and
a connection lost during a call is retried once, without losing or doubling any request."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError

from beat.store import db as db_module
from beat.store.db import make_engine
from beat.store.queue import (
    Completion,
    Failure,
    NewRequest,
    RequestQueue,
    _AutocommitConnection,
)

from .conftest import Db

pytestmark = pytest.mark.postgres

FLOW = "refresh_profile_by_handle"
APP = "beat-reconnect-test"


@pytest.fixture
def engine(pg_engine: Engine) -> Iterator[Engine]:
    """Its own pool on the test database, so killing its connections disturbs nothing else."""
    own = make_engine(pg_engine.url, pool_size=2, connect_args={"application_name": APP})
    yield own
    own.dispose()


def admin(engine: Engine) -> psycopg.Connection[Any]:
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(url, autocommit=True)


def backend_pids(engine: Engine) -> set[int]:
    with admin(engine) as conn:
        sql = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
        return {pid for (pid,) in conn.execute(sql, [APP])}


def terminate(engine: Engine, pids: set[int]) -> None:
    """Kill backends the way a server restart does (FATAL, then the socket closes); wait."""
    with admin(engine) as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            alive = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)]
            ).fetchone()
            if alive == (0,):
                return
            time.sleep(0.02)
    raise AssertionError("backends did not exit")


def test_the_pool_does_not_pre_ping(engine: Engine) -> None:
    assert engine.pool._pre_ping is False  # type: ignore[attr-defined]
    assert engine.url.query == {}  # keepalives go in connect_args, not in the caller's URL
    with engine.connect() as conn:
        dsn = conn.connection.driver_connection.info.dsn  # type: ignore[union-attr]
    assert "keepalives=1" in dsn and "keepalives_idle=30" in dsn


def test_dead_pooled_connections_are_replaced_at_checkout(
    engine: Engine, db: Db, caplog: pytest.LogCaptureFixture
) -> None:
    queue = RequestQueue(engine)
    ids = [r.id for r in queue.enqueue_many([NewRequest(FLOW, "instagram", {}) for _ in range(3)])]
    claimed = queue.claim_batch([FLOW], 3, batch_id="b1")
    before = backend_pids(engine)
    assert before

    terminate(engine, before)  # a server restart, as the idle pool sees it
    with caplog.at_level(logging.WARNING, logger="beat.store.queue"):
        report = queue.complete([Completion(c.id, c.attempt) for c in claimed])  # no error
    assert caplog.records == []  # caught at checkout, so no statement failed and no retry ran

    assert report.completed_ids == tuple(ids)
    assert backend_pids(engine).isdisjoint(before)
    assert queue.count_by_status() == {"COMPLETE": 3}
    assert [db.statuses(i) for i in ids] == [["PENDING", "PROCESSING", "COMPLETE"]] * 3


def test_a_live_connection_with_a_pending_message_is_kept(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    readable = db_module._readable
    monkeypatch.setattr(db_module, "_readable", lambda fd: seen.append(readable(fd)) or seen[-1])
    with engine.connect() as conn:
        conn.exec_driver_sql("LISTEN beat_probe_test")
        conn.commit()
        (pid,) = backend_pids(engine)
    with admin(engine) as other:
        other.execute("NOTIFY beat_probe_test")
    time.sleep(0.1)  # the notification now waits, unread, on the idle pooled connection
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() == pid
    assert seen[-1] is True  # the probe saw the message, pinged, and kept the connection


def test_a_connection_lost_before_the_claim_ran_is_retried(engine: Engine, db: Db) -> None:
    queue = RequestQueue(engine)
    ids = [r.id for r in queue.enqueue_many([NewRequest(FLOW, "instagram", {}) for _ in range(3)])]
    killed: list[int] = []

    @event.listens_for(engine, "checkout")
    def kill_once(dbapi_conn: Any, *_: Any) -> None:
        # Runs after the liveness probe: the server goes away between checkout and statement.
        if not killed:
            killed.append(dbapi_conn.info.backend_pid)
            terminate(engine, {killed[0]})

    claimed = queue.claim_batch([FLOW], 5, batch_id="b1")

    assert killed and sorted(c.id for c in claimed) == ids
    assert [db.statuses(i) for i in ids] == [["PENDING", "PROCESSING"]] * 3


@pytest.fixture
def lose_reply(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the next statement containing a marker commit, then lose its connection before the
    reply is read: the case where retrying is only safe thanks to fencing."""
    markers: list[str] = []
    real = _AutocommitConnection.exec_driver_sql

    def exec_driver_sql(self: Any, statement: str, parameters: Any = None) -> Any:
        result = real(self, statement, parameters)
        if markers and markers[0] in statement:
            markers.pop()
            self._driver.close()
            lost = psycopg.OperationalError("server closed the connection unexpectedly")
            raise self._wrap(lost, statement, parameters)
        return result

    monkeypatch.setattr(_AutocommitConnection, "exec_driver_sql", exec_driver_sql)
    return markers


def test_a_completion_whose_reply_was_lost_is_reported_completed(
    engine: Engine, db: Db, lose_reply: list[str]
) -> None:
    queue = RequestQueue(engine)
    ids = [r.id for r in queue.enqueue_many([NewRequest(FLOW, "instagram", {}) for _ in range(3)])]
    claimed = queue.claim_batch([FLOW], 3, batch_id="b1")
    lose_reply.append("'COMPLETE'")

    report = queue.complete([Completion(c.id, c.attempt) for c in claimed] + [Completion(999, 1)])

    assert not lose_reply  # the reply really was lost once
    assert report.completed_ids == tuple(ids) and report.fenced_ids == (999,)
    assert [db.statuses(i) for i in ids] == [["PENDING", "PROCESSING", "COMPLETE"]] * 3


def test_a_failure_whose_reply_was_lost_is_reported_settled(
    engine: Engine, db: Db, lose_reply: list[str]
) -> None:
    queue = RequestQueue(engine)
    retry, give_up = (queue.enqueue(FLOW, "instagram", {}).id for _ in range(2))
    claimed = {c.id: c for c in queue.claim_batch([FLOW], 2, batch_id="b1")}
    lose_reply.append("'FAILED'")

    report = queue.fail(
        [
            Failure(retry, claimed[retry].attempt, "429", True),
            Failure(give_up, claimed[give_up].attempt, "gone", False),
        ]
    )

    assert not lose_reply
    assert (report.retried_ids, report.failed_ids, report.fenced_ids) == ((retry,), (give_up,), ())
    assert db.statuses(retry) == ["PENDING", "PROCESSING", "PENDING"]
    assert db.statuses(give_up) == ["PENDING", "PROCESSING", "FAILED"]


def test_a_callers_transaction_is_not_retried(engine: Engine) -> None:
    queue = RequestQueue(engine)
    queue.enqueue(FLOW, "instagram", {})
    claimed = queue.claim_batch([FLOW], 1, batch_id="b1")
    with pytest.raises(DBAPIError) as raised, engine.begin() as conn:
        terminate(engine, {conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()})
        queue.complete([Completion(c.id, c.attempt) for c in claimed], conn=conn)
    assert raised.value.connection_invalidated  # the caller's to handle: it owns the transaction
    assert queue.get(claimed[0].id).status == "PROCESSING"  # type: ignore[union-attr]
