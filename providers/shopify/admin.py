"""Shopify Admin REST API, orders (provider ``"shopify"``).

* first page: ``GET {store root}/admin/api/2024-10/orders.json?status=any&limit=250``
  (+ ``created_at_min`` / ``created_at_max``)
* next pages: cursor paging through the ``Link`` header (``rel="next"`` carries ``page_info``);
  a follow-up request carries ONLY ``page_info`` and ``limit`` (Shopify answers 400 to any other
  filter next to ``page_info``: the cursor already encodes them).

The credential is per store (``Credential.handle`` is the store) and its secret IS the headers
dict ``{"X-Shopify-Access-Token": "shpat_..."}``.

Error mapping (``admin_error``):

========  ============================================  ======================================
status    Shopify says                                  we raise
========  ============================================  ======================================
401       ``[API] Invalid API key or access token``     CredentialRejected (token dead/revoked)
403       ``requires merchant approval for ... scope``  CredentialRejected (missing scope)
402       ``Unavailable Shop`` (frozen: unpaid bill)    TargetNotFound
423       ``Locked`` (fraud / abuse lock)               TargetNotFound
404       ``Not Found`` (no such shop)                  TargetNotFound
429       ``Exceeded 2 calls per second ...``           RateLimited(retry_after=Retry-After)
400/422   bad parameters / bad page_info                BadInput
3xx       redirect (custom domain, not the shop host)   BadInput
5xx       ``Internal Server Error`` ...                 ProviderUnavailable
========  ============================================  ======================================

402 and 423 are TargetNotFound on purpose: the shop exists but serves nobody until a human acts
(the merchant pays, Shopify support unlocks it). The token is fine, so CredentialRejected would
kill a credential that works again afterwards; ProviderUnavailable would retry in a loop. A
target fact ends the request; the next scheduled refresh tries again. ``status`` on the error
keeps 402/423 apart from 404.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from providers.cooling import cooling_seconds
from providers.credentials import Credential
from providers.errors import (
    BadInput,
    CredentialRejected,
    MalformedResponse,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetNotServed,
)
from providers.http import ProviderRequest, RawResponse
from providers.parsing import (
    expect_dict,
    from_iso,
    load_json,
    opt_dict,
    opt_list,
    opt_str,
    req_id,
    try_json,
)
from providers.shopify.base import (
    FETCH_ORDERS,
    error_text,
    guard,
    is_html,
    next_page_info,
    normalize_store,
    opt_money,
    req_list,
    store_base,
)
from providers.shopify.model import ShopifyOrder

__all__ = [
    "ACCESS_TOKEN_HEADER",
    "API_VERSION",
    "PAGE_LIMIT",
    "OrdersPage",
    "ShopifyAdmin",
    "admin_error",
    "call_limit",
    "order_from_json",
    "redact_orders_page",
    "scrub_personal_data",
    "utm_params",
]

API_VERSION = "2024-10"
PAGE_LIMIT = 250
ACCESS_TOKEN_HEADER = "X-Shopify-Access-Token"
CALL_LIMIT_HEADER = "x-shopify-shop-api-call-limit"
#: The REST leaky bucket drains 2 requests a second (standard plans): a full bucket frees a
#: slot in half a second. Used only when a 429 carries no Retry-After.
_LEAK_SECONDS = 0.5

_CALL_LIMIT = re.compile(r"^\s*(\d{1,6})\s*/\s*(\d{1,6})\s*$")
_BAD_INPUT_STATUSES = frozenset({400, 406, 414, 422})


@dataclass(frozen=True)
class OrdersPage:
    """One page of orders; ``next_page_info`` is None on the last page."""

    orders: tuple[ShopifyOrder, ...]
    next_page_info: str | None
    #: ``X-Shopify-Shop-Api-Call-Limit`` as (used, bucket size), when sent.
    call_limit: tuple[int, int] | None = None


def call_limit(raw: RawResponse) -> tuple[int, int] | None:
    """``"32/40"`` -> ``(32, 40)``; None when absent or unreadable."""
    match = _CALL_LIMIT.match(raw.header(CALL_LIMIT_HEADER) or "")
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def _retry_after(raw: RawResponse) -> float | None:
    seconds = cooling_seconds(raw.headers)
    if seconds is not None:
        return seconds
    bucket = call_limit(raw)
    if bucket is not None and bucket[0] >= bucket[1]:
        return _LEAK_SECONDS
    return None


def admin_error(raw: RawResponse, payload: Any) -> ProviderError | None:
    """Map an Admin API answer to an error (see the module table), or None for a success."""
    status = raw.status
    text = error_text(payload, status)
    if 200 <= status < 300:
        return None
    if status == 429:
        return RateLimited(text, status=status, retry_after=_retry_after(raw))
    if status in (401, 403):
        return CredentialRejected(text, status=status)
    if status == 402:
        return TargetNotFound(f"shop is frozen (unpaid): {text}", status=status)
    if status == 423:
        return TargetNotFound(f"shop is locked: {text}", status=status)
    if status == 404:
        return TargetNotFound(f"shop not found: {text}", status=status)
    if status in _BAD_INPUT_STATUSES:
        return BadInput(text, status=status)
    if 300 <= status < 400:
        return BadInput(
            "the Admin API redirected: address the shop by its myshopify.com name",
            status=status,
        )
    return ProviderUnavailable(text, status=status, retry_after=cooling_seconds(raw.headers))


# --------------------------------------------------------------------------- order parsing


def utm_params(landing_site: str | None) -> dict[str, str]:
    """The ``utm_*`` query parameters of a landing URL or path (first value wins). A landing
    site that is not a parseable URL yields none: it is shopper-supplied, not our contract."""
    if not landing_site:
        return {}
    try:
        query = urlsplit(landing_site).query
        pairs = parse_qsl(query, keep_blank_values=False)
    except ValueError:
        return {}
    params: dict[str, str] = {}
    for key, value in pairs:
        name = key.strip().lower()
        if name.startswith("utm_") and name not in params:
            params[name] = value
    return params


def _first(items: list[Any], where: str) -> dict[str, Any] | None:
    return expect_dict(items[0], f"{where}[0]") if items else None


def _shop_currency(obj: dict[str, Any], where: str) -> str | None:
    """``total_price_set.shop_money.currency_code``, for payloads without ``currency``."""
    money_set = opt_dict(obj, "total_price_set", where)
    if money_set is None:
        return None
    shop_money = opt_dict(money_set, "shop_money", f"{where}.total_price_set")
    if shop_money is None:
        return None
    return opt_str(shop_money, "currency_code", f"{where}.total_price_set.shop_money")


#: Keys that hold a shopper's personal data anywhere in an order (addresses, contact details,
#: the IP, the order-status link whose ``key`` opens the order page, checkout tokens).
PERSONAL_KEYS = frozenset(
    {
        "email", "contact_email", "phone", "billing_address", "shipping_address",
        "default_address", "addresses", "browser_ip", "client_details", "order_status_url",
        "token", "cart_token", "checkout_token", "note", "note_attributes", "destination",
        "first_name", "last_name", "address1", "address2", "zip", "latitude", "longitude",
    }
)  # fmt: skip


def scrub_personal_data(value: Any) -> Any:
    """``value`` without personal data: those keys dropped at any depth, and ``customer``
    reduced to its id (enough to count repeat buyers)."""
    if isinstance(value, list):
        return [scrub_personal_data(item) for item in value]
    if not isinstance(value, dict):
        return value
    clean: dict[str, Any] = {}
    for key, item in value.items():
        if key in PERSONAL_KEYS:
            continue
        if key == "customer":
            clean[key] = {"id": item.get("id")} if isinstance(item, dict) else None
            continue
        clean[key] = scrub_personal_data(item)
    return clean


def redact_orders_page(raw: RawResponse) -> RawResponse:
    """The page as it may be stored: its orders scrubbed of personal data. An answer that is
    not an orders page (an error) carries none and is kept as it is."""
    payload = try_json(raw)
    if not (200 <= raw.status < 300 and isinstance(payload, dict)):
        return raw
    if not isinstance(payload.get("orders"), list):
        return raw
    body = json.dumps(scrub_personal_data(payload), separators=(",", ":")).encode()
    return dataclasses.replace(raw, body=body)


def _refunded(obj: dict[str, Any], where: str) -> Decimal | None:
    """The sum of successful refund transactions (``refunds[].transactions[]``)."""
    refunds = opt_list(obj, "refunds", where)
    if not refunds:
        return None
    total = Decimal(0)
    for i, refund in enumerate(refunds):
        r_where = f"{where}.refunds[{i}]"
        for j, item in enumerate(opt_list(expect_dict(refund, r_where), "transactions", r_where)):
            t_where = f"{r_where}.transactions[{j}]"
            transaction = expect_dict(item, t_where)
            if transaction.get("kind") == "refund" and transaction.get("status") == "success":
                total += opt_money(transaction, "amount", t_where) or Decimal(0)
    return total


def order_from_json(order: Any, store: str, where: str = "order") -> ShopifyOrder:
    obj = expect_dict(order, where)
    fulfillment = _first(opt_list(obj, "fulfillments", where), f"{where}.fulfillments")
    line_items = opt_list(obj, "line_items", where)
    first_item = _first(line_items, f"{where}.line_items")
    landing_site = opt_str(obj, "landing_site", where)
    currency = opt_str(obj, "currency", where) or _shop_currency(obj, where)
    return ShopifyOrder(
        platform_order_id=req_id(obj, "id", where),
        store=store,
        name=opt_str(obj, "name", where),
        status=opt_str(fulfillment, "status", f"{where}.fulfillments[0]") if fulfillment else None,
        financial_status=opt_str(obj, "financial_status", where),
        landing_site=landing_site,
        store_name=opt_str(first_item, "vendor", f"{where}.line_items[0]") if first_item else None,
        utm_params=utm_params(landing_site),
        created_at=from_iso(obj.get("created_at"), f"{where}.created_at"),
        updated_at=from_iso(obj.get("updated_at"), f"{where}.updated_at"),
        total_price=opt_money(obj, "total_price", where),
        current_total_price=opt_money(obj, "current_total_price", where),
        total_refunded=_refunded(obj, where),
        currency=currency,
        line_item_count=len(line_items),
        order_data=scrub_personal_data(obj),
    )


# --------------------------------------------------------------------------- the provider


def _timestamp(value: datetime | str, name: str) -> str:
    """An ISO 8601 filter value; naive datetimes are taken as UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise BadInput(f"{name} must be an ISO 8601 timestamp") from None
    if not isinstance(value, datetime):
        raise BadInput(f"{name} must be a datetime or an ISO 8601 string")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds")


def _canonical(handle: str) -> str | None:
    try:
        return normalize_store(handle)
    except BadInput:
        return None


class ShopifyAdmin:
    """Orders through a store's Admin REST API with that store's access token."""

    name: ClassVar[str] = "shopify"
    supports: ClassVar[frozenset[str]] = frozenset({FETCH_ORDERS})
    needs_credential: ClassVar[bool] = True

    def __init__(self, version: str = API_VERSION, page_limit: int = PAGE_LIMIT) -> None:
        if not 1 <= page_limit <= PAGE_LIMIT:
            raise ValueError(f"page_limit must be within 1..{PAGE_LIMIT}")
        self.version = version
        self.page_limit = page_limit

    # -- requests (pure) ------------------------------------------------------------------------

    def _headers(self, store: str, credential: Credential) -> dict[str, str]:
        if credential.handle and _canonical(credential.handle) != store:
            # Never send one shop's token to another: the 401 would kill a good credential.
            raise TargetNotServed(
                f"credential {credential.id!r} belongs to another store", provider=self.name
            )
        headers = {str(k): str(v) for k, v in credential.secret.items()}
        if not any(k.lower() == ACCESS_TOKEN_HEADER.lower() for k in headers):
            raise CredentialRejected(
                f"shopify credential needs {ACCESS_TOKEN_HEADER!r}", provider=self.name
            )
        headers.setdefault("Accept", "application/json")
        return headers

    def _orders_url(self, store: str, base_url: str) -> str:
        return f"{store_base(base_url, store)}/admin/api/{self.version}/orders.json"

    def orders_request(
        self,
        store: str,
        credential: Credential,
        base_url: str,
        *,
        created_at_min: datetime | str | None = None,
        created_at_max: datetime | str | None = None,
        updated_at_min: datetime | str | None = None,
        limit: int | None = None,
    ) -> ProviderRequest:
        """The first page of the store's orders (every status), optionally by creation or
        update time; ``limit`` orders a page (default ``page_limit``)."""
        clean = normalize_store(store)
        params = {"status": "any", "limit": str(self._limit(limit))}
        filters = {
            "created_at_min": created_at_min,
            "created_at_max": created_at_max,
            "updated_at_min": updated_at_min,
        }
        for name, value in filters.items():
            if value is not None:
                params[name] = _timestamp(value, name)
        return ProviderRequest(
            method="GET",
            url=self._orders_url(clean, base_url),
            params=params,
            headers=self._headers(clean, credential),
        )

    def _limit(self, limit: int | None) -> int:
        if limit is None:
            return self.page_limit
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_LIMIT:
            raise BadInput(f"limit must be within 1..{PAGE_LIMIT}")
        return limit

    def next_orders_request(
        self,
        store: str,
        page_info: str,
        credential: Credential,
        base_url: str,
        limit: int | None = None,
    ) -> ProviderRequest:
        """A follow-up page: only ``page_info`` and ``limit`` (the cursor holds the filters)."""
        clean = normalize_store(store)
        if not isinstance(page_info, str) or not page_info.strip():
            raise BadInput("page_info must be a non-empty string")
        return ProviderRequest(
            method="GET",
            url=self._orders_url(clean, base_url),
            params={"page_info": page_info.strip(), "limit": str(self._limit(limit))},
            headers=self._headers(clean, credential),
        )

    # -- parser (pure) --------------------------------------------------------------------------

    def parse_orders(self, raw: RawResponse, store: str) -> OrdersPage:
        return guard(self.name, raw, lambda: self._parse_orders(raw, store))

    def _parse_orders(self, raw: RawResponse, store: str) -> OrdersPage:
        err = admin_error(raw, try_json(raw))
        if err is not None:
            raise err
        if is_html(raw):
            raise MalformedResponse("HTML where the Admin API sends JSON")
        payload = expect_dict(load_json(raw), "body")
        orders = tuple(
            order_from_json(order, store, f"orders[{i}]")
            for i, order in enumerate(req_list(payload, "orders", "body"))
        )
        return OrdersPage(orders, next_page_info(raw.header("link")), call_limit(raw))

    def __repr__(self) -> str:
        return f"ShopifyAdmin(version={self.version!r})"
