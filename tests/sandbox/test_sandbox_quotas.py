"""Per-credential quotas, expired credentials and the chaos fault mix, over real HTTP."""

from __future__ import annotations

from collections import Counter

import aiohttp

from sandbox import RunningSandbox
from sandbox.state import CHAOS_MODES, EXPIRED_GRAPH_TOKEN, EXPIRED_RAPIDAPI_KEY, Quota

HOST = "instagram-scraper-2022.p.rapidapi.com"


async def _profile(
    client: aiohttp.ClientSession, sb: RunningSandbox, key: str
) -> aiohttp.ClientResponse:
    async with client.get(
        f"{sb.arraybobo_url}/ig/info_username/",
        params={"user": "alice.example"},
        headers={"x-rapidapi-key": key, "x-rapidapi-host": HOST},
    ) as resp:
        await resp.read()
        return resp


async def test_a_spent_window_answers_the_providers_own_429(
    sb: RunningSandbox, client: aiohttp.ClientSession
) -> None:
    sb.state.providers["arraybobo"].quota = Quota(limit=3, window_seconds=60.0)
    key = sb.credential_secrets()["arraybobo"][0]["x-rapidapi-key"]
    statuses = [(await _profile(client, sb, key)).status for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    last = await _profile(client, sb, key)
    assert last.headers["x-ratelimit-requests-remaining"] == "0"
    assert 1 <= int(last.headers["Retry-After"]) <= 60
    report = sb.state.quota_report()["arraybobo"]
    (entry,) = report.values()
    assert entry["limit"] == 3 and entry["max_in_window"] == 6 and entry["over_quota"] == 3
    assert key not in str(report)  # credentials are named by fingerprint only


async def test_expired_credentials_get_each_providers_expiry_answer(
    sb: RunningSandbox, client: aiohttp.ClientSession
) -> None:
    resp = await _profile(client, sb, EXPIRED_RAPIDAPI_KEY)
    assert resp.status == 403
    async with client.get(
        f"{sb.graph_url}/v12.0/1", params={"access_token": EXPIRED_GRAPH_TOKEN, "fields": "id"}
    ) as graph:
        body = await graph.json()
    assert graph.status == 400 and body["error"]["code"] == 190
    assert body["error"]["error_subcode"] == 463
    expired = sb.state.expired_credential_secrets()
    assert expired["graphapi"] == [{"token": EXPIRED_GRAPH_TOKEN, "user_id": "17841400000000001"}]


async def test_chaos_mixes_every_fault_a_healthy_credential_can_meet(sb: RunningSandbox) -> None:
    sb.state.set_fault("arraybobo", "chaos", rate=1.0, delay_seconds=0)
    drawn = Counter(sb.state.draw_fault("arraybobo").mode for _ in range(2000))  # type: ignore[union-attr]
    assert set(drawn) == set(CHAOS_MODES)
    assert min(drawn.values()) > 400
