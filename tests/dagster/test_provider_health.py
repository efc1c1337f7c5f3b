"""provider_health: what operators see of credentials and rate-limit budgets in the UI."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Engine

from beat.config import load_settings
from beat.store.credentials import DbCredentialPool, save_credentials
from beat_dagster.definitions import build_definitions
from providers.credentials import Outcome

SECRETS = [
    ("graphapi", {"token": "health-graph-token-1", "user_id": "1784"}),
    ("arraybobo", {"x-rapidapi-key": "health-rapid-key-1"}),
    ("arraybobo", {"x-rapidapi-key": "health-rapid-key-2"}),
]


async def _trouble(engine: Engine) -> None:
    pool = DbCredentialPool(engine)
    graph = await pool.pick("graphapi")
    rapid = await pool.pick("arraybobo")
    assert graph is not None and rapid is not None
    await pool.report(graph, Outcome.dead("Graph 190: token expired"))
    await pool.report(rapid, Outcome.rate_limited(600.0, "429 from arraybobo"))


def test_health_shows_dead_and_cooling_credentials_and_budgets(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("BEAT_HOME", str(tmp_path))
    monkeypatch.setenv("BEAT_DATABASE_URL", database_url)
    save_credentials(engine, SECRETS)
    asyncio.run(_trouble(engine))
    defs = build_definitions(load_settings())
    job = defs.resolve_job_def("provider_health_job")
    result = job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    )
    (materialization,) = result.asset_materializations_for_node("provider_health")
    meta = materialization.metadata
    states = {(r.data["provider"], r.data["state"]) for r in meta["credentials"].value.records}
    assert states == {("graphapi", "dead"), ("arraybobo", "cooling"), ("arraybobo", "ok")}
    text = repr(meta["credentials"].value)
    assert all(secret not in text for _, item in SECRETS for secret in item.values())
    budgets = {r.data["limit"]: r.data for r in meta["rate_limit_budgets"].value.records}
    assert budgets["global:day"]["rate"] == 20000
    assert budgets["provider:arraybobo"]["available_now"] > 0
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["no_dead_credentials"].passed is False
    assert "graphapi" in str(checks["no_dead_credentials"].metadata["dead"].value)
    # graphapi is in the chains and its only credential is dead.
    uncovered = checks["every_chained_provider_has_a_credential"]
    assert uncovered.passed is False
    assert "graphapi" in str(uncovered.metadata["without_credential"].value)
