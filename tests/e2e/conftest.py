"""Fixtures for end-to-end tests: real PostgreSQL (app and Dagster instance), the sandbox
and the intake API over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from beat.demo import LocalServices, submit_all
from beat.store.credentials import save_credentials
from beat.store.db import make_engine, upgrade
from beat.store.queue import RequestQueue
from sandbox import RATE_LIMITS_FILE, sandbox_credentials
from tests.support import scratch_postgres

TOKEN = "e2e-token-abcdefghijkl"


class Stack:
    def __init__(self, app_url: str, home: Path, services: LocalServices) -> None:
        self.app_url = app_url
        self.home = home
        self.services = services
        self.engine = make_engine(app_url)
        self.queue = RequestQueue(self.engine)

    def env(self) -> dict[str, str]:
        return {
            "BEAT_HOME": str(self.home),
            "BEAT_DATABASE_URL": self.app_url,
            "BEAT_SANDBOX_URL": self.services.sandbox_url,
            "DAGSTER_HOME": str(self.home / "dagster"),
            # Most tests look at one family; the media test turns this on.
            "BEAT_MEDIA_FROM_BATCHES": "0",
            "BEAT_RATE_LIMITS": str(RATE_LIMITS_FILE),
            "BEAT_MEDIA_ALLOW_ENDPOINTS": self.services.sandbox_url,
        }

    def submit(self, flow: str, params_list: list[dict]) -> None:
        requests = [(flow, {"params": params}) for params in params_list]
        statuses = asyncio.run(submit_all(self.services.api_url, TOKEN, requests))
        assert statuses == {201: len(requests)}

    def fault(self, provider: str, mode: str, rate: float = 1.0, delay: float = 0.0) -> None:
        async def call() -> None:
            body = {"provider": provider, "mode": mode, "rate": rate, "delay_seconds": delay}
            async with (
                aiohttp.ClientSession() as session,
                session.post(f"{self.services.sandbox_url}/_sandbox/faults", json=body) as r,
            ):
                r.raise_for_status()

        asyncio.run(call())

    def count(self, table) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()

    def statuses(self) -> dict[str, int]:
        return self.queue.count_by_status()


def dagster_yaml(instance_url: str) -> str:
    # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; dagster-postgres ships psycopg2.
    url = instance_url.replace("postgresql+psycopg://", "postgresql+psycopg2://")
    return f"storage:\n  postgres:\n    postgres_url: {url}\ntelemetry:\n  enabled: false\n"


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with (
        scratch_postgres("beat_e2e_app") as app_url,
        scratch_postgres("beat_e2e_dagster") as dagster_url,
    ):
        (tmp_path / "dagster").mkdir()
        (tmp_path / "dagster" / "dagster.yaml").write_text(dagster_yaml(dagster_url))
        engine = make_engine(app_url)
        upgrade(engine)
        save_credentials(engine, sandbox_credentials())
        services = LocalServices()
        services.start(RequestQueue(engine), TOKEN)
        stack = Stack(app_url, tmp_path, services)
        for key, value in stack.env().items():
            monkeypatch.setenv(key, value)
        try:
            yield stack
        finally:
            services.stop()
            stack.engine.dispose()
            engine.dispose()
