"""Instagram providers and their registry (name -> provider instance)."""

from __future__ import annotations

from providers.instagram.arraybobo import ArrayBobo
from providers.instagram.base import (
    FETCH_POST,
    FETCH_POSTS,
    FETCH_PROFILE,
    InstagramProvider,
    normalize_handle,
    normalize_shortcode,
)
from providers.instagram.graphapi import GraphApi

__all__ = [
    "FETCH_POST",
    "FETCH_POSTS",
    "FETCH_PROFILE",
    "PROVIDERS",
    "ArrayBobo",
    "GraphApi",
    "InstagramProvider",
    "normalize_handle",
    "normalize_shortcode",
]

PROVIDERS: dict[str, InstagramProvider] = {
    "graphapi": GraphApi(),
    "arraybobo": ArrayBobo(),
}
