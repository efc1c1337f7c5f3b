"""The intake API over real HTTP: envelopes, status codes, auth, and nothing written on bad input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import Engine, func, select

from beat.intake.api import MAX_BODY_BYTES, build_api
from beat.store.control import is_claiming
from beat.store.models import outbox, scrape_request_log
from beat.store.queue import Completion, RequestQueue

TOKEN = "test-token-0123456789"


@pytest.fixture
async def api(engine: Engine) -> AsyncIterator[str]:
    runner = web.AppRunner(build_api(RequestQueue(engine), token=TOKEN))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def post(
    api: str, flow: str, body: Any, *, token: str | None = TOKEN, raw: bytes | None = None
) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = raw if raw is not None else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{api}/scrape_request_log/flow/{flow}", data=data, headers=headers) as r,
    ):
        return r.status, await r.json()


async def get(api: str, path: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session, session.get(f"{api}{path}") as r:
        return r.status, await r.json()


def rows(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        requests = conn.execute(select(func.count()).select_from(scrape_request_log)).scalar_one()
        events = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    return requests, events


async def test_create_then_read_back(api: str, engine: Engine) -> None:
    status, body = await post(
        api,
        "refresh_profile_by_handle",
        {
            "flow": "refresh_profile_by_handle",
            "platform": "INSTAGRAM",
            "params": {"handle": "nasa"},
        },
    )
    assert status == 201
    assert body["status"]["type"] == "SUCCESS"
    status, body = await get(api, f"/scrape_request_log/flow/{body['scrape_id']}")
    assert status == 200
    record = body["scrape_request_log"]
    assert (record["flow"], record["params"], record["status"]) == (
        "refresh_profile_by_handle",
        {"handle": "nasa"},
        "PENDING",
    )
    assert rows(engine) == (1, 1)  # the request and its PENDING event


async def test_same_idempotency_key_returns_same_id(api: str, engine: Engine) -> None:
    body = {"params": {"shortcode": "CxYz123"}, "idempotency_key": "order-77"}
    first_status, first = await post(api, "refresh_post_by_shortcode", body)
    again_status, again = await post(api, "refresh_post_by_shortcode", body)
    assert (first_status, again_status) == (201, 200)
    assert first["scrape_id"] == again["scrape_id"]
    assert again["created"] is False
    assert rows(engine)[0] == 1


async def test_asset_upload_flow_takes_its_platform_from_params(api: str, engine: Engine) -> None:
    params = {"entity_type": "PROFILE", "entity_id": "1789", "asset_type": "IMAGE",
              "original_url": "https://cdn.example/p.jpg", "platform": "INSTAGRAM",
              "hash": 12345678901234567}  # fmt: skip
    status, body = await post(api, "asset_upload_flow", {"platform": "INSTAGRAM", "params": params})
    assert status == 201
    _, read = await get(api, f"/scrape_request_log/flow/{body['scrape_id']}")
    assert read["scrape_request_log"]["platform"] == "INSTAGRAM"


BAD_REQUESTS = [
    ("asset_upload_flow", {"params": {"entity_type": "STORY", "entity_id": "1", "platform": "INSTAGRAM",
                                      "original_url": "https://x/y.jpg"}}, 400, "entity_type"),
    ("asset_upload_flow", {"params": {"entity_type": "POST", "entity_id": "1", "platform": "INSTAGRAM",
                                      "original_url": "file:///etc/passwd"}}, 400, "original_url"),
    ("refresh_profile_by_nickname", {"params": {"handle": "x"}}, 404, "unknown flow"),
    ("refresh_profile_by_handle", {"params": {}}, 400, "handle: Field required"),
    ("refresh_profile_by_handle", {"params": {"handle": 42}}, 400, "handle: Input should be a valid string"),
    ("refresh_profile_by_handle", {"params": {"handle": "ok", "extra": 1}}, 400, "extra"),
    ("refresh_profile_by_handle", {"params": {"handle": "no spaces"}}, 400, "pattern"),
    ("refresh_profile_by_handle", {"handle": "nasa"}, 400, "params"),
    ("refresh_profile_by_handle", ["params"], 400, "JSON object"),
    ("refresh_profile_by_handle", {"params": {"handle": "a"}, "platform": "YOUTUBE"}, 400, "platform"),
    ("refresh_profile_by_handle", {"params": {"handle": "a"}, "flow": "refresh_post_by_shortcode"}, 400,
     "URL names"),
    ("refresh_profile_by_handle", {"params": {"handle": "a"}, "priority": "high"}, 400, "priority"),
    ("refresh_profile_by_handle", {"params": {"handle": "a"}, "expires_at": "2001-01-01T00:00:00Z"}, 400,
     "past"),
]  # fmt: skip


@pytest.mark.parametrize(("flow", "body", "status", "needle"), BAD_REQUESTS)
async def test_bad_input_is_rejected_and_nothing_written(
    api: str, engine: Engine, flow: str, body: Any, status: int, needle: str
) -> None:
    got_status, got = await post(api, flow, body)
    assert got_status == status
    assert got["status"]["type"] == "ERROR"
    assert needle in got["status"]["message"]
    assert rows(engine) == (0, 0)


async def test_malformed_json(api: str, engine: Engine) -> None:
    status, body = await post(api, "refresh_profile_by_handle", None, raw=b'{"params": {"handle": ')
    assert status == 400
    assert "not valid JSON" in body["status"]["message"]
    assert rows(engine) == (0, 0)


async def test_oversized_body(api: str, engine: Engine) -> None:
    huge = json.dumps({"params": {"handle": "a" * (MAX_BODY_BYTES + 10)}}).encode()
    status, body = await post(api, "refresh_profile_by_handle", None, raw=huge)
    assert status == 413
    assert str(MAX_BODY_BYTES) in body["status"]["message"]
    assert rows(engine) == (0, 0)


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("wrong-token", 403)])
async def test_writes_need_the_token(
    api: str, engine: Engine, token: str | None, status: int
) -> None:
    got_status, body = await post(
        api, "refresh_profile_by_handle", {"params": {"handle": "a"}}, token=token
    )
    assert got_status == status
    assert TOKEN not in json.dumps(body)
    assert rows(engine) == (0, 0)


@pytest.mark.parametrize(("path", "status"), [("/scrape_request_log/flow/999999", 404),
                                              ("/scrape_request_log/flow/abc", 400)])  # fmt: skip
async def test_read_errors(api: str, path: str, status: int) -> None:
    got_status, body = await get(api, path)
    assert got_status == status
    assert body["status"]["type"] == "ERROR"


async def _put_heartbeat(api: str, beat: str, token: str | None = TOKEN) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.put(f"{api}/heartbeat?beat={beat}", headers=headers) as r,
    ):
        return r.status


async def test_heartbeat_drain(api: str, engine: Engine) -> None:
    """Drain: stop claiming everywhere, answer 200 while requests are in flight, 410 after."""
    assert (await get(api, "/heartbeat"))[0] == 200
    assert await _put_heartbeat(api, "false", token=None) == 401
    queue = RequestQueue(engine)
    made = queue.enqueue("refresh_profile_by_handle", "instagram", {"handle": "nasa"}).id
    (claimed,) = queue.claim_batch(["refresh_profile_by_handle"], 1, batch_id="b-drain")
    assert await _put_heartbeat(api, "false") == 200
    assert not is_claiming(engine)  # every process's sensors read this
    status, body = await get(api, "/heartbeat")
    assert (status, body["in_flight"]) == (200, 1)
    queue.complete([Completion(made, claimed.attempt)])
    status, body = await get(api, "/heartbeat")
    assert (status, body["status"]["type"]) == (410, "ERROR")
    assert await _put_heartbeat(api, "true") == 200
    assert (await get(api, "/heartbeat"))[0] == 200
