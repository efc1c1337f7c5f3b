"""The sandbox CDN: signed expiring URLs, deterministic media, and provider payloads that point
at it, fetched end to end through the crawler into S3."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import Engine

from beat.media import FetchPolicy, media_items_from, process_media, summarize
from beat.objects import S3Store
from providers.crawler import InstagramCrawler
from providers.credentials import StaticCredentials
from sandbox import RunningSandbox, SandboxState, start_sandbox
from sandbox.cdn import CdnConfig, media_body
from sandbox.data import facts_for
from tests.media.conftest import free_port, object_keys, wait_for_port


async def get(url: str, **kwargs: Any) -> tuple[int, bytes, str]:
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False, **kwargs) as r:
        return r.status, await r.read(), r.headers.get("Content-Type", "")


async def test_signed_urls_expire_and_refuse_tampering(sb: RunningSandbox) -> None:
    cdn = sb.cdn
    assert cdn.base_url == sb.url
    url = cdn.url_for("media", "C0abc.jpg")
    status, body, ctype = await get(url)
    assert (status, ctype) == (200, "image/jpeg")
    _, chunks = media_body("media", "C0abc", "jpg")
    assert body == b"".join(chunks)
    assert (await get(url))[1] == body  # deterministic

    assert await get(cdn.url_for("media", "C0abc.jpg", expires=1_700_000_000)) == (
        403, b"URL signature expired", "text/plain",
    )  # fmt: skip
    assert (await get(url.replace("C0abc.jpg", "C0abd.jpg")))[:2] == (
        403,
        b"URL signature mismatch",
    )
    assert (await get(url.split("&sig=")[0]))[:2] == (403, b"URL signature mismatch")
    other = CdnConfig(secret=b"another secret", base_url=sb.url).url_for("media", "C0abc.jpg")
    assert (await get(other))[0] == 403
    # Extra signed parameters do not change the bytes: two URLs, one content.
    assert (await get(cdn.url_for("media", "C0abc.jpg", extra={"_nc_ht": "x"})))[1] == body
    status, sized, _ = await get(cdn.url_for("media", "C0abc.jpg", size=200_000))
    assert status == 200 and len(sized) == 200_000


async def test_test_endpoints(sb: RunningSandbox) -> None:
    status, body, ctype = await get(f"{sb.url}/cdn/html/C0abc.jpg")
    assert status == 200 and ctype == "image/jpeg" and body.startswith(b"<!DOCTYPE html>")
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{sb.url}/cdn/redirect?to=http://169.254.169.254/", allow_redirects=False
        ) as r:
            assert (r.status, r.headers["Location"]) == (302, "http://169.254.169.254/")
        async with http.get(f"{sb.url}/cdn/chain/2?to=/cdn/status/204", allow_redirects=False) as r:
            assert r.headers["Location"] == "/cdn/chain/1?to=%2Fcdn%2Fstatus%2F204"
    assert (await get(f"{sb.url}/cdn/status/503"))[0] == 503


@pytest.mark.parametrize(
    ("ext", "tool"),
    [
        ("jpg", ["djpeg", "-pnm"]),
        ("webp", ["dwebp", "-quiet", "-o", "-"]),
        ("png", ["pngcheck", "-q"]),
    ],
)
def test_generated_images_decode(tmp_path: Path, ext: str, tool: list[str]) -> None:
    if shutil.which(tool[0]) is None:
        pytest.skip(f"{tool[0]} is not installed")
    for stem, size in (("C0a", None), ("C0b", 150_000), ("C0c", 10)):
        _, chunks = media_body("media", stem, ext, size)
        path = tmp_path / f"{stem}.{ext}"
        path.write_bytes(b"".join(chunks))
        result = subprocess.run([*tool, str(path)], capture_output=True, check=False)
        assert result.returncode == 0 and not result.stderr.strip(), result.stderr


async def test_payload_media_urls_point_at_the_cdn_only_when_asked() -> None:
    plain = await start_sandbox(state=SandboxState(seed=1))
    try:
        facts = facts_for("cdn.check", plain.state.reference())
        assert facts is not None
        key = {"x-rapidapi-key": "sandbox-rapidapi-key"}
        status, body, _ = await get(
            f"{plain.arraybobo_url}/ig/info_username/?user=cdn.check", headers=key
        )
        assert status == 200 and facts.profile_pic_url.encode() in body
    finally:
        await plain.stop()
    async with await start_sandbox(state=SandboxState(seed=1), cdn=True) as rewritten:
        status, body, _ = await get(
            f"{rewritten.arraybobo_url}/ig/info_username/?user=cdn.check", headers=key
        )
        assert b"cdn.sandbox.example" not in body
        assert f"{rewritten.url}/cdn/profile/{facts.pk}.jpg?oe=".encode() in body


async def test_profiles_and_posts_from_the_providers_are_stored(
    sb: RunningSandbox, policy: FetchPolicy, store: S3Store, s3: Any, bucket: str, engine: Engine
) -> None:
    """Crawler (Graph API, then the RapidAPI fallback) -> model -> media items -> S3."""
    credentials = StaticCredentials.from_secrets(sb.credential_secrets())
    async with aiohttp.ClientSession() as http:
        crawler = InstagramCrawler(http, credentials=credentials, base_urls=sb.base_urls)
        graph = await crawler.profile_with_posts("media.demo", max_age_days=None)
        sb.state.set_fault("graphapi", "server_error")
        bobo = await crawler.profile_with_posts("media.other", max_age_days=None)
    assert (graph.provider, bobo.provider) == ("graphapi", "arraybobo")
    results = [graph.value, bobo.value]
    items = media_items_from([r.profile for r in results], [p for r in results for p in r.posts])
    assert len(items) == 2 + sum(len(r.posts) for r in results)
    assert all(i.original_url.startswith(f"{sb.url}/cdn/") for i in items)
    assert any(i.asset_type == "VIDEO" for i in items)  # Graph gives reels' video URLs

    outcomes = await process_media(items, store=store, engine=engine, policy=policy)
    summary = summarize(outcomes)
    assert summary["statuses"] == {"uploaded": len(items)}, summary
    assert len(object_keys(s3, bucket)) == len(items)
    for outcome in outcomes[:5]:
        assert hashlib.sha256(store.get(outcome.key or "")).hexdigest() == outcome.content_hash
    profile_key = f"assets/profiles/instagram/{graph.value.profile.profile_id}.jpg"
    assert profile_key in object_keys(s3, bucket)


async def test_a_share_of_urls_can_be_born_expired(store: S3Store, engine: Engine) -> None:
    config = CdnConfig(rewrite_urls=True, expired_share=1.0)
    async with await start_sandbox(state=SandboxState(seed=3), cdn=config) as sandbox:
        credentials = StaticCredentials.from_secrets(sandbox.credential_secrets())
        async with aiohttp.ClientSession() as http:
            crawler = InstagramCrawler(http, credentials=credentials, base_urls=sandbox.base_urls)
            fetched = await crawler.profile_with_posts(
                "expiring.demo", max_posts=5, max_age_days=None
            )
        items = media_items_from([fetched.value.profile], fetched.value.posts)
        outcomes = await process_media(
            items, store=store, engine=engine, policy=FetchPolicy.allowing(sandbox.url)
        )
    assert {(o.status, o.reason) for o in outcomes} == {("skipped", "URL signature expired")}
    assert not any(o.retryable for o in outcomes)


async def test_the_cli_serves_the_cdn_with_its_own_base_url() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--cdn"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await asyncio.to_thread(wait_for_port, port)
        base = f"http://127.0.0.1:{port}"
        key = {"x-rapidapi-key": "sandbox-rapidapi-key"}
        status, body, _ = await get(
            f"{base}/arraybobo/ig/info_username/?user=cli.check", headers=key
        )
        assert status == 200
        url = json.loads(body)["user"]["hd_profile_pic_url_info"]["url"]
        assert url.startswith(f"{base}/cdn/profile/")
        status, picture, ctype = await get(url)
        assert (status, ctype, picture[:3]) == (200, "image/jpeg", b"\xff\xd8\xff")
    finally:
        process.terminate()
        process.wait(timeout=10)
