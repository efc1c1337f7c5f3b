"""What both Shopify providers share: store names, fetch types, Link paging, money, errors.

Parsers are built from the strict JSON accessors of ``providers.parsing`` and run under its
``guard`` (re-exported here): they return model objects or raise a ``ProviderError``; any stray
exception becomes ``MalformedResponse``.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from providers.errors import BadInput, MalformedResponse
from providers.http import RawResponse
from providers.parsing import guard

__all__ = [
    "FETCH_ORDERS",
    "FETCH_PRODUCTS",
    "KIND_ORDERS_PAGE",
    "KIND_PRODUCTS_PAGE",
    "error_text",
    "guard",
    "is_html",
    "next_page_info",
    "normalize_store",
    "opt_money",
    "req_list",
    "store_base",
    "store_host",
]

FETCH_ORDERS = "orders"
FETCH_PRODUCTS = "products"
KIND_ORDERS_PAGE = "orders_page"
KIND_PRODUCTS_PAGE = "products_page"

MYSHOPIFY = ".myshopify.com"
_SHOP_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}(\.myshopify\.com)?$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_MAX_MONEY_CHARS = 40


# --------------------------------------------------------------------------- store names


def normalize_store(store: str) -> str:
    """The canonical name of a store: the bare shop name for ``*.myshopify.com`` stores
    (``"Foo"``, ``"foo.myshopify.com"`` -> ``"foo"``), else the lower-case domain
    (``"https://Shop.Example.com/"`` -> ``"shop.example.com"``). BadInput when it is neither:
    it ends up in a URL path or host.

    Credentials are looked up by this name (``Credential.handle`` must be canonical too), so
    both spellings of a shop find its token."""
    if not isinstance(store, str):
        raise BadInput("store must be a string")
    value = store.strip().lower()
    for scheme in ("https://", "http://"):
        if value.startswith(scheme):
            value = value[len(scheme) :]
    value = value.rstrip("/")
    if _SHOP_NAME.match(value):
        return value.removesuffix(MYSHOPIFY)
    if _DOMAIN.match(value):
        return value
    raise BadInput(f"invalid Shopify store {value[:60]!r}")


def store_host(store: str) -> str:
    """The host serving ``store``: a bare shop name lives at ``{name}.myshopify.com``."""
    return store if "." in store else store + MYSHOPIFY


def store_base(base_url: str, store: str) -> str:
    """Root URL of ``store`` under a provider base URL.

    A base URL with ``{host}`` or ``{store}`` is a template (production: ``https://{host}``);
    any other base URL gets the store as its first path segment (the sandbox:
    ``http://127.0.0.1:8765/shopify`` -> ``.../shopify/{store}``).
    """
    if "{host}" in base_url or "{store}" in base_url:
        return base_url.replace("{host}", store_host(store)).replace("{store}", store).rstrip("/")
    return f"{base_url.rstrip('/')}/{store}"


# --------------------------------------------------------------------------- paging


_LINK_VALUE = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")
_REL = re.compile(r"""rel\s*=\s*"?([^";]+)"?""", re.IGNORECASE)


def next_page_info(link: str | None) -> str | None:
    """The ``page_info`` of the ``rel="next"`` entry of a ``Link`` header, or None (last page).

    Only the token is kept: follow-up requests are built on our own base URL, never by
    following the URL the answer names (it could point anywhere)."""
    if not link:
        return None
    for match in _LINK_VALUE.finditer(link):
        url, params = match.group(1), match.group(2)
        rels = {r.lower() for m in _REL.finditer(params) for r in m.group(1).split()}
        if "next" not in rels:
            continue
        token = dict(parse_qsl(urlsplit(url).query)).get("page_info", "").strip()
        if not token:
            raise MalformedResponse('Link header: rel="next" without page_info')
        return token
    return None


# --------------------------------------------------------------------------- values


def req_list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        what = "missing" if value is None else f"not a list ({type(value).__name__})"
        raise MalformedResponse(f"{where}.{key}: {what}")
    return value


def opt_money(obj: dict[str, Any], key: str, where: str) -> Decimal | None:
    """An amount: Shopify sends ``"598.94"`` (text); numbers are accepted too. Finite only."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MalformedResponse(f"{where}.{key}: expected an amount, got bool")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MalformedResponse(f"{where}.{key}: amount is not finite")
        return Decimal(str(value))
    if not isinstance(value, str) or len(value) > _MAX_MONEY_CHARS:
        raise MalformedResponse(f"{where}.{key}: expected an amount")
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise MalformedResponse(f"{where}.{key}: unparseable amount") from None
    if not amount.is_finite():
        raise MalformedResponse(f"{where}.{key}: amount is not finite")
    return amount


def is_html(raw: RawResponse) -> bool:
    """An HTML page (a non-Shopify site, a password page, a proxy error) rather than JSON."""
    head = raw.body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return head == b"<"


def error_text(payload: Any, status: int) -> str:
    """Shopify's error message: ``{"errors": "..."}``, ``{"errors": {"field": ["..."]}}``,
    ``{"errors": [...]}`` or ``{"error": "..."}``; ``HTTP {status}`` when there is none."""
    if isinstance(payload, dict):
        for key in ("errors", "error", "message"):
            text = _flatten_errors(payload.get(key))
            if text:
                return text
    return f"HTTP {status}"


def _flatten_errors(value: Any, depth: int = 0) -> str:
    if depth > 3 or value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(t for t in (_flatten_errors(v, depth + 1) for v in value[:5]) if t)
    if isinstance(value, dict):
        parts = []
        for k, v in list(value.items())[:5]:
            text = _flatten_errors(v, depth + 1)
            parts.append(f"{k}: {text}" if text else str(k))
        return "; ".join(parts)
    return str(value)
