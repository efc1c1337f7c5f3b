"""Shopify providers and their registry (name -> provider instance).

* ``"shopify"``: the Admin REST API (orders), one access token per store.
* ``"shopify-storefront"``: a store's public ``/products.json`` catalog, no credential.

The crawler (``providers.shopify.crawler``) is imported separately because it pulls in aiohttp.
"""

from __future__ import annotations

from typing import Any

from providers.shopify.admin import API_VERSION, OrdersPage, ShopifyAdmin, admin_error
from providers.shopify.base import (
    FETCH_ORDERS,
    FETCH_PRODUCTS,
    KIND_ORDERS_PAGE,
    KIND_PRODUCTS_PAGE,
    normalize_store,
)
from providers.shopify.model import ShopifyImage, ShopifyOrder, ShopifyProduct, ShopifyVariant
from providers.shopify.storefront import (
    CATALOG_CAP,
    CatalogCapReached,
    ProductsPage,
    ShopifyStorefront,
    storefront_error,
)

__all__ = [
    "API_VERSION",
    "CATALOG_CAP",
    "FETCH_ORDERS",
    "FETCH_PRODUCTS",
    "KIND_ORDERS_PAGE",
    "KIND_PRODUCTS_PAGE",
    "PROVIDERS",
    "CatalogCapReached",
    "OrdersPage",
    "ProductsPage",
    "ShopifyAdmin",
    "ShopifyImage",
    "ShopifyOrder",
    "ShopifyProduct",
    "ShopifyStorefront",
    "ShopifyVariant",
    "admin_error",
    "normalize_store",
    "storefront_error",
]

PROVIDERS: dict[str, Any] = {
    ShopifyAdmin.name: ShopifyAdmin(),
    ShopifyStorefront.name: ShopifyStorefront(),
}
