"""The platform-neutral half of every crawler: fallback chains and the HTTP executor.

A platform crawler (Instagram, YouTube, Shopify) subclasses ``Crawler``, names its fetch types
in ``FETCH_TYPES`` and writes one ``attempt`` per fetch: build the requests with a provider's
pure builders, run them through ``_execute``, parse with the provider's pure parsers. The base
class does the rest:

* ``_fallback`` walks the chain configured for the fetch type (chains are data). A provider
  without a base URL or an eligible credential is skipped; a ``ProviderFault`` moves on to the
  next provider, telling the credential source (rate limits cool the credential, rejected
  credentials die); a ``TargetFact`` or ``BadInput`` is raised at once: another provider would
  say the same. When every provider failed, ``NoProviderAvailable`` says what each attempt
  ended in.
* A chain entry is a provider name or a weighted group ``"rocketapi=0.7,jotucker=0.3"``
  whose order is drawn per fetch (the original's followers split), the rest of the group
  following as fallback. (A string, so chains stay plain ``dict[str, list[str]]`` config.)
* ``_on_provider`` runs an attempt on one named provider, with no fallback: a cursor from a
  provider is only meaningful to that provider, so pagination never switches.
* ``_execute`` waits on ``before_request`` (the rate limiter) before every HTTP request, caps
  the body, scrubs the credential's secrets out of what it keeps and tells ``on_call`` about
  every exchange (trace events are built on it).
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from urllib.parse import urlencode, urlsplit

import aiohttp

from providers.cooling import remaining_budget
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
    REDACTED,
    HttpCall,
    ProviderRequest,
    RawResponse,
    is_secret_name,
    redact_headers,
    redact_params,
)

__all__ = [
    "MAX_BODY_BYTES",
    "NO_ELIGIBLE_CREDENTIAL",
    "BeforeRequest",
    "ChainEntry",
    "Crawler",
    "Fetched",
    "OnCall",
    "resolve_chain",
]

T = TypeVar("T")

MAX_BODY_BYTES = 5 * 1024 * 1024
#: Why a provider was skipped when all its credentials are cooling, dead or absent.
NO_ELIGIBLE_CREDENTIAL = "no eligible credential"

#: A provider name, or a weighted group "name=weight,name=weight".
ChainEntry = str

#: Awaited before every HTTP request (each page counts), e.g. to wait on a rate limiter. Raising
#: a ``ProviderFault`` (say ``RateLimitTimeout``) fails this provider for the fetch and the chain
#: moves on, without blaming the credential.
BeforeRequest = Callable[[str, Credential], Awaitable[None]]
OnCall = Callable[[HttpCall], None]


class Provider(Protocol):
    name: ClassVar[str]
    supports: ClassVar[frozenset[str]]


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
    (re-parse them later with no network) and every failed attempt before it."""

    value: T
    provider: str
    raw: list[RawResponse] = field(default_factory=list)
    attempts: list[tuple[str, str]] = field(default_factory=list)


def _weighted_order(group: Mapping[str, float], rng: random.Random) -> list[str]:
    """All names of ``group``, drawn one by one with probability proportional to weight."""
    left = {name: float(w) for name, w in group.items() if float(w) > 0}
    order: list[str] = []
    while left:
        names = list(left)
        pick = rng.choices(names, weights=[left[n] for n in names])[0]
        order.append(pick)
        del left[pick]
    return order


def parse_entry(entry: ChainEntry) -> dict[str, float] | None:
    """The weights of a weighted group entry, or None for a plain provider name."""
    if "=" not in entry:
        return None
    weights: dict[str, float] = {}
    for part in entry.split(","):
        name, _, weight = part.partition("=")
        try:
            weights[name.strip()] = float(weight)
        except ValueError:
            raise ValueError(f"bad weight in chain entry {entry!r}") from None
    if any(w < 0 for w in weights.values()) or not any(w > 0 for w in weights.values()):
        raise ValueError(f"chain entry {entry!r} needs non-negative weights, one positive")
    return weights


def resolve_chain(entries: Sequence[ChainEntry], rng: random.Random) -> list[str]:
    """The provider order for one fetch: names as given, weighted groups drawn."""
    order: list[str] = []
    for entry in entries:
        weights = parse_entry(entry)
        names = [entry] if weights is None else _weighted_order(weights, rng)
        order.extend(n for n in names if n not in order)
    return order


def chain_names(entries: Sequence[ChainEntry]) -> set[str]:
    names: set[str] = set()
    for entry in entries:
        weights = parse_entry(entry)
        names.update([entry] if weights is None else weights)
    return names


AttemptFn = Callable[[Any, Credential, str], Awaitable[tuple[T, list[RawResponse]]]]


class Crawler:
    """Base class of the platform crawlers (see the module docstring)."""

    #: fetch type -> the provider capabilities (``provider.supports``) it needs.
    FETCH_TYPES: ClassVar[Mapping[str, frozenset[str]]] = {}
    #: What a platform crawler uses when the caller names no ``chains`` / ``providers``.
    DEFAULT_CHAINS: ClassVar[Mapping[str, Sequence[ChainEntry]]] = {}
    PROVIDERS: ClassVar[Mapping[str, Any]] = {}

    def __init__(
        self,
        session: aiohttp.ClientSession,
        credentials: CredentialSource,
        base_urls: Mapping[str, str],
        chains: Mapping[str, Sequence[ChainEntry]] | None = None,
        timeout_seconds: float = 10.0,
        *,
        providers: Mapping[str, Any] | None = None,
        before_request: BeforeRequest | None = None,
        on_call: OnCall | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        rng: random.Random | None = None,
    ) -> None:
        self.session = session
        self.credentials = credentials
        for name, url in base_urls.items():
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"base URL for {name!r} must be an absolute http(s) URL")
        self.base_urls = dict(base_urls)
        if providers is None:
            providers = self.PROVIDERS
        if chains is None:
            chains = self.DEFAULT_CHAINS
        self.providers: dict[str, Any] = dict(providers)
        self.chains: dict[str, list[ChainEntry]] = {k: list(v) for k, v in chains.items()}
        unknown = sorted(
            {n for chain in self.chains.values() for n in chain_names(chain)} - set(self.providers)
        )
        if unknown:
            raise ValueError(f"chains name unknown providers: {unknown}")
        self.timeout_seconds = timeout_seconds
        self.before_request: BeforeRequest = before_request or _no_op_before_request
        self.on_call = on_call
        self.max_body_bytes = max_body_bytes
        self.rng = rng or random.Random()

    # -- the chain --------------------------------------------------------------------------------

    async def _fallback(
        self,
        fetch_type: str,
        attempt: AttemptFn[T],
        *,
        credential_handle: str | None = None,
    ) -> Fetched[T]:
        attempts: list[tuple[str, str]] = []
        errors: list[ProviderError] = []
        cooling: list[float] = []
        for name in resolve_chain(self.chains.get(fetch_type, []), self.rng):
            try:
                return await self._try(name, fetch_type, attempt, attempts, credential_handle)
            except _Skip as skip:
                attempts.append((name, skip.reason))
                if skip.error is not None:
                    errors.append(skip.error)
                if skip.cooling is not None:
                    cooling.append(skip.cooling)
        failure = NoProviderAvailable(attempts=attempts, errors=errors)
        failure.credentials_back_in = min(cooling) if cooling else None
        raise failure

    async def _on_provider(
        self,
        name: str,
        fetch_type: str,
        attempt: AttemptFn[T],
        *,
        credential_handle: str | None = None,
    ) -> Fetched[T]:
        """Run ``attempt`` on provider ``name`` only (continuing its cursor): no fallback."""
        if name not in self.providers:
            raise BadInput(f"unknown provider {name!r}")
        attempts: list[tuple[str, str]] = []
        try:
            return await self._try(name, fetch_type, attempt, attempts, credential_handle)
        except _Skip as skip:
            attempts.append((name, skip.reason))
            raise NoProviderAvailable(
                attempts=attempts, errors=[skip.error] if skip.error else []
            ) from None

    async def _try(
        self,
        name: str,
        fetch_type: str,
        attempt: AttemptFn[T],
        attempts: list[tuple[str, str]],
        credential_handle: str | None,
    ) -> Fetched[T]:
        provider = self.providers[name]
        if not self.FETCH_TYPES.get(fetch_type, frozenset()) <= provider.supports:
            raise _Skip(f"does not support {fetch_type}")
        base_url = self.base_urls.get(name)
        if not base_url:
            raise _Skip("no base URL configured")
        cred = await self._credential(name, provider, credential_handle)
        if cred is None:
            raise _Skip(NO_ELIGIBLE_CREDENTIAL, cooling=self._cooling(name, credential_handle))
        try:
            value, raws = await attempt(provider, cred, base_url)
        except _HookFault as hook:
            await self._report(cred, Outcome.released())
            raise _Skip.from_error(hook.error, name, cred) from None
        except ProviderFault as err:
            skip = _Skip.from_error(err, name, cred)
            await self._report_fault(cred, err)
            raise skip from None
        except (TargetFact, BadInput) as err:
            err.redact(cred.secret_values())
            err.provider = err.provider or name
            await self._report(cred, Outcome.ok())
            raise
        except BaseException:
            # Deferred by the rate limiter, cancelled, or a bug: the credential taught nothing,
            # but a probe lease it holds must not wait out its timeout.
            await self._report(cred, Outcome.released())
            raise
        await self._report(cred, Outcome.ok(remaining=_remaining(raws)))
        return Fetched(value=value, provider=name, raw=raws, attempts=attempts)

    async def _credential(self, name: str, provider: Any, handle: str | None) -> Credential | None:
        if not getattr(provider, "needs_credential", True):
            return Credential(id="anonymous", provider=name, secret={})
        if handle is None:
            return await self.credentials.pick(name)
        return await self.credentials.pick(name, handle=handle)

    def _cooling(self, name: str, handle: str | None) -> float | None:
        """How soon the provider has a credential again, if the source can tell."""
        ask = getattr(self.credentials, "cooling_seconds", None)
        return ask(name, handle=handle) if ask is not None else None

    async def _report(self, cred: Credential, outcome: Outcome) -> None:
        if cred.id != "anonymous":
            await self.credentials.report(cred, outcome)

    async def _report_fault(self, cred: Credential, err: ProviderFault) -> None:
        if isinstance(err, RateLimited):
            await self._report(cred, Outcome.rate_limited(err.retry_after, str(err)))
        elif isinstance(err, CredentialRejected):
            await self._report(cred, Outcome.dead(str(err)))
        else:  # the provider failed, not the credential
            await self._report(cred, Outcome.released())

    # -- HTTP -----------------------------------------------------------------------------------

    async def _execute(
        self, provider: str, kind: str, request: ProviderRequest, cred: Credential
    ) -> RawResponse:
        secrets = cred.secret_values()
        try:
            await self.before_request(provider, cred)
        except ProviderFault as err:
            raise _HookFault(err) from None
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        body = b""
        try:
            status, headers, body, url = await self._send(provider, request)
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
            self._trace(provider, kind, request, status, error, started, secrets, body)
        fetched_at = time.time()
        if not any(name.lower() == "date" for name, _ in headers):
            headers.append(("Date", formatdate(fetched_at, usegmt=True)))
        return RawResponse.build(
            provider=provider,
            kind=kind,
            status=status,
            body=_scrub_body(body, secrets),
            headers=[(n, _scrub_value(v, secrets)) for n, v in headers],
            url=url,
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
            fetched_at=fetched_at,
        )

    async def _send(
        self, provider: str, request: ProviderRequest
    ) -> tuple[int, list[tuple[str, str]], bytes, str]:
        async with self.session.request(
            request.method,
            request.url,
            params=request.params or None,
            headers=request.headers or None,
            json=request.json,
            data=request.data,
            timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
            allow_redirects=False,
        ) as resp:
            body = await self._read_body(resp, provider)
            return resp.status, list(resp.headers.items()), body, str(resp.url)

    def _trace(
        self,
        provider: str,
        kind: str,
        request: ProviderRequest,
        status: int | None,
        error: str | None,
        started: float,
        secrets: list[str],
        body: bytes = b"",
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
                request_body=_trace_preview(_request_body(request), secrets),
                response_body=_trace_preview(body, secrets),
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


class _Skip(Exception):
    """This provider is out for this fetch: why, and the error if it failed."""

    def __init__(
        self, reason: str, error: ProviderError | None = None, *, cooling: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error
        self.cooling = cooling  # credentials of this provider are back in this many seconds

    @classmethod
    def from_error(cls, err: ProviderError, name: str, cred: Credential) -> _Skip:
        err.redact(cred.secret_values())
        err.provider = err.provider or name
        return cls(str(err), err)


def _scrub_value(value: str, secrets: list[str]) -> str:
    """A response header value with the credential's exact secrets removed (names that look
    secret are redacted wholesale by ``RawResponse.build``)."""
    for secret in secrets:
        if len(secret) >= 8 and secret in value:
            value = value.replace(secret, "REDACTED")
    return value


#: How much of each body a trace event keeps (the original sent none; ClickHouse keeps them).
TRACE_BODY_CHARS = 2048


def _request_body(request: ProviderRequest) -> bytes:
    """The body as sent, with secret-named fields (client_secret, refresh_token...) redacted."""
    if request.json is not None:
        shown = redact_params(request.json) if isinstance(request.json, dict) else request.json
        return json.dumps(shown, default=str).encode()
    if request.data:
        return urlencode(redact_params(request.data)).encode()
    return b""


#: A JSON string member, or a query/form pair, whose value must not be traced when its name
#: looks secret: tokens a provider issues (an OAuth refresh's access_token) are not among the
#: credential's own values, so scrubbing those is not enough.
_SECRET_MEMBER = re.compile(r'"([^"\\]{1,64})"(\s*:\s*)"(?:[^"\\]|\\.)*("|$)')
_SECRET_PAIR = re.compile(r"([A-Za-z0-9_.-]{1,64})=([^&\s\"']+)")


def _trace_preview(body: bytes, secrets: list[str]) -> str:
    """Scrubbed, then cut. Only the head of the body is scanned: the part kept, plus room for a
    secret or a secret-named member that starts inside it and runs past the cut (scanning whole
    50-post payloads twice per call cost more than the rest of the batch's Python together)."""
    if not body:
        return ""
    margin = 256 + max((len(s) for s in secrets), default=0)
    text = _scrub_body(body[: TRACE_BODY_CHARS + margin], secrets).decode("utf-8", "replace")
    text = _SECRET_MEMBER.sub(_redact_member, text)
    text = _SECRET_PAIR.sub(_redact_pair, text)
    return text if len(text) <= TRACE_BODY_CHARS else text[:TRACE_BODY_CHARS] + "...(truncated)"


def _redact_member(match: re.Match[str]) -> str:
    name = match.group(1)
    if not is_secret_name(name):
        return match.group(0)
    return f'"{name}"{match.group(2)}"{REDACTED}"'


def _redact_pair(match: re.Match[str]) -> str:
    return f"{match.group(1)}={REDACTED}" if is_secret_name(match.group(1)) else match.group(0)


def _scrub_body(body: bytes, secrets: list[str]) -> bytes:
    """Providers echo credentials (Graph's paging.next links carry the access token): scrub them
    so stored raw responses hold no secret."""
    for value in secrets:
        encoded = value.encode()
        if len(encoded) >= 8 and encoded in body:
            body = body.replace(encoded, b"REDACTED")
    return body


def _remaining(raws: Sequence[RawResponse]) -> int | None:
    return remaining_budget(raws[-1].headers) if raws else None
