"""Fetch Instagram data through a fallback chain of providers.

For each fetch the crawler walks the chain configured for its fetch type (``chains`` is data):
a provider without a base URL or an eligible credential is skipped; a ``ProviderFault`` moves on
to the next provider (rate limits and rejected credentials are reported to the credential
source); a ``TargetFact`` or ``BadInput`` is raised at once. When every provider failed, the
crawler raises ``NoProviderAvailable`` carrying what each attempt ended in.

Pagination never switches provider: all pages of one fetch come from the provider that served
the profile; a fault on a later page fails that provider and the chain restarts from scratch
on the next one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from typing import Generic, TypeVar
from urllib.parse import urlsplit

import aiohttp

from providers.credentials import Credential, CredentialSource, Outcome
from providers.errors import (
    BadInput,
    CredentialRejected,
    MalformedResponse,
    NoProviderAvailable,
    ProviderError,
    ProviderFault,
    ProviderUnavailable,
    RateLimited,
    TargetFact,
    scrub_text,
)
from providers.http import (
    KIND_POST,
    KIND_POSTS_PAGE,
    KIND_PROFILE,
    HttpCall,
    ProviderRequest,
    RawResponse,
    redact_headers,
)
from providers.instagram import PROVIDERS
from providers.instagram.base import (
    FETCH_POST,
    FETCH_POSTS,
    FETCH_PROFILE,
    InstagramProvider,
    normalize_handle,
    normalize_shortcode,
)
from providers.model import InstagramPost, InstagramProfile, ProfileWithPosts

__all__ = [
    "DEFAULT_CHAINS",
    "FETCH_TYPES",
    "MAX_BODY_BYTES",
    "BeforeRequest",
    "Fetched",
    "InstagramCrawler",
    "answered_at",
    "assemble_profile",
    "reparse",
]

T = TypeVar("T")

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_PAGES = 100
DAY_SECONDS = 86400.0

#: The original engine's fallback table (``available_sources``), restricted to the providers
#: implemented here and in the original order. Only ``profile_by_handle`` and
#: ``post_by_shortcode`` are used by this crawler today; the rest is kept as data for later.
DEFAULT_CHAINS: dict[str, list[str]] = {
    "profile_by_id": ["arraybobo"],
    "profile_by_handle": ["graphapi", "arraybobo"],
    "profile_posts_by_id": ["arraybobo"],
    "profile_posts_by_handle": ["graphapi"],
    "reels": ["arraybobo"],
    "post_by_shortcode": ["arraybobo"],
    "post_insights": ["graphapi"],
    "profile_insights": ["graphapi"],
    "tagged": ["arraybobo"],
    "story_posts": ["arraybobo"],
}

#: Which provider fetch types each crawler fetch needs.
FETCH_TYPES: dict[str, frozenset[str]] = {
    "profile_by_handle": frozenset({FETCH_PROFILE, FETCH_POSTS}),
    "post_by_shortcode": frozenset({FETCH_POST}),
}

#: Awaited before every HTTP request (each page counts), e.g. to wait on a rate limiter. Raising
#: a ``ProviderFault`` (say ``RateLimited``) fails this provider for the fetch and the chain moves
#: on, without reporting the credential to the credential source.
BeforeRequest = Callable[[str, Credential], Awaitable[None]]
OnCall = Callable[[HttpCall], None]


async def _no_op_before_request(provider: str, credential: Credential) -> None:
    return None


class _HookFault(Exception):
    """A ProviderFault raised by ``before_request``: fall back, but don't blame the credential."""

    def __init__(self, error: ProviderFault) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class Fetched(Generic[T]):
    """A fetch result: the value, which provider served it, the raw responses that make it up
    (re-parse them with ``reparse``) and every failed attempt before it."""

    value: T
    provider: str
    raw: list[RawResponse] = field(default_factory=list)
    attempts: list[tuple[str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- pure assembly


def _older_than(post: InstagramPost, cutoff: float | None) -> bool:
    return cutoff is not None and post.taken_at is not None and post.taken_at.timestamp() < cutoff


def assemble_profile(
    profile: InstagramProfile,
    pages: Iterable[Sequence[InstagramPost]],
    *,
    max_posts: int | None,
    cutoff: float | None,
) -> ProfileWithPosts:
    """Join posts pages into a ``ProfileWithPosts``: fill missing owners, drop duplicates and
    posts older than ``cutoff`` (epoch seconds), keep at most ``max_posts``."""
    seen: set[str] = set()
    kept: list[InstagramPost] = []
    for page in pages:
        for post in page:
            if post.shortcode in seen or _older_than(post, cutoff):
                continue
            seen.add(post.shortcode)
            kept.append(post.with_owner(profile.profile_id, profile.handle))
    if max_posts is not None:
        kept = kept[: max(0, max_posts)]
    return ProfileWithPosts(profile=profile, posts=tuple(kept))


def answered_at(raw: RawResponse) -> float | None:
    """When the provider answered: its ``Date`` header (the crawler adds one when the provider
    sent none), else ``fetched_at``. The age cut-off is measured from here, so re-parsing a stored
    response applies exactly the cut-off the live fetch applied."""
    date = raw.header("date")
    if date:
        try:
            parsed = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.timestamp()
    return raw.fetched_at or None


def _cutoff(raw: RawResponse, max_age_days: float | None) -> float | None:
    reference = answered_at(raw)
    if max_age_days is None or reference is None:
        return None
    return reference - max_age_days * DAY_SECONDS


def _page_says_stop(page: Sequence[InstagramPost], cutoff: float | None) -> bool:
    """Posts come newest first: once a page ends older than the cutoff, no later page helps."""
    return bool(page) and _older_than(page[-1], cutoff)


def reparse(
    raws: Sequence[RawResponse],
    *,
    providers: Mapping[str, InstagramProvider] = PROVIDERS,
    max_posts: int | None = 50,
    max_age_days: float | None = 30,
) -> ProfileWithPosts | InstagramPost:
    """Rebuild a result from stored raw responses, with no network.

    ``raws`` is ``Fetched.raw`` of a live fetch: one ``post`` response, or one ``profile``
    response followed by its ``posts_page`` responses. With the same ``max_posts`` and
    ``max_age_days`` as the live call (defaults match), the result equals the live one: the age
    cut-off is measured from the profile response's ``Date`` header (see ``answered_at``).
    """
    if not raws:
        raise ValueError("nothing to re-parse")
    names = {r.provider for r in raws}
    if len(names) != 1:
        raise ValueError(f"raw responses come from several providers: {sorted(names)}")
    provider = providers.get(raws[0].provider)
    if provider is None:
        raise ValueError(f"unknown provider {raws[0].provider!r}")
    first = raws[0]
    if first.kind == KIND_POST:
        if len(raws) != 1:
            raise ValueError("a post result has exactly one raw response")
        return provider.parse_post(first)
    if first.kind != KIND_PROFILE:
        raise ValueError(f"first raw response must be a profile or a post, not {first.kind!r}")
    profile, posts, _ = provider.parse_profile(first)
    pages: list[Sequence[InstagramPost]] = [posts]
    for raw in raws[1:]:
        if raw.kind != KIND_POSTS_PAGE:
            raise ValueError(f"unexpected raw response kind {raw.kind!r} after a profile")
        page, _ = provider.parse_posts(raw)
        pages.append(page)
    return assemble_profile(
        profile, pages, max_posts=max_posts, cutoff=_cutoff(first, max_age_days)
    )


_reparse = reparse


# --------------------------------------------------------------------------- the crawler


class InstagramCrawler:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        credentials: CredentialSource,
        base_urls: Mapping[str, str],
        chains: Mapping[str, Sequence[str]] | None = None,
        timeout_seconds: float = 10.0,
        *,
        providers: Mapping[str, InstagramProvider] | None = None,
        before_request: BeforeRequest | None = None,
        on_call: OnCall | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.session = session
        self.credentials = credentials
        for name, url in base_urls.items():
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"base URL for {name!r} must be an absolute http(s) URL")
        self.base_urls = dict(base_urls)
        self.providers: dict[str, InstagramProvider] = dict(providers or PROVIDERS)
        self.chains: dict[str, list[str]] = {
            k: list(v) for k, v in (DEFAULT_CHAINS if chains is None else chains).items()
        }
        unknown = sorted({p for chain in self.chains.values() for p in chain} - set(self.providers))
        if unknown:
            raise ValueError(f"chains name unknown providers: {unknown}")
        self.timeout_seconds = timeout_seconds
        self.before_request: BeforeRequest = before_request or _no_op_before_request
        # Told about every HTTP exchange, failed ones included (trace events are built on it).
        self.on_call = on_call
        self.max_body_bytes = max_body_bytes

    # -- public fetches -------------------------------------------------------------------------

    async def profile_with_posts(
        self,
        handle: str,
        max_posts: int | None = 50,
        max_age_days: float | None = 30,
    ) -> Fetched[ProfileWithPosts]:
        """The profile plus its recent posts (at most ``max_posts``, none older than
        ``max_age_days``; ``None`` lifts a limit), all from one provider."""
        clean = normalize_handle(handle)
        if max_posts is not None and max_posts < 0:
            raise BadInput("max_posts must be >= 0")

        async def attempt(
            provider: InstagramProvider, cred: Credential, base_url: str
        ) -> tuple[ProfileWithPosts, list[RawResponse]]:
            return await self._profile_on(provider, cred, base_url, clean, max_posts, max_age_days)

        return await self._fallback("profile_by_handle", attempt)

    async def post_by_shortcode(self, shortcode: str) -> Fetched[InstagramPost]:
        clean = normalize_shortcode(shortcode)

        async def attempt(
            provider: InstagramProvider, cred: Credential, base_url: str
        ) -> tuple[InstagramPost, list[RawResponse]]:
            request = provider.post_request(clean, cred, base_url)
            raw = await self._execute(provider.name, KIND_POST, request, cred)
            return provider.parse_post(raw), [raw]

        return await self._fallback("post_by_shortcode", attempt)

    @staticmethod
    def reparse(
        raws: Sequence[RawResponse],
        *,
        providers: Mapping[str, InstagramProvider] = PROVIDERS,
        max_posts: int | None = 50,
        max_age_days: float | None = 30,
    ) -> ProfileWithPosts | InstagramPost:
        """The module-level ``reparse`` (no network, no instance needed:
        ``InstagramCrawler.reparse(raws)`` works)."""
        return _reparse(raws, providers=providers, max_posts=max_posts, max_age_days=max_age_days)

    # -- the chain --------------------------------------------------------------------------------

    async def _fallback(
        self,
        fetch_type: str,
        attempt: Callable[
            [InstagramProvider, Credential, str], Awaitable[tuple[T, list[RawResponse]]]
        ],
    ) -> Fetched[T]:
        needs = FETCH_TYPES[fetch_type]
        attempts: list[tuple[str, str]] = []
        errors: list[ProviderError] = []
        for name in self.chains.get(fetch_type, []):
            provider = self.providers[name]
            if not needs <= provider.supports:
                attempts.append((name, f"does not support {fetch_type}"))
                continue
            base_url = self.base_urls.get(name)
            if not base_url:
                attempts.append((name, "no base URL configured"))
                continue
            cred = await self.credentials.pick(name)
            if cred is None:
                attempts.append((name, "no eligible credential"))
                continue
            secrets = cred.secret_values()
            try:
                value, raws = await attempt(provider, cred, base_url)
            except _HookFault as hook:
                err = hook.error
                err.redact(secrets)
                err.provider = err.provider or name
                attempts.append((name, str(err)))
                errors.append(err)
                continue
            except ProviderFault as err:
                err.redact(secrets)
                err.provider = err.provider or name
                await self._report_fault(cred, err)
                attempts.append((name, str(err)))
                errors.append(err)
                continue
            except (TargetFact, BadInput) as err:
                err.redact(secrets)
                err.provider = err.provider or name
                await self.credentials.report(cred, Outcome.ok())
                raise
            await self.credentials.report(cred, Outcome.ok())
            return Fetched(value=value, provider=name, raw=raws, attempts=attempts)
        raise NoProviderAvailable(attempts=attempts, errors=errors)

    async def _report_fault(self, cred: Credential, err: ProviderFault) -> None:
        if isinstance(err, RateLimited):
            await self.credentials.report(cred, Outcome.rate_limited(err.retry_after, str(err)))
        elif isinstance(err, CredentialRejected):
            await self.credentials.report(cred, Outcome.dead(str(err)))

    # -- one provider -----------------------------------------------------------------------------

    async def _profile_on(
        self,
        provider: InstagramProvider,
        cred: Credential,
        base_url: str,
        handle: str,
        max_posts: int | None,
        max_age_days: float | None,
    ) -> tuple[ProfileWithPosts, list[RawResponse]]:
        raw = await self._execute(
            provider.name, KIND_PROFILE, provider.profile_request(handle, cred, base_url), cred
        )
        raws = [raw]
        profile, first_posts, cursor = provider.parse_profile(raw)
        cutoff = _cutoff(raw, max_age_days)
        pages: list[Sequence[InstagramPost]] = [first_posts]

        def enough() -> bool:
            if max_posts is None:
                return False
            got = assemble_profile(profile, pages, max_posts=None, cutoff=cutoff)
            return len(got.posts) >= max_posts

        if provider.profile_includes_posts:
            more = cursor is not None and not _page_says_stop(first_posts, cutoff)
        else:
            cursor = None
            more = profile.is_private is not True and profile.media_count != 0
        seen_cursors: set[str | None] = set()
        while more and not enough() and len(pages) <= MAX_PAGES:
            seen_cursors.add(cursor)
            request = provider.posts_request(profile, cursor, cred, base_url)
            page_raw = await self._execute(provider.name, KIND_POSTS_PAGE, request, cred)
            raws.append(page_raw)
            page, cursor = provider.parse_posts(page_raw)
            pages.append(page)
            more = (
                cursor is not None
                and cursor not in seen_cursors
                and bool(page)
                and not _page_says_stop(page, cutoff)
            )
        result = assemble_profile(profile, pages, max_posts=max_posts, cutoff=cutoff)
        return result, raws

    # -- HTTP -----------------------------------------------------------------------------------

    async def _execute(
        self, provider: str, kind: str, request: ProviderRequest, cred: Credential
    ) -> RawResponse:
        secrets = cred.secret_values()
        try:
            await self.before_request(provider, cred)
        except ProviderFault as err:
            raise _HookFault(err) from None
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            async with self.session.request(
                request.method,
                request.url,
                params=request.params or None,
                headers=request.headers or None,
                json=request.json,
                timeout=timeout,
                allow_redirects=False,
            ) as resp:
                body = await self._read_body(resp, provider)
                status = resp.status
                headers = list(resp.headers.items())
                url = str(resp.url)
        except ProviderError as err:
            error = str(err)
            raise
        except TimeoutError:
            error = f"no answer within {self.timeout_seconds:g}s"
            raise ProviderUnavailable(error, provider=provider) from None
        except aiohttp.ClientError as exc:
            error = "connection failed: " + scrub_text(f"{type(exc).__name__}: {exc}", secrets)
            raise ProviderUnavailable(error, provider=provider) from None
        finally:
            self._trace(provider, kind, request, status, error, started, secrets)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        fetched_at = time.time()
        if not any(name.lower() == "date" for name, _ in headers):
            headers.append(("Date", formatdate(fetched_at, usegmt=True)))
        # Providers echo credentials (Graph's paging.next links carry the access token): scrub
        # them so stored raw responses hold no secret.
        for value in secrets:
            encoded = value.encode()
            if len(encoded) >= 8 and encoded in body:
                body = body.replace(encoded, b"REDACTED")
        headers = [(name, scrub_text(v, secrets) if secrets else v) for name, v in headers]
        return RawResponse.build(
            provider=provider,
            kind=kind,
            status=status,
            body=body,
            headers=headers,
            url=url,
            elapsed_ms=elapsed_ms,
            fetched_at=fetched_at,
        )

    def _trace(
        self,
        provider: str,
        kind: str,
        request: ProviderRequest,
        status: int | None,
        error: str | None,
        started: float,
        secrets: list[str],
    ) -> None:
        if self.on_call is None:
            return
        headers = {k: scrub_text(v, secrets) for k, v in redact_headers(request.headers).items()}
        self.on_call(
            HttpCall(
                provider=provider,
                kind=kind,
                method=request.method,
                url_redacted=scrub_text(request.redacted_url(), secrets),
                request_headers=headers,
                status=status,
                elapsed_ms=(time.perf_counter() - started) * 1000.0,
                error=scrub_text(error, secrets) if error else None,
                at=time.time(),
            )
        )

    async def _read_body(self, resp: aiohttp.ClientResponse, provider: str) -> bytes:
        cap = self.max_body_bytes
        declared = resp.content_length
        if declared is not None and declared > cap:
            raise MalformedResponse(
                f"body of {declared} bytes exceeds the {cap}-byte cap",
                provider=provider,
                status=resp.status,
            )
        if declared is not None:
            return await resp.read()
        chunks: list[bytes] = []
        total = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            total += len(chunk)
            if total > cap:
                raise MalformedResponse(
                    f"body exceeds the {cap}-byte cap", provider=provider, status=resp.status
                )
            chunks.append(chunk)
        return b"".join(chunks)
