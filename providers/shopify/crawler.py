"""Fetch Shopify orders and catalogs through the provider engine.

* ``orders(store, ...)``: the Admin API with the store's own credential (``credential_handle``
  is the store), every page of the ``Link`` cursor on the provider and credential that served
  the first one.
* ``products(store, ...)``: the public ``/products.json``, ``page=1, 2, ...`` until an empty
  page, ``max_pages``, or Shopify's 25000-product cap.

``Fetched.raw`` holds every page answer that makes up the value, in order (for a capped catalog
the last one is the store's refusal); ``reparse_orders`` / ``reparse_products`` rebuild the same
value from them with no network.

A short 429 on a follow-up page (``Retry-After`` within ``page_retry_wait`` seconds; Shopify's
leaky bucket frees a slot every half second) is waited out once on the same credential instead
of throwing the pages already fetched away. The first page never waits: there the chain and the
credential pool decide.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from providers.credentials import Credential
from providers.engine import ChainEntry, Crawler, Fetched
from providers.errors import BadInput, MalformedResponse, RateLimited
from providers.http import ProviderRequest, RawResponse
from providers.shopify import PROVIDERS
from providers.shopify.admin import OrdersPage, ShopifyAdmin, redact_orders_page
from providers.shopify.base import (
    FETCH_ORDERS,
    FETCH_PRODUCTS,
    KIND_ORDERS_PAGE,
    KIND_PRODUCTS_PAGE,
    normalize_store,
)
from providers.shopify.model import ShopifyOrder, ShopifyProduct
from providers.shopify.storefront import CatalogCapReached, ShopifyStorefront

__all__ = [
    "DEFAULT_CHAINS",
    "MAX_ORDER_PAGES",
    "ShopifyCrawler",
    "StoreOrders",
    "StoreProducts",
    "reparse_orders",
    "reparse_products",
]

P = TypeVar("P")

#: Fetch type -> providers, in order (data: override per deployment).
DEFAULT_CHAINS: dict[str, list[ChainEntry]] = {
    "orders": ["shopify"],
    "products": ["shopify-storefront"],
}
#: Hard stop for one orders fetch (100,000 orders at 250 a page): a cursor that never ends is a
#: provider bug, not a reason to page forever.
MAX_ORDER_PAGES = 400
DEFAULT_PAGE_RETRY_WAIT = 2.0


@dataclass(frozen=True)
class StoreOrders:
    store: str
    orders: tuple[ShopifyOrder, ...]
    pages: int
    #: Where paging stopped because of ``max_pages`` (continue with ``resume_orders``); None
    #: when every page was read.
    next_page_info: str | None = None

    @property
    def complete(self) -> bool:
        return self.next_page_info is None


@dataclass(frozen=True)
class StoreProducts:
    store: str
    products: tuple[ShopifyProduct, ...]
    pages: int
    #: An empty page was reached: this is the whole public catalog.
    complete: bool
    #: Paging stopped at Shopify's 25000-product cap: the catalog may hold more.
    capped: bool = False


def _check_max_pages(max_pages: int | None) -> None:
    if max_pages is not None and (isinstance(max_pages, bool) or max_pages < 1):
        raise BadInput("max_pages must be >= 1 (or None)")


# --------------------------------------------------------------------------- pure assembly


class _OrdersBuilder:
    """Orders across pages, first occurrence kept (a cursor may repeat an order at a page
    boundary when orders are created while paging)."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.orders: dict[str, ShopifyOrder] = {}
        self.pages = 0
        self.next_page_info: str | None = None
        self._seen_tokens: set[str] = set()

    def add(self, page: OrdersPage) -> None:
        self.pages += 1
        for order in page.orders:
            self.orders.setdefault(order.platform_order_id, order)
        token = page.next_page_info
        if token is not None and token in self._seen_tokens:
            raise MalformedResponse("the Link cursor came back to a page already read")
        if token is not None:
            self._seen_tokens.add(token)
        self.next_page_info = token

    def result(self) -> StoreOrders:
        return StoreOrders(self.store, tuple(self.orders.values()), self.pages, self.next_page_info)


class _ProductsBuilder:
    def __init__(self, store: str) -> None:
        self.store = store
        self.products: dict[str, ShopifyProduct] = {}
        self.pages = 0
        self.complete = False
        self.capped = False

    def add(self, products: Sequence[ShopifyProduct]) -> None:
        self.pages += 1
        if not products:
            self.complete = True
        for product in products:
            self.products.setdefault(product.product_id, product)

    def result(self) -> StoreProducts:
        return StoreProducts(
            self.store, tuple(self.products.values()), self.pages, self.complete, self.capped
        )


def _provider_of(raws: Sequence[RawResponse], providers: Mapping[str, Any]) -> Any:
    if not raws:
        raise ValueError("nothing to re-parse")
    names = {r.provider for r in raws}
    if len(names) != 1:
        raise ValueError(f"raw responses come from several providers: {sorted(names)}")
    provider = providers.get(raws[0].provider)
    if provider is None:
        raise ValueError(f"unknown provider {raws[0].provider!r}")
    return provider


def reparse_orders(
    raws: Sequence[RawResponse], store: str, *, providers: Mapping[str, Any] = PROVIDERS
) -> StoreOrders:
    """``StoreOrders`` from the ``Fetched.raw`` of an ``orders`` fetch, with no network."""
    provider = _provider_of(raws, providers)
    builder = _OrdersBuilder(normalize_store(store))
    for raw in raws:
        if raw.kind != KIND_ORDERS_PAGE:
            raise ValueError(f"unexpected raw response kind {raw.kind!r}")
        builder.add(provider.parse_orders(raw, builder.store))
    return builder.result()


def reparse_products(
    raws: Sequence[RawResponse], store: str, *, providers: Mapping[str, Any] = PROVIDERS
) -> StoreProducts:
    """``StoreProducts`` from the ``Fetched.raw`` of a ``products`` fetch, with no network."""
    provider = _provider_of(raws, providers)
    builder = _ProductsBuilder(normalize_store(store))
    for number, raw in enumerate(raws, start=1):
        if raw.kind != KIND_PRODUCTS_PAGE:
            raise ValueError(f"unexpected raw response kind {raw.kind!r}")
        try:
            page = provider.parse_products(raw, builder.store, number)
        except CatalogCapReached:
            if number == 1 or number != len(raws):
                raise
            builder.capped = True
            break
        builder.add(page.products)
    if not builder.complete and not builder.capped and len(raws) >= provider.last_page:
        builder.capped = True
    return builder.result()


# --------------------------------------------------------------------------- the crawler


class ShopifyCrawler(Crawler):
    FETCH_TYPES: ClassVar[dict[str, frozenset[str]]] = {
        "orders": frozenset({FETCH_ORDERS}),
        "products": frozenset({FETCH_PRODUCTS}),
    }

    DEFAULT_CHAINS: ClassVar[Mapping[str, Sequence[ChainEntry]]] = DEFAULT_CHAINS
    PROVIDERS: ClassVar[Mapping[str, Any]] = PROVIDERS

    def __init__(
        self, *args: Any, page_retry_wait: float = DEFAULT_PAGE_RETRY_WAIT, **kwargs: Any
    ) -> None:
        """``Crawler``'s arguments, plus how long a follow-up page may wait out a short 429."""
        super().__init__(*args, **kwargs)
        self.page_retry_wait = page_retry_wait

    # -- orders ---------------------------------------------------------------------------------

    async def orders(
        self,
        store: str,
        created_at_min: datetime | str | None = None,
        created_at_max: datetime | str | None = None,
        max_pages: int | None = None,
        *,
        updated_at_min: datetime | str | None = None,
        limit: int | None = None,
    ) -> Fetched[StoreOrders]:
        """Every order of ``store`` (any status), optionally created (or updated) within a time
        range, ``limit`` a page; at most ``max_pages`` pages (then ``next_page_info`` says
        where to resume). The raw pages kept hold no customer personal data."""
        clean = normalize_store(store)
        _check_max_pages(max_pages)

        async def attempt(
            provider: ShopifyAdmin, cred: Credential, base_url: str
        ) -> tuple[StoreOrders, list[RawResponse]]:
            first = provider.orders_request(
                clean,
                cred,
                base_url,
                created_at_min=created_at_min,
                created_at_max=created_at_max,
                updated_at_min=updated_at_min,
                limit=limit,
            )
            return await self._order_pages(provider, cred, base_url, clean, first, max_pages, limit)

        return await self._fallback("orders", attempt, credential_handle=clean)

    async def resume_orders(
        self,
        store: str,
        page_info: str,
        max_pages: int | None = None,
        provider: str = ShopifyAdmin.name,
    ) -> Fetched[StoreOrders]:
        """Continue an orders fetch stopped by ``max_pages``, on the provider that started it."""
        clean = normalize_store(store)
        _check_max_pages(max_pages)

        async def attempt(
            admin: ShopifyAdmin, cred: Credential, base_url: str
        ) -> tuple[StoreOrders, list[RawResponse]]:
            first = admin.next_orders_request(clean, page_info, cred, base_url)
            return await self._order_pages(admin, cred, base_url, clean, first, max_pages)

        return await self._on_provider(provider, "orders", attempt, credential_handle=clean)

    async def _order_pages(
        self,
        provider: ShopifyAdmin,
        cred: Credential,
        base_url: str,
        store: str,
        request: ProviderRequest,
        max_pages: int | None,
        page_size: int | None = None,
    ) -> tuple[StoreOrders, list[RawResponse]]:
        limit = min(max_pages or MAX_ORDER_PAGES, MAX_ORDER_PAGES)
        builder = _OrdersBuilder(store)
        raws: list[RawResponse] = []
        while True:
            raw, page = await self._page(
                lambda r: provider.parse_orders(r, store),
                provider.name,
                KIND_ORDERS_PAGE,
                request,
                cred,
                first=not raws,
            )
            # Stored for backfills: without the shoppers' personal data.
            raws.append(redact_orders_page(raw))
            builder.add(page)
            token = builder.next_page_info
            if token is None or builder.pages >= limit:
                break
            request = provider.next_orders_request(store, token, cred, base_url, page_size)
        return builder.result(), raws

    # -- products -------------------------------------------------------------------------------

    async def products(self, store: str, max_pages: int | None = None) -> Fetched[StoreProducts]:
        """The public catalog of ``store``: pages until an empty one, ``max_pages`` or the
        25000-product cap (``capped`` then says more may exist)."""
        clean = normalize_store(store)
        _check_max_pages(max_pages)

        async def attempt(
            provider: ShopifyStorefront, cred: Credential, base_url: str
        ) -> tuple[StoreProducts, list[RawResponse]]:
            return await self._product_pages(provider, cred, base_url, clean, max_pages)

        return await self._fallback("products", attempt)

    async def _product_pages(
        self,
        provider: ShopifyStorefront,
        cred: Credential,
        base_url: str,
        store: str,
        max_pages: int | None,
    ) -> tuple[StoreProducts, list[RawResponse]]:
        builder = _ProductsBuilder(store)
        raws: list[RawResponse] = []
        number = 1
        while True:
            if number > provider.last_page:
                builder.capped = True  # asking would only earn the store's 400
                break
            if max_pages is not None and number > max_pages:
                break
            request = provider.products_request(store, number, base_url)
            parse = functools.partial(provider.parse_products, store=store, page=number)
            try:
                raw, page = await self._page(
                    parse,
                    provider.name,
                    KIND_PRODUCTS_PAGE,
                    request,
                    cred,
                    first=number == 1,
                )
            except _CapAnswer as cap:
                raws.append(cap.raw)
                builder.capped = True
                break
            raws.append(raw)
            builder.add(page.products)
            if builder.complete:
                break
            number += 1
        return builder.result(), raws

    # -- one page -------------------------------------------------------------------------------

    async def _page(
        self,
        parse: Callable[[RawResponse], P],
        provider: str,
        kind: str,
        request: ProviderRequest,
        cred: Credential,
        *,
        first: bool,
    ) -> tuple[RawResponse, P]:
        """Execute and parse one page; a follow-up page waits out one short 429."""
        waited = False
        while True:
            raw = await self._execute(provider, kind, request, cred)
            try:
                return raw, parse(raw)
            except RateLimited as err:
                wait = err.retry_after
                if first or waited or wait is None or wait > self.page_retry_wait:
                    raise
                waited = True
                await asyncio.sleep(wait)
            except CatalogCapReached:
                if first:
                    raise
                raise _CapAnswer(raw) from None


class _CapAnswer(Exception):
    """The store refused a page past its cap: the catalog stops here (internal signal)."""

    def __init__(self, raw: RawResponse) -> None:
        super().__init__("catalog cap reached")
        self.raw = raw
