"""Recorded provider answers as ``RawResponse``s (fixtures described by a manifest).

Each platform keeps its fixtures in its own folder with a ``manifest.json`` giving each
file's ``kind``, ``status`` and ``headers``; this builds the answer the same way for all."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from providers.http import RawResponse

__all__ = ["from_manifest"]


def from_manifest(
    fixtures: Path, name: str, meta: Mapping[str, Any], *, provider: str, fetched_at: float
) -> RawResponse:
    """The answer recorded in ``fixtures / name``, as its manifest entry ``meta`` describes."""
    return RawResponse.build(
        provider=provider,
        kind=meta["kind"],
        status=meta["status"],
        body=(fixtures / name).read_bytes(),
        headers=meta.get("headers", {}),
        url=f"https://recorded.example/{name}",
        fetched_at=fetched_at,
    )
