"""The Postgres claim must stay a CTE with row locks under the LIMIT, reading the index in order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from beat.store.queue import NewRequest, RequestQueue, pg_claim_sql

pytestmark = pytest.mark.postgres

FLOW = "refresh_profile_by_handle"


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def explain(engine: Engine, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with engine.begin() as conn:
        plan = conn.execute(text("EXPLAIN (FORMAT JSON) " + sql), params).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return list(plan_nodes(plan[0]["Plan"]))


@pytest.fixture
def loaded(pg_engine: Engine) -> Engine:
    RequestQueue(pg_engine).enqueue_many(
        [NewRequest(FLOW, "instagram", {"n": i}) for i in range(2_000)]
    )
    with pg_engine.begin() as conn:
        conn.execute(text("ANALYZE scrape_request_log"))
    return pg_engine


@pytest.mark.parametrize("flow_count", [1, 3])
def test_claim_is_a_cte_with_lock_rows_and_an_ordered_index_scan(
    loaded: Engine, flow_count: int
) -> None:
    sql = pg_claim_sql(flow_count, 10)
    assert sql.lstrip().startswith("WITH")
    params: dict[str, Any] = {f"flow_{i}": f"{FLOW}-{i}" if i else FLOW for i in range(flow_count)}
    params |= {"batch_id": "b", "lease_seconds": 60.0, "expired_reason": "x"}

    nodes = explain(loaded, sql, params)

    ctes = {n.get("Subplan Name") for n in nodes if n.get("Parent Relationship") == "InitPlan"}
    assert "CTE picked" in ctes
    assert any(n["Node Type"] == "LockRows" for n in nodes)
    claim_scans = [n for n in nodes if n.get("Index Name") == "ix_scrape_request_log_claim"]
    assert claim_scans and all(n["Node Type"] == "Index Scan" for n in claim_scans)
    # With `flow = ANY(...)` this would be a Bitmap Index Scan feeding a Sort of every pending
    # row of the flow; a plain Index Scan reads rows in claim order and stops at the LIMIT.


def test_claim_update_joins_the_cte_instead_of_an_in_subquery(loaded: Engine) -> None:
    # The footgun: UPDATE ... WHERE id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED) may run
    # its subquery more than once. The claim's UPDATE must join a CTE, never a subquery.
    sql = pg_claim_sql(1, 10)
    assert "WHERE t.id = picked.id" in sql and " IN (SELECT" not in sql.replace("\n", " ")
