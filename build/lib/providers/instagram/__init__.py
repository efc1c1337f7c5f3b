"""Instagram providers and their registry (name -> provider instance)."""

from __future__ import annotations

from providers.instagram.arraybobo import ArrayBobo
from providers.instagram.base import (
    FETCH_FOLLOWERS,
    FETCH_POST,
    FETCH_POSTS,
    FETCH_PROFILE,
    KIND_FOLLOWERS_PAGE,
    InstagramProvider,
    normalize_handle,
    normalize_shortcode,
)
from providers.instagram.bestsolutions import BestSolutions
from providers.instagram.graphapi import GraphApi
from providers.instagram.igapi import IgApi
from providers.instagram.jotucker import JoTucker
from providers.instagram.lama import Lama
from providers.instagram.neotank import NeoTank
from providers.instagram.rocketapi import RocketApi

__all__ = [
    "FETCH_FOLLOWERS",
    "FETCH_POST",
    "FETCH_POSTS",
    "FETCH_PROFILE",
    "KIND_FOLLOWERS_PAGE",
    "PROVIDERS",
    "ArrayBobo",
    "BestSolutions",
    "GraphApi",
    "IgApi",
    "InstagramProvider",
    "JoTucker",
    "Lama",
    "NeoTank",
    "RocketApi",
    "normalize_handle",
    "normalize_shortcode",
]

PROVIDERS: dict[str, InstagramProvider] = {
    "graphapi": GraphApi(),
    "arraybobo": ArrayBobo(),
    "jotucker": JoTucker(),
    "rocketapi": RocketApi(),
    "lama": Lama(),
    "bestsolutions": BestSolutions(),
    "neotank": NeoTank(),
    "igapi": IgApi(),
}
