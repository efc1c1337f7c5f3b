"""How YouTube providers' failures map onto the error hierarchy.

Two families of answers:

* Google's Data API envelope, ``{"error": {"code", "message", "errors": [{"domain", "reason"}],
  "status", "details": [{"reason"}]}}``: the reason decides (quotaExceeded waits for midnight
  Pacific, rateLimitExceeded briefly, an invalid or expired key is dead, 404 is about the target).
* RapidAPI's proxy, ``{"message": ...}`` with the ``x-ratelimit-*`` headers: 429 cools the key
  for as long as the headers say, 401/403 means the key is not (or no longer) subscribed.

A RapidAPI clone of the Data API (yt-v31, yt-search) may pass Google's envelope through: then
quota and key trouble is the clone's own upstream problem, not our key's, so it is reported as
the provider being unavailable.
"""

from __future__ import annotations

from typing import Any

from providers.cooling import cooling_seconds, seconds_until_midnight_pacific
from providers.errors import (
    BadInput,
    CredentialRejected,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetPrivate,
)
from providers.http import RawResponse

__all__ = [
    "SHORT_COOLING_SECONDS",
    "data_api_error",
    "error_reasons",
    "is_proxy_response",
    "oauth_error",
    "rapidapi_error",
    "wait_seconds",
]

#: How long to rest a key after a per-second/per-user rate limit when the answer does not say.
SHORT_COOLING_SECONDS = 30.0

_QUOTA = frozenset({"quotaExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg"})
_THROTTLED = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
_DEAD_KEY = frozenset(
    {
        "API_KEY_INVALID",
        "API_KEY_SERVICE_BLOCKED",
        "API_KEY_HTTP_REFERRER_BLOCKED",
        "API_KEY_IP_ADDRESS_BLOCKED",
        "SERVICE_DISABLED",
        "keyInvalid",
        "keyExpired",
        "authError",
        "accessNotConfigured",
        "forbidden",
        "ipRefererBlocked",
        "insufficientPermissions",
    }
)
_GONE = frozenset(
    {
        "channelNotFound",
        "playlistNotFound",
        "videoNotFound",
        "channelClosed",
        "channelSuspended",
        "notFound",
        "subscriberNotFound",
    }
)
_PRIVATE = frozenset({"playlistItemsNotAccessible", "channelForbidden", "subscriptionForbidden"})


def error_reasons(envelope: dict[str, Any]) -> set[str]:
    """Every ``reason`` in ``errors[]`` and ``details[]`` of a Google error envelope."""
    reasons: set[str] = set()
    for key in ("errors", "details"):
        items = envelope.get(key)
        if not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("reason"), str):
                reasons.add(item["reason"])
    return reasons


def _envelope(payload: Any) -> dict[str, Any] | None:
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        envelope: dict[str, Any] = payload["error"]
        return envelope
    return None


def wait_seconds(raw: RawResponse) -> float | None:
    """How long the answer's headers ask us to wait, or None. Header values are the provider's
    text: one the reader chokes on says nothing."""
    try:
        return cooling_seconds(raw.headers)
    except (ValueError, TypeError, OverflowError, IndexError, AttributeError):
        return None


def _short_cooling(raw: RawResponse) -> float:
    return wait_seconds(raw) or SHORT_COOLING_SECONDS


def is_proxy_response(raw: RawResponse) -> bool:
    """True when RapidAPI's proxy itself answered (then nothing it says is about the target)."""
    return (raw.header("x-rapidapi-proxy-response") or "").strip().lower() == "true"


def data_api_error(raw: RawResponse, payload: Any) -> ProviderError | None:
    """Map a Data API answer to an error, or None when it looks like a success."""
    status = raw.status
    envelope = _envelope(payload)
    if envelope is None:
        return None if status < 400 else _bare_status_error(raw)
    message = envelope.get("message")
    text = message if isinstance(message, str) and message else f"HTTP {status}"
    reasons = error_reasons(envelope)
    if reasons & _QUOTA:
        return RateLimited(text, status=status, retry_after=seconds_until_midnight_pacific())
    if reasons & _THROTTLED or status == 429:
        return RateLimited(text, status=status, retry_after=_short_cooling(raw))
    if reasons & _DEAD_KEY or "api key" in text.lower() or status == 401:
        return CredentialRejected(text, status=status)
    if reasons & _PRIVATE:
        return TargetPrivate(text, status=status)
    if reasons & _GONE or status == 404:
        return TargetNotFound(text, status=status)
    if status >= 500:
        return ProviderUnavailable(text, status=status)
    if status == 400:
        return BadInput(text, status=status)
    return ProviderUnavailable(text, status=status)


def _bare_status_error(raw: RawResponse) -> ProviderError:
    """An error status without a JSON envelope (a proxy or front-end page): never a fact about
    the target, and too vague to kill a key over."""
    status = raw.status
    if status == 429:
        return RateLimited(f"HTTP {status}", status=status, retry_after=_short_cooling(raw))
    return ProviderUnavailable(f"HTTP {status} without an API answer", status=status)


def oauth_error(raw: RawResponse, payload: Any) -> ProviderError | None:
    """Google's token endpoint: ``{"error": "invalid_grant", "error_description": ...}``."""
    status = raw.status
    code = payload.get("error") if isinstance(payload, dict) else None
    if status < 400 and code is None:
        return None
    if not isinstance(code, str):
        return _bare_status_error(raw) if status >= 400 else None
    described = payload.get("error_description")
    text = f"{code}: {described}" if isinstance(described, str) and described else code
    if code in ("invalid_grant", "invalid_client", "unauthorized_client", "invalid_request"):
        return CredentialRejected(text, status=status)
    if status == 429 or code in ("rate_limit_exceeded", "slow_down"):
        return RateLimited(text, status=status, retry_after=_short_cooling(raw))
    return ProviderUnavailable(text, status=status)


_NOT_FOUND_WORDS = ("not found", "not exist", "doesn't exist", "no such", "invalid channel")
_AUTH_WORDS = ("not subscribed", "invalid api key", "api key", "unauthorized", "blocked user")
_RATE_WORDS = ("exceeded the rate limit", "rate limit", "too many requests", "quota")


def _rapid_message(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    for key in ("message", "error", "detail", "msg"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def rapidapi_error(raw: RawResponse, payload: Any) -> ProviderError | None:
    """Map a RapidAPI answer to an error, or None when it looks like a success."""
    envelope = _envelope(payload)
    if envelope is not None:
        return _upstream_error(raw, payload)
    status = raw.status
    message = _rapid_message(payload)
    lower = message.lower()
    text = message or f"HTTP {status}"
    if status == 429:
        return RateLimited(text, status=status, retry_after=wait_seconds(raw))
    if status in (401, 403):
        return CredentialRejected(text, status=status)
    if status >= 500:
        return ProviderUnavailable(text, status=status)
    if status == 404:
        # A JSON answer is about the target; anything else (a router page, "Endpoint ... does
        # not exist") is about our configuration or the provider.
        if not isinstance(payload, dict) or "endpoint" in lower or is_proxy_response(raw):
            return ProviderUnavailable(f"HTTP 404 without a provider answer: {text}", status=status)
        return TargetNotFound(text, status=status)
    if status >= 400:
        if not is_proxy_response(raw) and any(w in lower for w in _NOT_FOUND_WORDS):
            return TargetNotFound(text, status=status)
        return ProviderUnavailable(text, status=status)
    # 2xx: only a body that is nothing but a message is an error.
    if isinstance(payload, dict) and message and set(payload) <= {"message", "error", "status"}:
        if any(w in lower for w in _NOT_FOUND_WORDS):
            return TargetNotFound(text, status=status)
        if any(w in lower for w in _RATE_WORDS):
            return RateLimited(text, status=status, retry_after=wait_seconds(raw))
        if any(w in lower for w in _AUTH_WORDS):
            return CredentialRejected(text, status=status)
        return ProviderUnavailable(text, status=status)
    return None


def _upstream_error(raw: RawResponse, payload: Any) -> ProviderError | None:
    """A Google envelope passed through by a RapidAPI clone."""
    err = data_api_error(raw, payload)
    if isinstance(err, RateLimited) and raw.status != 429:
        return ProviderUnavailable(f"upstream quota: {err.message}", status=raw.status)
    if isinstance(err, CredentialRejected):
        return ProviderUnavailable(f"upstream credential: {err.message}", status=raw.status)
    if err is None and raw.status < 400:
        return ProviderUnavailable("error envelope in a success answer", status=raw.status)
    return err
