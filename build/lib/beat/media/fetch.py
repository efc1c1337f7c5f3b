"""Fetch one media URL safely: public hosts only, pinned addresses, bounded memory.

* Every URL, and every redirect hop (followed by hand, at most ``max_redirects``), passes
  ``check_url``; host names are resolved here, each address vetted, and aiohttp connects
  through ``PinnedResolver``, which only ever answers with those vetted addresses. A DNS
  answer that changes between the check and the connect (rebinding) cannot reach the socket.
* The body is read in chunks into a ``SpooledTemporaryFile`` (memory up to ``spool_bytes``,
  then disk), hashed with SHA-256 on the way, capped at ``max_bytes``. The first bytes are
  sniffed as soon as they arrive, so an HTML page served as ``.jpg`` is dropped unread.
* Failures are typed (``beat.media.errors``): ``UnsafeURL`` (refused), ``Skipped`` (expired
  signature, not media, too large, 4xx: permanent) and ``FetchFailed`` (network, timeout,
  5xx, 429: retry later).
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import tempfile
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import IO, Any

import aiohttp
from aiohttp import hdrs
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from beat.media.errors import (
    FetchFailed,
    MediaError,
    SignatureExpired,
    Skipped,
    TooLarge,
    UnsafeURL,
)
from beat.media.guard import FetchPolicy, Target, check_url, normalise_host, vet_addresses
from beat.media.sniff import SNIFF_BYTES, MediaType, sniff

__all__ = [
    "EXPIRED_SIGNATURE_BODY",
    "Download",
    "PinnedResolver",
    "Resolve",
    "SafeFetcher",
    "SessionFactory",
    "default_session",
    "system_resolve",
]

#: What Instagram's CDN answers (403) for a URL whose ``oe=`` expiry has passed.
EXPIRED_SIGNATURE_BODY = b"URL signature expired"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRYABLE_STATUSES = frozenset({408, 425, 429})

#: ``(host, port) -> addresses``: how the fetcher resolves a name before vetting it.
Resolve = Callable[[str, int], Awaitable[list[str]]]
#: Builds the aiohttp session on the connector it is given (headers, tracing...). The session
#: must use that connector and must not trust the environment (proxies would bypass the guard).
SessionFactory = Callable[[aiohttp.BaseConnector], aiohttp.ClientSession]


async def system_resolve(host: str, port: int) -> list[str]:
    """The system resolver (getaddrinfo), TCP addresses only."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def default_session(connector: aiohttp.BaseConnector) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=connector,
        trust_env=False,  # never route through environment proxies: they resolve names themselves
        auto_decompress=False,  # we asked for identity; a gzip body is stored as sent or refused
        cookie_jar=aiohttp.DummyCookieJar(),
    )


class PinnedResolver(AbstractResolver):
    """The connector's only resolver: it answers with the addresses ``SafeFetcher`` vetted for
    that host and port, and fails for anything it was not told about."""

    def __init__(self, max_hosts: int = 4096) -> None:
        self._pins: OrderedDict[tuple[str, int], tuple[str, ...]] = OrderedDict()
        self._max_hosts = max_hosts

    def pin(self, host: str, port: int, addresses: list[str]) -> None:
        key = (normalise_host(host), port)
        self._pins[key] = tuple(addresses)
        self._pins.move_to_end(key)
        while len(self._pins) > self._max_hosts:
            self._pins.popitem(last=False)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self._pins.get((normalise_host(host), port))
        if not addresses:
            raise OSError(f"{host}:{port} was not vetted by the media fetcher")
        flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=socket.IPPROTO_TCP,
                flags=flags,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        self._pins.clear()


@dataclass
class Download:
    """A fetched body, spooled (memory up to the policy's ``spool_bytes``, then a temp file).

    Close it (or use it as a context manager) to free the spool.
    """

    url: str  # the URL that served the body, after redirects
    media: MediaType
    size: int
    sha256: str
    file: Any = field(repr=False)  # tempfile.SpooledTemporaryFile[bytes]
    redirects: int = 0

    @property
    def in_memory(self) -> bool:
        return not getattr(self.file, "_rolled", True)

    def open(self) -> IO[bytes]:
        """The body as a file positioned at its start."""
        self.file.seek(0)
        return self.file  # type: ignore[no-any-return]

    def read(self) -> bytes:
        return self.open().read()  # whole body in memory: only for small bodies

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Download:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _snippet(body: bytes, limit: int = 100) -> str:
    text = body.strip()[:limit].decode("utf-8", errors="replace")
    return text if text and text.isprintable() else ""


class SafeFetcher:
    """Fetches media URLs under a ``FetchPolicy``. Use as ``async with SafeFetcher(...) as f``.

    One fetcher holds one aiohttp session (connection pooling) for many concurrent fetches.
    """

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        session_factory: SessionFactory | None = None,
        resolve: Resolve | None = None,
        max_connections: int = 100,
    ) -> None:
        self.policy = policy if policy is not None else FetchPolicy()
        self._session_factory = session_factory or default_session
        self._resolve = resolve or system_resolve
        self._max_connections = max_connections
        self._resolver = PinnedResolver()
        self._vetted: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            connect=self.policy.connect_timeout,
            sock_connect=self.policy.connect_timeout,
            sock_read=self.policy.read_timeout,
        )
        self._headers = {
            hdrs.USER_AGENT: self.policy.user_agent,
            hdrs.ACCEPT: "image/*,video/*;q=0.9,*/*;q=0.1",
            hdrs.ACCEPT_ENCODING: "identity",
            **dict(self.policy.headers),
        }

    async def __aenter__(self) -> SafeFetcher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        if self._session is not None:
            return
        connector = aiohttp.TCPConnector(
            resolver=self._resolver,
            use_dns_cache=False,  # every connection asks the pinned resolver
            limit=self._max_connections,
            limit_per_host=0,
        )
        session = self._session_factory(connector)
        if session.connector is not connector:
            await session.close()
            await connector.close()
            raise ValueError("session_factory must build the session on the connector it is given")
        if session.trust_env:
            await session.close()
            raise ValueError("the media session must not trust the environment (proxies)")
        self._session = session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, url: str) -> Download:
        """Fetch ``url``; raises ``UnsafeURL``, ``Skipped`` (and subclasses) or ``FetchFailed``."""
        if self._session is None:
            raise RuntimeError("SafeFetcher is not started (use `async with`)")
        try:
            async with asyncio.timeout(self.policy.total_timeout):
                return await self._fetch(self._session, url)
        except MediaError:
            raise
        except TimeoutError:
            raise FetchFailed(
                f"timed out (connect, read or {self.policy.total_timeout:g}s total)"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise FetchFailed(f"{type(exc).__name__}: {exc}") from None

    async def _fetch(self, session: aiohttp.ClientSession, url: str) -> Download:
        current: str | URL = url
        for hop in range(self.policy.max_redirects + 1):
            target = check_url(current, self.policy)
            await self._pin(target)
            async with session.get(
                target.url,
                allow_redirects=False,
                headers=self._headers,
                timeout=self._timeout,
            ) as response:
                if response.status in _REDIRECTS:
                    current = self._next_hop(target, response)
                    continue
                if response.status != 200:
                    await self._raise_for_status(response)
                return await self._read(response, target, hop)
        raise Skipped(f"too many redirects (more than {self.policy.max_redirects})")

    async def _pin(self, target: Target) -> None:
        """Resolve and vet a host name, then pin the connector to the vetted addresses. An IP
        literal was vetted by ``check_url`` and aiohttp connects to it without resolving."""
        if target.ip is not None:
            return
        key = (target.host, target.port)
        now = time.monotonic()
        cached = self._vetted.get(key)
        if cached is not None and cached[0] > now:
            addresses = cached[1]
        else:
            try:
                async with asyncio.timeout(self.policy.dns_timeout):
                    resolved = await self._resolve(target.host, target.port)
            except TimeoutError:
                raise FetchFailed(f"DNS lookup of {target.host} timed out") from None
            except OSError as exc:
                raise FetchFailed(f"DNS lookup of {target.host} failed: {exc}") from None
            addresses = vet_addresses(target, resolved)
            if len(self._vetted) > 4096:
                self._vetted.clear()
            self._vetted[key] = (now + self.policy.dns_cache_seconds, addresses)
        self._resolver.pin(target.host, target.port, addresses)

    def _next_hop(self, target: Target, response: aiohttp.ClientResponse) -> URL:
        location = response.headers.get(hdrs.LOCATION)
        if not location:
            raise Skipped(f"HTTP {response.status} redirect without a Location")
        try:
            return target.url.join(URL(location))
        except (ValueError, TypeError):
            raise UnsafeURL(f"malformed redirect Location {location[:100]!r}") from None

    async def _raise_for_status(self, response: aiohttp.ClientResponse) -> None:
        body = await response.content.read(256)
        if body.strip() == EXPIRED_SIGNATURE_BODY:
            raise SignatureExpired(EXPIRED_SIGNATURE_BODY.decode())
        status = response.status
        if status in _RETRYABLE_STATUSES or status >= 500:
            raise FetchFailed(f"HTTP {status}")
        snippet = _snippet(body)
        raise Skipped(f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}")

    async def _read(
        self, response: aiohttp.ClientResponse, target: Target, redirects: int
    ) -> Download:
        limit = self.policy.max_bytes
        declared = response.content_length
        if declared is not None and declared > limit:
            raise TooLarge(f"too large: {declared} bytes (limit {limit})")
        url = str(target.url)
        spool = tempfile.SpooledTemporaryFile(max_size=self.policy.spool_bytes)  # noqa: SIM115
        try:
            digest = hashlib.sha256()
            size = 0
            head = b""
            media: MediaType | None = None
            async for chunk in response.content.iter_chunked(self.policy.chunk_bytes):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"too large: more than {limit} bytes")
                if media is None:
                    head += chunk[: SNIFF_BYTES - len(head)]
                    if len(head) >= SNIFF_BYTES:
                        media = sniff(head, url)  # not media: stop before reading the rest
                digest.update(chunk)
                spool.write(chunk)
            if media is None:
                if head.strip() == EXPIRED_SIGNATURE_BODY:
                    raise SignatureExpired(EXPIRED_SIGNATURE_BODY.decode())
                media = sniff(head, url)
            if declared is not None and size != declared:
                raise FetchFailed(f"body truncated: {size} of {declared} bytes")
            return Download(
                url=url,
                media=media,
                size=size,
                sha256=digest.hexdigest(),
                file=spool,
                redirects=redirects,
            )
        except BaseException:
            spool.close()
            raise
