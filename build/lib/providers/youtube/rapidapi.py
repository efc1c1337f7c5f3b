"""What the RapidAPI-hosted YouTube providers share: the credential IS the headers dict
(``{"x-rapidapi-key": ..., "x-rapidapi-host": ...}``), and errors come from RapidAPI's proxy
(see ``providers.youtube.errors.rapidapi_error``)."""

from __future__ import annotations

from typing import Any

from providers.errors import ProviderError
from providers.http import RawResponse
from providers.rapidapi import HeaderSecretAdapter
from providers.youtube.base import YouTubeProvider
from providers.youtube.errors import rapidapi_error

__all__ = ["RapidApiProvider"]


class RapidApiProvider(HeaderSecretAdapter, YouTubeProvider):
    """RapidAPI headers (``host`` is the default x-rapidapi-host) and error mapping."""

    def _error(self, raw: RawResponse, payload: Any) -> ProviderError | None:
        return rapidapi_error(raw, payload)
