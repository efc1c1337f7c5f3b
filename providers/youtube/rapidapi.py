"""What the RapidAPI-hosted YouTube providers share: the credential IS the headers dict
(``{"x-rapidapi-key": ..., "x-rapidapi-host": ...}``), and errors come from RapidAPI's proxy
(see ``providers.youtube.errors.rapidapi_error``)."""

from __future__ import annotations

from typing import Any, ClassVar

from providers.credentials import Credential
from providers.errors import CredentialRejected, ProviderError
from providers.http import ProviderRequest, RawResponse
from providers.youtube.base import YouTubeProvider
from providers.youtube.errors import rapidapi_error

__all__ = ["RapidApiProvider"]


class RapidApiProvider(YouTubeProvider):
    """Mixin: RapidAPI headers and error mapping. ``host`` is the default x-rapidapi-host."""

    host: ClassVar[str] = ""

    def _headers(self, credential: Credential) -> dict[str, str]:
        headers = {str(k): str(v) for k, v in credential.secret.items()}
        if not any(k.lower() == "x-rapidapi-key" for k in headers):
            raise CredentialRejected(
                f"{self.name} credential needs 'x-rapidapi-key'", provider=self.name
            )
        if not any(k.lower() == "x-rapidapi-host" for k in headers):
            headers["x-rapidapi-host"] = self.host
        return headers

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
        return rapidapi_error(raw, payload)
