"""Transport-neutral request/response records and redaction helpers.

``ProviderRequest`` is what a provider's request builder returns; the crawler executes it.
``RawResponse`` is what came back: enough to re-parse later without calling the provider
(``kind`` says which parser applies). Neither ever prints a secret.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "KIND_POST",
    "KIND_POSTS_PAGE",
    "KIND_PROFILE",
    "REDACTED",
    "ProviderRequest",
    "RawResponse",
    "is_secret_name",
    "redact_headers",
    "redact_params",
    "redact_url",
]

REDACTED = "REDACTED"

KIND_PROFILE = "profile"
KIND_POSTS_PAGE = "posts_page"
KIND_POST = "post"

_SECRET_NAME = re.compile(
    r"(?i)(authorization|cookie|key|token|secret|password|passwd|signature|^sig$|credential)"
)


def is_secret_name(name: str) -> bool:
    """True for header / query parameter names whose value must never be shown."""
    return bool(_SECRET_NAME.search(name))


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Copy of ``headers`` with every secret-looking value replaced."""
    return {k: (REDACTED if is_secret_name(k) else v) for k, v in headers.items()}


def redact_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (REDACTED if is_secret_name(k) else v) for k, v in params.items()}


def redact_url(url: str) -> str:
    """``url`` with secret query values (access_token, key, token...) and userinfo removed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" not in netloc and not _SECRET_NAME.search(parts.query):
        return url  # nothing to hide (the common case: skip re-encoding the query)
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if is_secret_name(k) else v) for k, v in pairs], safe="{}(),.:"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _url_with_params(url: str, params: Mapping[str, Any]) -> str:
    if not params:
        return url
    sep = "&" if "?" in url else "?"
    return url + sep + urlencode([(k, str(v)) for k, v in params.items()], safe="{}(),.:")


@dataclass(frozen=True)
class ProviderRequest:
    """One HTTP request to a provider, as built by a provider's request builder."""

    method: str
    url: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    #: A form body (``application/x-www-form-urlencoded``), e.g. an OAuth token refresh.
    data: dict[str, str] | None = None

    def redacted_url(self) -> str:
        """Full URL (with params) with secrets removed: safe to log."""
        return redact_url(_url_with_params(self.url, self.params))

    def __repr__(self) -> str:
        return (
            f"ProviderRequest(method={self.method!r}, url={redact_url(self.url)!r}, "
            f"params={redact_params(self.params)!r}, "
            f"headers={ {k: REDACTED for k in self.headers}!r}, "
            f"json={'...' if self.json is not None else None})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class RawResponse:
    """A provider's answer, kept so it can be stored and re-parsed later.

    ``kind`` names what was fetched: ``"profile"``, ``"posts_page"`` or ``"post"``.
    ``headers`` have lower-case names and secret values redacted. ``fetched_at`` is the epoch
    time the response was received (re-parsing uses it to apply the same age cut-off).
    """

    provider: str
    kind: str
    status: int
    headers: dict[str, str]
    body: bytes
    url_redacted: str
    elapsed_ms: float = 0.0
    fetched_at: float = 0.0

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def __repr__(self) -> str:
        return (
            f"RawResponse(provider={self.provider!r}, kind={self.kind!r}, status={self.status}, "
            f"url={self.url_redacted!r}, body=<{len(self.body)} bytes>, "
            f"elapsed_ms={self.elapsed_ms:.1f})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for storage (body as base64)."""
        return {
            "provider": self.provider,
            "kind": self.kind,
            "status": self.status,
            "headers": dict(self.headers),
            "body_b64": base64.b64encode(self.body).decode("ascii"),
            "url_redacted": self.url_redacted,
            "elapsed_ms": self.elapsed_ms,
            "fetched_at": self.fetched_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RawResponse:
        return cls(
            provider=str(data["provider"]),
            kind=str(data["kind"]),
            status=int(data["status"]),
            headers={str(k).lower(): str(v) for k, v in dict(data.get("headers") or {}).items()},
            body=base64.b64decode(data["body_b64"]),
            url_redacted=str(data.get("url_redacted", "")),
            elapsed_ms=float(data.get("elapsed_ms", 0.0)),
            fetched_at=float(data.get("fetched_at", 0.0)),
        )

    @classmethod
    def build(
        cls,
        provider: str,
        kind: str,
        status: int,
        body: bytes,
        headers: Iterable[tuple[str, str]] | Mapping[str, str] = (),
        url: str = "",
        elapsed_ms: float = 0.0,
        fetched_at: float = 0.0,
    ) -> RawResponse:
        """Build from raw parts: lower-cases and redacts headers, redacts the URL."""
        items = headers.items() if isinstance(headers, Mapping) else headers
        merged: dict[str, str] = {}
        for name, value in items:
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        return cls(
            provider=provider,
            kind=kind,
            status=status,
            headers=redact_headers(merged),
            body=body,
            url_redacted=redact_url(url) if url else "",
            elapsed_ms=elapsed_ms,
            fetched_at=fetched_at,
        )


@dataclass(frozen=True)
class HttpCall:
    """One HTTP exchange with a provider, for tracing: URL and headers already redacted."""

    provider: str
    kind: str
    method: str
    url_redacted: str
    request_headers: dict[str, str]
    status: int | None
    elapsed_ms: float
    error: str | None
    at: float
    #: The start of each body, secrets scrubbed (trace_log's requestBody / responseBody).
    request_body: str = ""
    response_body: str = ""
