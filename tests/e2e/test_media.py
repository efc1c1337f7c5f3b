"""Media of each batch goes through the queue to the object store, through Dagster."""

from __future__ import annotations

import dagster as dg
import pytest
from sqlalchemy import func, select

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.store.models import asset_log, instagram_account, instagram_post, scrape_request_log
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import drive_until_drained
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_batch_media_lands_in_the_object_store(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEAT_MEDIA_FROM_BATCHES", "1")
    stack.submit("refresh_profile_by_handle", [{"handle": f"pics.{i}"} for i in range(5)])
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        report = drive_until_drained(defs, instance, stack.queue, list(FAMILIES.values()))
        media_runs = instance.fetch_materializations(dg.AssetKey("media"), limit=50).records
    assert report.drained and media_runs
    with stack.engine.connect() as conn:
        count = lambda table: conn.execute(select(func.count()).select_from(table)).scalar_one()  # noqa: E731
        media_requests = conn.execute(
            select(scrape_request_log.c.status, func.count())
            .where(scrape_request_log.c.flow == "asset_upload_flow")
            .group_by(scrape_request_log.c.status)
        ).all()
        keys = conn.execute(select(asset_log.c.asset_url)).scalars().all()
        # Every picture: profile pictures, post media, and each child of a carousel.
        children = conn.execute(select(instagram_post.c.children)).scalars().all()
        entities = count(instagram_account) + count(instagram_post)
        entities += sum(len(c) for c in children if c)
    assert dict(media_requests) == {"COMPLETE": entities}  # one per picture, all stored
    assert len(keys) == entities
    assert all(
        k.startswith(("assets/profiles/instagram/", "assets/posts/instagram/")) for k in keys
    )
    stored = {
        p.relative_to(stack.home / "objects").as_posix()
        for p in (stack.home / "objects" / "assets").rglob("*.*")
    }
    assert set(keys) <= stored
