"""The fetcher over real HTTP against the sandbox CDN: redirects, refusals, limits, typing."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import quote

import pytest
from aiohttp import web

from beat.media.errors import FetchFailed, NotMedia, SignatureExpired, Skipped, TooLarge, UnsafeURL
from beat.media.fetch import PinnedResolver, SafeFetcher
from beat.media.guard import FetchPolicy
from beat.media.sniff import JPEG, MP4, PNG, WEBP
from sandbox import RunningSandbox
from sandbox.cdn import media_body
from tests.media.conftest import Recorder


def expected(kind: str, stem: str, ext: str, size: int | None = None) -> bytes:
    _, chunks = media_body(kind, stem, ext, size)
    return b"".join(chunks)


class Trap:
    """A TCP listener on loopback that only counts connections."""

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def trap() -> AsyncIterator[Trap]:
    t = Trap()
    await t.start()
    try:
        yield t
    finally:
        await t.stop()


@pytest.fixture
async def odd_server() -> AsyncIterator[str]:
    """Answers the CDN does not give: an endless chunked body, a stall, gzip."""

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_type = "image/jpeg"
        await response.prepare(request)
        await response.write(b"\xff\xd8\xff\xe0" + b"\x00" * 65532)
        for _ in range(200):  # 12.8 MB, no Content-Length
            await response.write(b"\x00" * 65536)
        return response

    async def stall(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"\xff\xd8\xff\xe0" + b"\x00" * 1020)
        await asyncio.sleep(5)
        return response

    app = web.Application()
    app.router.add_get("/endless.jpg", endless)
    app.router.add_get("/stall.jpg", stall)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("kind", "stem", "ext", "media"),
    [
        ("profile", "1234567", "jpg", JPEG),
        ("media", "C0abcDEF_g-", "png", PNG),
        ("media", "C0abcDEF_g-", "webp", WEBP),
        ("media", "C0xyz", "mp4", MP4),
    ],
)
async def test_fetches_typed_hashed_and_whole(
    sb: RunningSandbox, policy: FetchPolicy, kind: str, stem: str, ext: str, media: object
) -> None:
    url = sb.cdn.url_for(kind, f"{stem}.{ext}")
    async with SafeFetcher(policy) as fetcher:
        with await fetcher.fetch(url) as download:
            body = download.read()
            assert download.media == media
            assert body == expected(kind, stem, ext)
            assert download.size == len(body)
            assert download.sha256 == hashlib.sha256(body).hexdigest()
            assert download.in_memory and download.redirects == 0


async def test_redirects_are_followed_by_hand_and_vetted(
    sb: RunningSandbox, policy: FetchPolicy, recorder: Recorder
) -> None:
    target = sb.cdn.url_for("media", "hop.jpg")
    async with SafeFetcher(policy, session_factory=recorder.session_factory) as fetcher:
        with await fetcher.fetch(f"{sb.url}/cdn/chain/4?to={quote(target, safe='')}") as d:
            assert d.redirects == 5 and d.media == JPEG and d.url == target
        assert len(recorder.requests) == 6
        with pytest.raises(Skipped, match=r"too many redirects \(more than 5\)"):
            await fetcher.fetch(f"{sb.url}/cdn/chain/5?to={quote(target, safe='')}")


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        (
            "http://169.254.169.254/latest/meta-data/iam/",
            "169.254.169.254 is link-local (the cloud metadata address)",
        ),
        ("http://[::ffff:169.254.169.254]/latest/", "IPv4-mapped 169.254.169.254, link-local"),
        ("http://10.0.0.1/", "10.0.0.1 is private (RFC 1918)"),
        ("http://2852039166/latest/", "non-canonical IPv4 form of 169.254.169.254"),
        ("http://localhost/", "localhost is loopback"),
        ("file:///etc/passwd", "scheme 'file' is not http or https"),
        ("//169.254.169.254/x", "169.254.169.254 is link-local"),
    ],
)
async def test_a_redirect_into_a_private_address_is_refused_before_connecting(
    sb: RunningSandbox, policy: FetchPolicy, recorder: Recorder, location: str, reason: str
) -> None:
    async with SafeFetcher(policy, session_factory=recorder.session_factory) as fetcher:
        with pytest.raises(UnsafeURL) as caught:
            await fetcher.fetch(f"{sb.url}/cdn/redirect?to={quote(location, safe='')}")
    assert reason in str(caught.value)
    # Only the allowed hop was requested; nothing went to the redirect's target.
    assert len(recorder.requests) == 1 and recorder.requests[0].startswith(
        f"{sb.url}/cdn/redirect?"
    )
    assert recorder.connections == 1
    assert sb.cdn.answers["redirect"] == 1


async def test_a_redirect_to_another_loopback_port_never_connects(
    sb: RunningSandbox, policy: FetchPolicy, recorder: Recorder, trap: Trap
) -> None:
    async with SafeFetcher(policy, session_factory=recorder.session_factory) as fetcher:
        for location in (
            f"http://127.0.0.1:{trap.port}/x.jpg",
            f"http://[::ffff:127.0.0.1]:{trap.port}/x.jpg",
            f"http://2130706433:{trap.port}/x.jpg",
        ):
            with pytest.raises(UnsafeURL, match=r"127\.0\.0\.1"):
                await fetcher.fetch(f"{sb.url}/cdn/redirect?to={quote(location, safe='')}")
    assert trap.connections == 0
    assert not any(str(trap.port) in url.split("?")[0] for url in recorder.requests)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{trap}/a.jpg",
        "http://localhost:{trap}/a.jpg",
        "http://[::1]:{trap}/a.jpg",
        "http://[::ffff:127.0.0.1]:{trap}/a.jpg",
        "http://2130706433:{trap}/a.jpg",
        "http://017700000001:{trap}/a.jpg",
        "http://0x7f000001:{trap}/a.jpg",
        "http://127.1:{trap}/a.jpg",
        "http://10.1.2.3/a.jpg",
        "http://172.16.5.4/a.jpg",
        "http://192.168.0.10/a.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://user:pw@cdn.example.com/a.jpg",
    ],
)
async def test_unsafe_urls_are_refused_without_any_connection(
    recorder: Recorder, trap: Trap, url: str
) -> None:
    async with SafeFetcher(FetchPolicy(), session_factory=recorder.session_factory) as fetcher:
        with pytest.raises(UnsafeURL) as caught:
            await fetcher.fetch(url.format(trap=trap.port))
    assert caught.value.status == "refused" and str(caught.value)
    assert recorder.requests == [] and recorder.connections == 0
    assert trap.connections == 0


async def test_host_names_are_resolved_vetted_and_pinned(
    sb: RunningSandbox, recorder: Recorder, trap: Trap
) -> None:
    port = int(sb.url.rsplit(":", 1)[1])
    answers = {"evil.test": ["93.184.215.14", "127.0.0.1"], "media.test": ["127.0.0.1"]}
    asked: list[str] = []

    async def resolve(host: str, _port: int) -> list[str]:
        asked.append(host)
        return answers[host]

    policy = FetchPolicy.allowing(("media.test", port))
    async with SafeFetcher(
        policy, session_factory=recorder.session_factory, resolve=resolve
    ) as fetcher:
        with pytest.raises(UnsafeURL, match=r"evil.test resolves to 127.0.0.1, which is loopback"):
            await fetcher.fetch("https://evil.test/a.jpg")
        assert recorder.requests == []
        # media.test exists only in our resolver: aiohttp can reach it only through the pin.
        url = sb.cdn.url_for("media", "pinned.jpg", base_url=f"http://media.test:{port}")
        with await fetcher.fetch(url) as download:
            assert download.media == JPEG
        with await fetcher.fetch(url) as download:  # vetted answer cached
            assert download.size > 0
    assert asked == ["evil.test", "media.test"]
    assert recorder.dns == ["media.test"]  # through the pinned resolver; then a pooled connection


async def test_the_pinned_resolver_knows_only_vetted_hosts() -> None:
    resolver = PinnedResolver()
    with pytest.raises(OSError, match="not vetted"):
        await resolver.resolve("cdn.example.com", 443)
    resolver.pin("CDN.example.com.", 443, ["93.184.215.14"])
    [answer] = await resolver.resolve("cdn.example.com", 443)
    assert answer["host"] == "93.184.215.14" and answer["port"] == 443
    with pytest.raises(OSError):
        await resolver.resolve("cdn.example.com", 80)


async def test_an_expired_signature_is_a_permanent_skip(
    sb: RunningSandbox, policy: FetchPolicy
) -> None:
    url = sb.cdn.url_for("media", "old.jpg", expires=1_700_000_000)
    async with SafeFetcher(policy) as fetcher:
        with pytest.raises(SignatureExpired) as caught:
            await fetcher.fetch(url)
    assert str(caught.value) == "URL signature expired" and caught.value.status == "skipped"
    assert sb.cdn.answers["expired"] == 1


async def test_cdn_errors(sb: RunningSandbox, policy: FetchPolicy) -> None:
    good = sb.cdn.url_for("media", "x.jpg")
    async with SafeFetcher(policy) as fetcher:
        with pytest.raises(Skipped, match="HTTP 403: URL signature mismatch"):
            await fetcher.fetch(good.replace("sig=", "sig=0"))
        with pytest.raises(NotMedia, match="not media: text/html"):
            await fetcher.fetch(f"{sb.url}/cdn/html/x.jpg")
        with pytest.raises(Skipped, match="HTTP 404"):
            await fetcher.fetch(f"{sb.url}/cdn/status/404")
        for status in (500, 502, 503, 429):
            with pytest.raises(FetchFailed, match=f"HTTP {status}") as caught:
                await fetcher.fetch(f"{sb.url}/cdn/status/{status}")
            assert caught.value.status == "failed"


async def test_size_limits(sb: RunningSandbox, policy: FetchPolicy, odd_server: str) -> None:
    small = replace(policy, max_bytes=1_000_000).allow(odd_server)
    async with SafeFetcher(small) as fetcher:
        big = sb.cdn.url_for("media", "big.mp4", size=2_000_000)
        with pytest.raises(TooLarge, match=r"too large: 2000000 bytes \(limit 1000000\)"):
            await fetcher.fetch(big)
        with pytest.raises(TooLarge, match="more than 1000000 bytes"):
            await fetcher.fetch(f"{odd_server}/endless.jpg")


async def test_spills_to_disk_above_the_spool_size(sb: RunningSandbox, policy: FetchPolicy) -> None:
    url = sb.cdn.url_for("media", "spill.mp4", size=3_000_000)
    async with SafeFetcher(replace(policy, spool_bytes=256 * 1024)) as fetcher:
        with await fetcher.fetch(url) as download:
            assert not download.in_memory and download.size == 3_000_000
            assert download.read() == expected("media", "spill", "mp4", 3_000_000)


async def test_a_stalled_body_times_out_as_retryable(policy: FetchPolicy, odd_server: str) -> None:
    quick = replace(policy, read_timeout=0.3, total_timeout=2.0).allow(odd_server)
    async with SafeFetcher(quick) as fetcher:
        with pytest.raises(FetchFailed, match=r"timed out|Timeout"):
            await fetcher.fetch(f"{odd_server}/stall.jpg")


async def test_nothing_listening_is_retryable(trap: Trap) -> None:
    port = trap.port
    await trap.stop()
    trap.server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)  # for teardown
    async with SafeFetcher(FetchPolicy.allowing(("127.0.0.1", port))) as fetcher:
        with pytest.raises(FetchFailed, match="ClientConnector"):
            await fetcher.fetch(f"http://127.0.0.1:{port}/a.jpg")


async def test_a_session_factory_must_use_the_guarded_connector() -> None:
    import aiohttp

    fetcher = SafeFetcher(session_factory=lambda _c: aiohttp.ClientSession())
    with pytest.raises(ValueError, match="connector"):
        await fetcher.start()
    fetcher = SafeFetcher(
        session_factory=lambda c: aiohttp.ClientSession(connector=c, trust_env=True)
    )
    with pytest.raises(ValueError, match="proxies"):
        await fetcher.start()
