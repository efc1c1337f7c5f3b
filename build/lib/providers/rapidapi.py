"""What the scraping-API adapters (RapidAPI's and their kin) share on every platform.

The credential secret IS the HTTP headers dict (``{"x-rapidapi-key", "x-rapidapi-host"}`` on
RapidAPI, ``{"x-access-key"}`` for Lama, ``{"Authorization": "Token ..."}`` for Rocket); a
request is a GET with query parameters; an answer is first read by the provider's error
mapping, then decoded. ``HeaderSecretAdapter`` holds that much; the platform's provider class
supplies the rest (``name``, and the ``_error`` mapping).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from providers.credentials import Credential
from providers.errors import CredentialRejected, ProviderError
from providers.http import ProviderRequest, RawResponse
from providers.parsing import checked_json, checked_object

__all__ = ["HeaderSecretAdapter", "header_secret", "rapidapi_headers", "with_cursor"]


def header_secret(
    credential: Credential,
    provider: str,
    required: str,
    defaults: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The credential's headers, with ``defaults`` added where absent (names compared without
    case). A credential lacking ``required`` can never work: CredentialRejected."""
    headers = {str(k): str(v) for k, v in credential.secret.items()}
    present = {k.lower() for k in headers}
    if required.lower() not in present:
        raise CredentialRejected(f"{provider} credential needs {required!r}", provider=provider)
    for name, value in (defaults or {}).items():
        if name.lower() not in present:
            headers[name] = value
    return headers


def rapidapi_headers(credential: Credential, provider: str, host: str) -> dict[str, str]:
    """``x-rapidapi-key`` (required) and ``x-rapidapi-host`` (defaults to the API's host)."""
    return header_secret(credential, provider, "x-rapidapi-key", {"x-rapidapi-host": host})


class HeaderSecretAdapter:
    """Mixin of the request and answer plumbing. ``host`` is the default x-rapidapi-host;
    adapters whose credential carries another header override ``_headers``, and those whose
    API words its errors its own way override ``_error``."""

    name: ClassVar[str]
    host: ClassVar[str] = ""

    def _headers(self, credential: Credential) -> dict[str, str]:
        return rapidapi_headers(credential, self.name, self.host)

    def _get(
        self, base_url: str, path: str, params: dict[str, str], credential: Credential
    ) -> ProviderRequest:
        return ProviderRequest(
            method="GET",
            url=f"{base_url.rstrip('/')}/{path}",
            params=params,
            headers=self._headers(credential),
        )

    def _error(self, raw: RawResponse, payload: Any) -> ProviderError | None:
        raise NotImplementedError(f"{self.name} names no error mapping")

    def _body(self, raw: RawResponse) -> Any:
        """The decoded answer, once ``_error`` found it is not an error."""
        return checked_json(raw, self._error)

    def _payload(self, raw: RawResponse) -> dict[str, Any]:
        """``_body`` for the usual answer, a JSON object."""
        return checked_object(raw, self._error)


def with_cursor(params: dict[str, str], key: str, cursor: str | None) -> dict[str, str]:
    """``params`` plus the cursor of the page to continue from (none on the first page)."""
    return {**params, key: cursor} if cursor else params
