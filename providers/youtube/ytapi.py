"""The Data API with a channel owner's OAuth grant (``ytapi``).

Credential secret: ``{"refresh_token", "channel_id", "client_id", "client_secret"}``. A request
needs an access token first: ``token_request`` builds the refresh (``POST {base}/token``,
``grant_type=refresh_token``, a form body) and ``parse_token`` reads Google's answer
(``{"access_token", "expires_in", "token_type", "scope"}``; ``invalid_grant`` means the grant was
revoked or expired: the credential is dead). The crawler performs the refresh, caches the token
per credential until it expires, and hands the Data API builders a credential carrying it as
``secret["access_token"]`` (so the crawler scrubs it like any secret). Then every call is the
``ytapitoken`` call with ``Authorization: Bearer`` instead of ``key=``.

Production serves the token endpoint from another host than the API; pass ``token_url`` then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from providers.credentials import Credential
from providers.errors import CredentialRejected, MalformedResponse
from providers.http import ProviderRequest, RawResponse
from providers.parsing import checked_object, opt_str, req_str, to_int
from providers.youtube.analytics import (
    CAP_INSIGHTS,
    KIND_REPORT,
    AudienceReport,
    report_params,
    result_table,
)
from providers.youtube.dataapi import YtApiToken
from providers.youtube.errors import oauth_error

__all__ = ["ACCESS_TOKEN_FIELD", "AccessToken", "YtApi"]

#: Where the crawler puts the access token in the credential handed to the builders.
ACCESS_TOKEN_FIELD = "access_token"
_REQUIRED = ("refresh_token", "client_id", "client_secret")
#: Google's access tokens live an hour; assume that when the answer does not say.
_DEFAULT_EXPIRES_IN = 3600


@dataclass(frozen=True)
class AccessToken:
    """A fresh access token; never printed."""

    token: str = field(repr=False)
    expires_in: float
    token_type: str = "Bearer"

    def __str__(self) -> str:
        return f"AccessToken(<redacted>, expires_in={self.expires_in:g})"


class YtApi(YtApiToken):
    name: ClassVar[str] = "ytapi"
    needs_oauth: ClassVar[bool] = True
    #: The Data API's capabilities, and the owner-only Analytics reports.
    supports: ClassVar[frozenset[str]] = YtApiToken.supports | {CAP_INSIGHTS}

    def __init__(self, token_url: str | None = None, analytics_url: str | None = None) -> None:
        self.token_url = token_url
        self.analytics_url = analytics_url

    # -- Analytics reports (the owner's grant only) --------------------------------------------

    def report_request(
        self, report: str, start: date, end: date, credential: Credential, base_url: str
    ) -> ProviderRequest:
        _params, headers = self._auth(credential)
        root = self.analytics_url or f"{base_url.rstrip('/')}/youtubeanalytics"
        return ProviderRequest(
            method="GET",
            url=f"{root.rstrip('/')}/v2/reports",
            params=report_params(report, start, end),
            headers={"Accept": "application/json", **headers},
        )

    def parse(self, raw: RawResponse) -> Any:
        return self.parse_report(raw) if raw.kind == KIND_REPORT else super().parse(raw)

    def parse_report(self, raw: RawResponse) -> AudienceReport:
        return self._guard(raw, lambda r: result_table(checked_object(r, self._error), r))

    # -- the token refresh ----------------------------------------------------------------------

    def token_request(self, credential: Credential, base_url: str) -> ProviderRequest:
        secret = credential.secret
        missing = [k for k in _REQUIRED if not secret.get(k)]
        if missing:
            raise CredentialRejected(
                f"{self.name} credential needs {', '.join(missing)}", provider=self.name
            )
        return ProviderRequest(
            method="POST",
            url=self.token_url or f"{base_url.rstrip('/')}/token",
            headers={"Accept": "application/json"},
            data={
                "grant_type": "refresh_token",
                "refresh_token": secret["refresh_token"],
                "client_id": secret["client_id"],
                "client_secret": secret["client_secret"],
            },
        )

    def parse_token(self, raw: RawResponse) -> AccessToken:
        return self._guard(raw, self._parse_token)

    def _parse_token(self, raw: RawResponse) -> AccessToken:
        body = checked_object(raw, oauth_error)
        token = req_str(body, "access_token", "body")
        token_type = opt_str(body, "token_type", "body") or "Bearer"
        if token_type.lower() != "bearer":
            raise MalformedResponse(f"body.token_type: unexpected {token_type[:20]!r}")
        expires_in = to_int(body.get("expires_in"), "body.expires_in")
        if expires_in is None:
            expires_in = _DEFAULT_EXPIRES_IN
        if not 0 < expires_in < 10 * 86400 or not math.isfinite(expires_in):
            raise MalformedResponse("body.expires_in: out of range")
        return AccessToken(token=token, expires_in=float(expires_in))

    # -- Data API calls: the bearer token instead of a key ----------------------------------

    def _auth(self, credential: Credential) -> tuple[dict[str, str], dict[str, str]]:
        token = credential.secret.get(ACCESS_TOKEN_FIELD)
        if not isinstance(token, str) or not token:
            # The crawler refreshes before it builds: a missing token is a programming error.
            raise ValueError("ytapi requests need an access token (refresh first)")
        return {}, {"Authorization": f"Bearer {token}"}
