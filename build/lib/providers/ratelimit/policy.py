"""From provider names to stacked limits, and the glue for the crawler.

``limits_for(provider, handle)`` builds, in this order:

1. ``provider:<name>``: the provider's rate spec (``specs.SPECS``), if it has one;
2. ``global:day``, ``global:minute``: the stacked global budget (``include_global=True``);
3. ``handle:<handle>``: the per-target-handle limit, if a handle is given.

The crawler's ``before_request(provider, credential)`` hook does not receive the target handle,
so ``make_before_request`` reads it from a context variable that callers set around a fetch:

    hook = make_before_request(limiter, timeout=20)
    crawler = InstagramCrawler(..., before_request=hook)
    with target_handle("nike"):
        await crawler.profile_with_posts("nike")

What each limit counts: a provider's own limit counts HTTP calls (what the provider meters);
the global budget and the per-handle limit count *fetches* (the original's "20,000 profile
refreshes a day, one per handle per second"). Inside a ``target_handle`` block the first call
acquires the whole stack at once, all-or-nothing; later calls of the same fetch (next pages,
or the next provider after a fault) acquire only their provider's limit. Outside such a block
every call acquires the whole stack.

Callers that issue requests themselves use ``await limiter.acquire_for(provider, handle,
timeout=...)`` (and ``limiter.refund(grant)`` if the request is then not sent).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from providers.ratelimit.core import Limit
from providers.ratelimit.specs import SPECS

if TYPE_CHECKING:
    from providers.credentials import Credential
    from providers.ratelimit.core import RateLimiter

__all__ = [
    "DEFAULT_SPECS",
    "RateSpec",
    "RateSpecs",
    "current_target_handle",
    "handle_key",
    "limits_for",
    "make_before_request",
    "specs_with",
    "target_handle",
]

#: How soon a request refused because the limiter's backend is down comes back.
LIMITER_DOWN_RETRY_SECONDS = 10.0


class _Fetch:
    """One fetch's target and whether its shared budget has been charged yet."""

    __slots__ = ("charged", "handle")

    def __init__(self, handle: str | None) -> None:
        self.handle = handle
        self.charged = False


_target: ContextVar[_Fetch | None] = ContextVar("beat_ratelimit_fetch", default=None)


@dataclass(frozen=True)
class RateSpec:
    rate: int
    period_seconds: float
    burst: int | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> RateSpec:
        unknown = set(data) - {"rate", "period", "burst"}
        if unknown:
            raise ValueError(f"unknown rate spec fields {sorted(unknown)}")
        spec = cls(int(data["rate"]), float(data["period"]), data.get("burst"))
        spec.limit("check")  # validate now, not on the first request
        return spec

    def limit(self, key: str) -> Limit:
        return Limit(key, self.rate, self.period_seconds, self.burst)


@dataclass(frozen=True)
class RateSpecs:
    """Parsed ``specs.SPECS`` (or an operator's override of the same shape)."""

    providers: Mapping[str, RateSpec | None]
    aliases: Mapping[str, str] = field(default_factory=dict)
    default: RateSpec | None = None
    global_limits: Mapping[str, RateSpec] = field(default_factory=dict)
    per_handle: RateSpec | None = None
    _provider_limits: dict[str, Limit | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _globals: tuple[Limit, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "_globals",
            tuple(spec.limit(f"global:{name}") for name, spec in self.global_limits.items()),
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RateSpecs:
        unknown = set(data) - {"providers", "aliases", "default", "global", "per_handle"}
        if unknown:
            raise ValueError(f"unknown sections {sorted(unknown)}")

        def opt(value: Mapping[str, Any] | None) -> RateSpec | None:
            return None if value is None else RateSpec.parse(value)

        providers = {name.lower(): opt(v) for name, v in data.get("providers", {}).items()}
        aliases = {a.lower(): t.lower() for a, t in data.get("aliases", {}).items()}
        dangling = sorted(a for a, t in aliases.items() if t not in providers)
        if dangling:
            raise ValueError(f"aliases point to unknown providers: {dangling}")
        return cls(
            providers=providers,
            aliases=aliases,
            default=opt(data.get("default")),
            global_limits={k: RateSpec.parse(v) for k, v in data.get("global", {}).items()},
            per_handle=opt(data.get("per_handle")),
        )

    def canonical(self, provider: str) -> str:
        name = provider.strip().lower()
        return self.aliases.get(name, name)

    def provider_limit(self, provider: str) -> Limit | None:
        """The provider's own limit (``default`` for unknown names; None if unlimited)."""
        name = self.canonical(provider)
        if name not in self._provider_limits:
            spec = self.providers.get(name, self.default)
            self._provider_limits[name] = (
                None if spec is None else spec.limit(f"provider:{handle_key(name)}")
            )
        return self._provider_limits[name]

    def global_limits_list(self) -> tuple[Limit, ...]:
        return self._globals


DEFAULT_SPECS = RateSpecs.from_mapping(SPECS)


def specs_with(override: Mapping[str, Any] | None) -> RateSpecs:
    """``SPECS`` with an operator's override applied: ``providers`` and ``aliases`` entries
    are merged name by name; ``default``, ``global`` and ``per_handle`` replace the defaults
    when given (``"global": {}`` drops the global stack)."""
    if not override:
        return DEFAULT_SPECS
    unknown = set(override) - {"providers", "aliases", "default", "global", "per_handle"}
    if unknown:
        raise ValueError(f"unknown rate-limit sections {sorted(unknown)}")
    merged: dict[str, Any] = dict(SPECS)
    for section in ("providers", "aliases"):
        merged[section] = {**SPECS[section], **override.get(section, {})}
    for section in ("default", "global", "per_handle"):
        if section in override:
            merged[section] = override[section]
    return RateSpecs.from_mapping(merged)


def handle_key(handle: str) -> str:
    """A handle as it appears in a limit key: stripped, without ``@``, lower-cased (handles
    are case-insensitive; merging two case variants only makes a limit stricter). Anything
    unfit for a key (braces, control characters, > 200 chars) is replaced by its SHA-1."""
    value = handle.strip().lstrip("@").lower()
    if not value or len(value) > 200 or any(c in value for c in "{}") or not value.isprintable():
        return "sha1-" + hashlib.sha1(handle.encode("utf-8", "replace")).hexdigest()
    return value


def limits_for(
    provider: str,
    handle: str | None = None,
    *,
    specs: RateSpecs | None = None,
    include_global: bool = True,
) -> list[Limit]:
    """The stacked limits one request to ``provider`` about ``handle`` must pass."""
    specs = DEFAULT_SPECS if specs is None else specs
    out: list[Limit] = []
    own = specs.provider_limit(provider)
    if own is not None:
        out.append(own)
    if include_global:
        out.extend(specs.global_limits_list())
    if handle is not None and specs.per_handle is not None:
        out.append(specs.per_handle.limit(f"handle:{handle_key(handle)}"))
    return out


@contextmanager
def target_handle(handle: str | None) -> Iterator[None]:
    """Declare the target handle of the fetches made inside the block (for the hook)."""
    token = _target.set(_Fetch(handle))
    try:
        yield
    finally:
        _target.reset(token)


def current_target_handle() -> str | None:
    fetch = _target.get()
    return fetch.handle if fetch is not None else None


def make_before_request(
    limiter: RateLimiter,
    *,
    timeout: float | None = 30.0,
    handle_of: Callable[[str, Credential], str | None] | None = None,
    specs: RateSpecs | None = None,
    include_global: bool = True,
) -> Callable[[str, Credential], Awaitable[None]]:
    """An ``InstagramCrawler(before_request=...)`` hook: wait for ``limits_for(provider,
    handle)``. The handle comes from ``handle_of(provider, credential)``, by default from
    ``target_handle(...)``.

    When the wait would exceed ``timeout``: if the provider's own limit refused, it raises
    ``RateLimitTimeout`` (a ``ProviderFault``: the crawler moves on to the next provider
    without blaming the credential); if a shared limit refused (global, per handle), no other
    provider would fare better, so it raises ``Deferred`` and the request returns to the
    queue. A backend that is down raises ``Deferred`` too: the limiter fails closed."""
    from providers.errors import Deferred
    from providers.ratelimit.errors import LimiterUnavailable, RateLimitTimeout

    pick = handle_of or (lambda provider, credential: current_target_handle())
    chosen = specs if specs is not None else getattr(limiter, "specs", None)

    async def before_request(provider: str, credential: Credential) -> None:
        fetch = _target.get()
        shared = fetch is None or not fetch.charged  # the fetch's first call carries the stack
        lims = limits_for(
            provider,
            pick(provider, credential) if shared else None,
            specs=chosen,
            include_global=include_global and shared,
        )
        if not lims:
            if fetch is not None:
                fetch.charged = True
            return
        try:
            await limiter.acquire(lims, timeout=timeout)
            if fetch is not None:
                fetch.charged = True
        except RateLimitTimeout as err:
            err.provider = err.provider or provider
            if (err.denied_by or "").startswith("provider:"):
                raise
            raise Deferred(
                str(err), provider=provider, retry_after=err.retry_after, denied_by=err.denied_by
            ) from None
        except LimiterUnavailable as err:
            raise Deferred(
                f"rate limiter unavailable, failing closed: {err}",
                provider=provider,
                retry_after=LIMITER_DOWN_RETRY_SECONDS,
            ) from None

    return before_request
