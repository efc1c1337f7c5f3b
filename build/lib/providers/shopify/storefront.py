"""A store's public catalog, ``/products.json`` (provider ``"shopify-storefront"``).

``GET {store root}/products.json?limit=250&page=N``, no credential (the engine hands the
provider an anonymous one). The endpoint is public but undocumented; what we rely on:

* Paging is ``page=1, 2, ...`` until an empty page. Shopify refuses ``page * limit > 25000``
  with 400 ``"Page * Limit exceeds the 25000 limit."``: the builder never asks past that
  (``last_page``) and the parser turns the answer into ``CatalogCapReached`` so a crawler that
  meets it anyway stops paging. Bigger catalogs need collection or sitemap paging.

Error mapping (``storefront_error``):

=======================================  ========================================================
answer                                   we raise
=======================================  ========================================================
200 + HTML, password page                TargetPrivate (the catalog is closed to the public)
200 + HTML, anything else                TargetNotFound (not a Shopify storefront)
3xx to ``/password``                     TargetPrivate
3xx elsewhere (primary-domain redirect)  TargetNotFound, naming the host to crawl instead
400 "Page * Limit exceeds ..."           CatalogCapReached (a BadInput)
other 400                                BadInput
401 / 404                                TargetNotFound (endpoint disabled, or no such store)
402 / 423                                TargetNotFound (store frozen / locked)
403                                      ProviderUnavailable (bot protection: try later)
429 / 430 (+ Retry-After)                RateLimited
5xx                                      ProviderUnavailable
=======================================  ========================================================

A 200 HTML page is a *fact about the target*, not a malformed answer: the site is not a Shopify
store (or hides its catalog), every retry would get the same page, and MalformedResponse would
make it look like the provider is unhealthy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from providers.cooling import cooling_seconds
from providers.credentials import Credential
from providers.errors import (
    BadInput,
    MalformedResponse,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetPrivate,
)
from providers.http import ProviderRequest, RawResponse
from providers.parsing import (
    expect_dict,
    from_iso,
    load_json,
    opt_bool,
    opt_id,
    opt_list,
    opt_str,
    req_id,
    req_str,
    to_int,
    try_json,
)
from providers.shopify.base import (
    FETCH_PRODUCTS,
    error_text,
    guard,
    is_html,
    normalize_store,
    opt_money,
    req_list,
    store_base,
)
from providers.shopify.model import ShopifyImage, ShopifyProduct, ShopifyVariant

__all__ = [
    "CATALOG_CAP",
    "PAGE_LIMIT",
    "CatalogCapReached",
    "ProductsPage",
    "ShopifyStorefront",
    "product_from_json",
    "storefront_error",
]

PAGE_LIMIT = 250
#: Shopify refuses ``page * limit`` above this.
CATALOG_CAP = 25000
_CAP_WORDS = ("25000", "page * limit")
_PRIVATE_PATHS = ("/password", "/account/login")


class CatalogCapReached(BadInput):
    """The store refused a page past ``page * limit = 25000``: stop paging (a request past the
    cap is our mistake, hence BadInput)."""


@dataclass(frozen=True)
class ProductsPage:
    products: tuple[ShopifyProduct, ...]
    page: int


def _redirect_error(raw: RawResponse) -> ProviderError:
    location = raw.header("location") or ""
    try:
        parts = urlsplit(location)
    except ValueError:
        parts = urlsplit("")
    if parts.path.rstrip("/").endswith(_PRIVATE_PATHS):
        return TargetPrivate("the store is password protected", status=raw.status)
    host = parts.hostname or "another address"
    return TargetNotFound(
        f"the storefront redirects to {host[:80]}: crawl the store under that domain",
        status=raw.status,
    )


def _html_error(raw: RawResponse) -> ProviderError:
    head = raw.body[:20000].lower()
    if b'action="/password"' in head or b"password-page" in head:
        return TargetPrivate("the store is password protected", status=raw.status)
    return TargetNotFound(
        "products.json answered an HTML page: not a Shopify storefront", status=raw.status
    )


def _says_cap(text: str, raw: RawResponse) -> bool:
    # The refusal may come as JSON or as bare text: look at both.
    haystack = f"{text} {raw.body[:300].decode('utf-8', 'replace')}".lower()
    return any(w in haystack for w in _CAP_WORDS)


def storefront_error(raw: RawResponse, payload: Any) -> ProviderError | None:
    """Map a ``/products.json`` answer to an error (see the module table), or None."""
    status = raw.status
    text = error_text(payload, status)
    if 200 <= status < 300:
        return _html_error(raw) if is_html(raw) else None
    if status in (429, 430):
        return RateLimited(text, status=status, retry_after=cooling_seconds(raw.headers))
    if 300 <= status < 400:
        return _redirect_error(raw)
    if status == 400 and _says_cap(text, raw):
        return CatalogCapReached(text, status=status)
    if status in (400, 414, 422):
        return BadInput(text, status=status)
    if status in (401, 404):
        return TargetNotFound(
            f"products.json is disabled or the store is gone: {text}", status=status
        )
    if status in (402, 423):
        return TargetNotFound(f"the store is unavailable: {text}", status=status)
    return ProviderUnavailable(text, status=status, retry_after=cooling_seconds(raw.headers))


# --------------------------------------------------------------------------- product parsing


def _tags(obj: dict[str, Any], where: str) -> tuple[str, ...]:
    """The storefront sends a list; the Admin API a comma-separated string. Accept both."""
    value = obj.get("tags")
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split(",") if t.strip())
    tags = []
    for i, tag in enumerate(opt_list(obj, "tags", where)):
        if not isinstance(tag, str):
            raise MalformedResponse(f"{where}.tags[{i}]: expected a string")
        tags.append(tag)
    return tuple(tags)


def _variant(item: Any, where: str) -> ShopifyVariant:
    obj = expect_dict(item, where)
    return ShopifyVariant(
        variant_id=req_id(obj, "id", where),
        title=opt_str(obj, "title", where),
        sku=opt_str(obj, "sku", where) or None,
        price=opt_money(obj, "price", where),
        compare_at_price=opt_money(obj, "compare_at_price", where),
        available=opt_bool(obj, "available", where),
    )


def _size(obj: dict[str, Any], key: str, where: str) -> int | None:
    value = to_int(obj.get(key), f"{where}.{key}")
    return value if value is None or value >= 0 else None


def _image(item: Any, where: str) -> ShopifyImage:
    obj = expect_dict(item, where)
    return ShopifyImage(
        src=req_str(obj, "src", where),
        image_id=opt_id(obj, "id", where),
        width=_size(obj, "width", where),
        height=_size(obj, "height", where),
        position=_size(obj, "position", where),
    )


def product_from_json(product: Any, store: str, where: str = "product") -> ShopifyProduct:
    obj = expect_dict(product, where)
    variants = opt_list(obj, "variants", where)
    images = opt_list(obj, "images", where)
    return ShopifyProduct(
        product_id=req_id(obj, "id", where),
        store=store,
        title=opt_str(obj, "title", where),
        handle=opt_str(obj, "handle", where),
        vendor=opt_str(obj, "vendor", where),
        product_type=opt_str(obj, "product_type", where) or None,
        tags=_tags(obj, where),
        published_at=from_iso(obj.get("published_at"), f"{where}.published_at"),
        created_at=from_iso(obj.get("created_at"), f"{where}.created_at"),
        updated_at=from_iso(obj.get("updated_at"), f"{where}.updated_at"),
        variants=tuple(_variant(v, f"{where}.variants[{i}]") for i, v in enumerate(variants)),
        images=tuple(_image(m, f"{where}.images[{i}]") for i, m in enumerate(images)),
    )


# --------------------------------------------------------------------------- the provider


class ShopifyStorefront:
    """A store's public ``/products.json``; no credential."""

    name: ClassVar[str] = "shopify-storefront"
    supports: ClassVar[frozenset[str]] = frozenset({FETCH_PRODUCTS})
    needs_credential: ClassVar[bool] = False

    def __init__(self, page_limit: int = PAGE_LIMIT) -> None:
        if not 1 <= page_limit <= PAGE_LIMIT:
            raise ValueError(f"page_limit must be within 1..{PAGE_LIMIT}")
        self.page_limit = page_limit

    @property
    def last_page(self) -> int:
        """The highest page Shopify serves at this page size."""
        return CATALOG_CAP // self.page_limit

    def products_request(
        self, store: str, page: int, base_url: str, credential: Credential | None = None
    ) -> ProviderRequest:
        """Page ``page`` (from 1) of the catalog. ``credential`` is ignored (anonymous)."""
        clean = normalize_store(store)
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise BadInput("page must be an integer >= 1")
        if page > self.last_page:
            raise CatalogCapReached(
                f"page {page} x limit {self.page_limit} exceeds the {CATALOG_CAP} cap"
            )
        return ProviderRequest(
            method="GET",
            url=f"{store_base(base_url, clean)}/products.json",
            params={"limit": str(self.page_limit), "page": str(page)},
            headers={"Accept": "application/json"},
        )

    def parse_products(self, raw: RawResponse, store: str, page: int = 1) -> ProductsPage:
        return guard(self.name, raw, lambda: self._parse_products(raw, store, page))

    def _parse_products(self, raw: RawResponse, store: str, page: int) -> ProductsPage:
        err = storefront_error(raw, try_json(raw))
        if err is not None:
            raise err
        payload = expect_dict(load_json(raw), "body")
        products = tuple(
            product_from_json(p, store, f"products[{i}]")
            for i, p in enumerate(req_list(payload, "products", "body"))
        )
        return ProductsPage(products, page)

    def __repr__(self) -> str:
        return f"ShopifyStorefront(page_limit={self.page_limit})"
