"""Emulated Shopify: the Admin REST API (orders) and a store's public ``/products.json``.

Routes (base URLs ``{url}/shopify`` and ``{url}/shopify-storefront``):

* ``GET /shopify/{store}/admin/api/{version}/orders.json`` with ``X-Shopify-Access-Token``:
  ``status``, ``limit`` (1..250, default 50), ``created_at_min`` / ``created_at_max``; cursor
  paging through the ``Link`` header (``page_info``; a follow-up may carry only ``limit``,
  ``page_info`` and ``fields``), ``X-Shopify-Shop-Api-Call-Limit`` on every answer.
* ``GET /shopify-storefront/{store}/products.json?limit=&page=``: no credential, ``limit``
  clamped to 250 (default 30), 400 once ``page * limit`` passes 25000.

Stores are made up from their name (SHA-256 seeded, so every process agrees): order and product
counts, vendor, currency, time zone. Some names are special:

=================  ==========================================================================
store              behaviour
=================  ==========================================================================
``missing-*``      no such shop (and ~1 name in 10, see ``store_facts``): 404 everywhere
``not-shopify``    products.json answers 200 with a WordPress HTML page; Admin API 404
``no-catalog``     products.json disabled: 404 HTML theme page
``coming-soon``    password protected: products.json redirects (302) to ``/password``
``frozen-shop``    402 ``Unavailable Shop`` everywhere (unpaid bill)
``locked-shop``    423 ``Locked`` everywhere
``mega-mart``      26000 products: past the 25000 cap of ``/products.json``
=================  ==========================================================================

Credentials: two valid Admin tokens, each bound to ONE store (``TOKEN_STORES``; a token used
on another store gets Shopify's 401), and one expired token (401 too: Shopify does not say
"expired"). Per-token quota: Shopify's REST bucket holds 40 requests and leaks 2 a second; the
gate counts fixed windows, so ``Quota(40, 20 s)`` keeps both the burst (40) and the long-run
rate (2/s). ``Quota(2, 1 s)`` would keep the rate but refuse the bursts Shopify allows. The
storefront is anonymous: one shared quota of 120 requests a minute.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from aiohttp import web

from sandbox.gate import STATE_KEY, Gate, ProviderStyle, gate, respond
from sandbox.state import Quota, QuotaView, SandboxState

__all__ = [
    "ADMIN",
    "ADMIN_QUOTA",
    "ANONYMOUS",
    "BIG_CATALOG",
    "CATALOG_CAP",
    "EXPIRED_TOKEN",
    "FROZEN",
    "LOCKED",
    "NOT_SHOPIFY",
    "NO_CATALOG",
    "PASSWORD_STORE",
    "STOREFRONT",
    "STOREFRONT_QUOTA",
    "TOKEN_STORES",
    "StoreFacts",
    "order_at",
    "order_id",
    "product_at",
    "register",
    "store_facts",
    "store_orders",
]

ADMIN = "shopify"
STOREFRONT = "shopify-storefront"
JSON = "application/json"
HTML = "text/html"

TOKEN_STORES: dict[str, str] = {
    "shpat_sandbox_maple_goods_0001": "maple-goods",
    "shpat_sandbox_north_outfitters_0002": "north-outfitters",
}
EXPIRED_TOKEN = "shpat_sandbox_expired_0003"
ANONYMOUS = "anonymous"
ADMIN_QUOTA = Quota(limit=40, window_seconds=20.0)
STOREFRONT_QUOTA = Quota(limit=120, window_seconds=60.0)

NOT_SHOPIFY = "not-shopify"
NO_CATALOG = "no-catalog"
PASSWORD_STORE = "coming-soon"
FROZEN = "frozen-shop"
LOCKED = "locked-shop"
BIG_CATALOG = "mega-mart"
BIG_CATALOG_SIZE = 26000
CATALOG_CAP = 25000

ADMIN_PAGE_DEFAULT = 50
STOREFRONT_PAGE_DEFAULT = 30
MAX_LIMIT = 250

_SPECIAL = {
    NOT_SHOPIFY: "not_shopify",
    NO_CATALOG: "no_catalog",
    PASSWORD_STORE: "password",
    FROZEN: "frozen",
    LOCKED: "locked",
    BIG_CATALOG: "big",
}
_STORE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_VERSION = re.compile(r"^20\d\d-(01|04|07|10)$|^unstable$")
_PAGING_PARAMS = frozenset({"limit", "page_info", "fields"})
_STATUSES = frozenset({"any", "open", "cancelled"})

_INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
_THROTTLED = (
    "Exceeded 2 calls per second for api client. Reduce request rates to resume "
    "uninterrupted service."
)


# ------------------------------------------------------------------------------ store facts


@dataclass(frozen=True)
class StoreFacts:
    name: str
    seed: int
    kind: str  # "ok" or one of _SPECIAL's values
    vendor: str
    currency: str
    utc_offset_hours: int
    order_count: int
    product_count: int
    #: Seconds between two consecutive orders (newest first, one every ~spacing).
    spacing: int


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(f"beat-sandbox-shopify:{text}".encode()).digest()[:8])


def _store_name(raw: str) -> str | None:
    name = raw.strip().lower().removesuffix(".myshopify.com")
    return name if _STORE.match(name) else None


def store_facts(store: str) -> StoreFacts | None:
    """What the sandbox knows about ``store`` (a shop name, optionally ``.myshopify.com``), or
    None when no such shop exists: ``missing-*`` names, and one ordinary name in ten."""
    name = _store_name(store)
    if name is None or name.startswith("missing"):
        return None
    seed = _seed(name)
    bound = name in TOKEN_STORES.values()
    if seed % 10 == 0 and name not in _SPECIAL and not bound:
        return None
    words = [w for w in name.split("-") if w] or [name]
    return StoreFacts(
        name=name,
        seed=seed,
        kind=_SPECIAL.get(name, "ok"),
        vendor=" ".join(w.capitalize() for w in words) + (" Co." if seed % 3 == 0 else ""),
        currency=("USD", "USD", "CAD", "GBP", "EUR")[seed % 5],
        utc_offset_hours=(-8, -5, -4, 0, 1, 2)[seed % 6],
        order_count=(seed >> 8) % 700 + (300 if bound else 0),
        product_count=BIG_CATALOG_SIZE if name == BIG_CATALOG else (seed >> 20) % 400,
        spacing=1800 + (seed >> 30) % 7200,
    )


def _zone(facts: StoreFacts) -> timezone:
    return timezone(timedelta(hours=facts.utc_offset_hours))


def _when(facts: StoreFacts, epoch: float) -> str:
    return datetime.fromtimestamp(epoch, _zone(facts)).isoformat(timespec="seconds")


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


# ------------------------------------------------------------------------------ products

_ADJECTIVES = ("Linen", "Wool", "Cedar", "Copper", "Organic", "Field", "Harbor", "Stoneware")
_NOUNS = ("Apron", "Throw", "Mug", "Candle", "Tote", "Journal", "Scarf", "Planter", "Soap")
_TYPES = ("Home", "Kitchen", "Apparel", "Accessories", "Bath", "Stationery")
_COLORS = ("Sage", "Charcoal", "Oat", "Rust", "Ink")
_TAGS = ("new", "bestseller", "gift", "sale", "eco", "limited")


def _product_rng(facts: StoreFacts, index: int) -> random.Random:
    return random.Random(f"{facts.name}:product:{index}")


def _product_id(facts: StoreFacts, index: int) -> int:
    return 8_000_000_000_000 + (facts.seed % 100_000) * 100_000 + index


def product_at(facts: StoreFacts, index: int, reference: int) -> dict[str, Any]:
    """Product ``index`` (0-based) of the store's catalog, as ``/products.json`` shows it."""
    rng = _product_rng(facts, index)
    lean = facts.kind == "big"  # 26000 products: keep each small
    pid = _product_id(facts, index)
    title = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
    created = reference - 86400 * (30 + rng.randrange(700))
    updated = created + rng.randrange(86400 * 20)
    stamp = {"created_at": _when(facts, created), "updated_at": _when(facts, updated)}
    colors = rng.sample(_COLORS, 1 if lean else rng.randint(1, 3))
    base_price = Decimal(rng.randrange(800, 12000)) / 100
    variants = []
    for position, color in enumerate(colors, start=1):
        price = base_price + Decimal(position - 1) * 2
        on_sale = rng.random() < 0.2
        variants.append(
            {
                "id": 45_000_000_000_000 + pid % 10**9 * 10 + position,
                "title": color,
                "option1": color,
                "option2": None,
                "option3": None,
                "sku": f"{title[:3].upper()}-{index:05d}-{position}",
                "requires_shipping": True,
                "taxable": True,
                "featured_image": None,
                "available": rng.random() < 0.85,
                "price": _money(price),
                "grams": rng.randrange(50, 2000),
                "compare_at_price": _money(price * Decimal("1.25")) if on_sale else None,
                "position": position,
                "product_id": pid,
                **stamp,
            }
        )
    images = [
        {
            "id": 36_000_000_000_000 + pid % 10**9 * 10 + position,
            "position": position,
            "product_id": pid,
            "variant_ids": [],
            "src": f"https://cdn.shopify.com/s/files/1/{facts.seed % 9000 + 1000:04d}/files/"
            f"p{index}-{position}.jpg?v={created}",
            "width": 1600,
            "height": 2000,
            **stamp,
        }
        for position in range(1, (1 if lean else rng.randint(0, 2)) + 1)
    ]
    return {
        "id": pid,
        "title": title,
        "handle": f"{title.lower().replace(' ', '-')}-{index}",
        "body_html": "" if lean else f"<p>{title}, made for {facts.vendor}.</p>",
        "published_at": _when(facts, created + 3600),
        **stamp,
        "vendor": facts.vendor,
        "product_type": rng.choice(_TYPES),
        "tags": sorted(rng.sample(_TAGS, rng.randint(0, 3))),
        "variants": variants,
        "images": images,
        "options": [{"name": "Color", "position": 1, "values": colors}],
    }


# ------------------------------------------------------------------------------ orders

_FINANCIAL = ("paid",) * 6 + ("pending", "refunded", "partially_refunded", "authorized")
_UTM = (
    ("instagram", "social", "spring_drop"),
    ("tiktok", "social", "creator_collab"),
    ("newsletter", "email", "weekly"),
    ("google", "cpc", "brand"),
)


def order_id(facts: StoreFacts, index: int) -> int:
    """Newer orders have larger ids (index 0 is the newest)."""
    return 5_000_000_000_000 + (facts.seed % 100_000) * 10_000 + (facts.order_count - index)


def _created(facts: StoreFacts, index: int, reference: int) -> int:
    jitter = random.Random(f"{facts.name}:when:{index}").randrange(facts.spacing // 2)
    return reference - 3600 - index * facts.spacing - jitter


def _landing_site(rng: random.Random, handle: str) -> str | None:
    roll = rng.random()
    if roll < 0.3:
        return None
    if roll < 0.5:
        return "/"
    source, medium, campaign = rng.choice(_UTM)
    return f"/products/{handle}?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}"


def _line_items(facts: StoreFacts, rng: random.Random, reference: int) -> list[dict[str, Any]]:
    items = []
    for n in range(rng.randint(1, 3)):
        if facts.product_count:
            product = product_at(facts, rng.randrange(facts.product_count), reference)
            variant = product["variants"][0]
            title, price, vendor = product["title"], variant["price"], product["vendor"]
            product_id, variant_id, sku = product["id"], variant["id"], variant["sku"]
        else:
            title, price, vendor = "Custom Order", "20.00", facts.vendor
            product_id, variant_id, sku = None, None, ""
        items.append(
            {
                "id": 14_000_000_000_000 + rng.randrange(10**9) * 10 + n,
                "name": title,
                "title": title,
                "price": price,
                "quantity": rng.randint(1, 3),
                "product_id": product_id,
                "variant_id": variant_id,
                "sku": sku,
                "vendor": vendor,
                "requires_shipping": True,
                "fulfillment_service": "manual",
            }
        )
    return items


def _fulfillments(oid: int, name: str, rng: random.Random, created: str) -> list[Any]:
    roll = rng.random()
    if roll < 0.35:
        return []
    status = "success" if roll < 0.85 else rng.choice(("open", "cancelled"))
    return [
        {
            "id": 4_900_000_000_000 + oid % 10**9,
            "order_id": oid,
            "name": f"{name}.1",
            "status": status,
            "service": "manual",
            "tracking_company": rng.choice(("UPS", "USPS", "Canada Post", "Royal Mail")),
            "created_at": created,
        }
    ]


def _refunds(oid: int, financial: str, total: Decimal, created: str) -> list[dict[str, Any]]:
    """Refunds as the Admin API nests them: the amounts are in the refund transactions."""
    if financial not in ("refunded", "partially_refunded"):
        return []
    amount = (
        total if financial == "refunded" else (total * Decimal("0.3")).quantize(Decimal("0.01"))
    )
    refund_id = 8_800_000_000_000 + oid % 10**9
    transaction = {
        "id": refund_id + 1,
        "order_id": oid,
        "kind": "refund",
        "status": "success",
        "amount": _money(amount),
        "gateway": "shopify_payments",
        "created_at": created,
    }
    return [
        {"id": refund_id, "order_id": oid, "created_at": created, "transactions": [transaction]}
    ]


def _customer_data(oid: int, facts: StoreFacts, rng: random.Random) -> dict[str, Any]:
    """The shopper's personal data a real order carries: beat must not keep any of it."""
    first, last = rng.choice(("Ana", "Ben", "Chloe", "Dev")), rng.choice(("Silva", "Okafor", "Lee"))
    email = f"{first.lower()}.{last.lower()}{oid % 997}@example.com"
    phone = f"+1555{oid % 10**7:07d}"
    address = {
        "first_name": first,
        "last_name": last,
        "address1": f"{oid % 900 + 100} Main St",
        "city": "Springfield",
        "zip": f"{oid % 90000 + 10000}",
        "country_code": "US",
        "phone": phone,
        "name": f"{first} {last}",
    }
    return {
        "email": email,
        "contact_email": email,
        "phone": phone,
        "browser_ip": f"203.0.113.{oid % 250}",
        "client_details": {"browser_ip": f"203.0.113.{oid % 250}", "user_agent": "Mozilla/5.0"},
        "order_status_url": f"https://{facts.name}.myshopify.com/{oid}/orders/"
        f"{oid:x}/authenticate?key={oid * 7919:x}",
        "billing_address": address,
        "shipping_address": address,
        "customer": {
            "id": 6_000_000_000_000 + oid % 10**6,
            "email": email,
            "first_name": first,
            "last_name": last,
            "phone": phone,
            "default_address": address,
        },
    }


def _order_status(facts: StoreFacts, index: int) -> tuple[str, bool]:
    """(financial status, cancelled?): its own seed, so filtering needs no full order."""
    rng = random.Random(f"{facts.name}:status:{index}")
    financial = rng.choice(_FINANCIAL)
    return financial, financial == "refunded" and rng.random() < 0.5


def order_at(facts: StoreFacts, index: int, reference: int) -> dict[str, Any]:
    """Order ``index`` (0 = newest) of the store, as the Admin API shows it."""
    rng = random.Random(f"{facts.name}:order:{index}")
    oid = order_id(facts, index)
    number = facts.order_count - index
    name = f"#{1000 + number}"
    created = _when(facts, _created(facts, index, reference))
    items = _line_items(facts, rng, reference)
    subtotal = sum((Decimal(i["price"]) * i["quantity"] for i in items), Decimal(0))
    shipping = Decimal(rng.choice((0, 500, 850))) / 100
    tax = (subtotal * Decimal("0.07")).quantize(Decimal("0.01"))
    total = subtotal + shipping + tax
    financial, cancelled = _order_status(facts, index)
    money = {"amount": _money(total), "currency_code": facts.currency}
    handle = items[0]["title"].lower().replace(" ", "-")
    refunds = _refunds(oid, financial, total, created)
    refunded = sum((Decimal(t["amount"]) for r in refunds for t in r["transactions"]), Decimal(0))
    current = total - refunded
    current_money = {"amount": _money(current), "currency_code": facts.currency}
    return {
        "id": oid,
        "admin_graphql_api_id": f"gid://shopify/Order/{oid}",
        "name": name,
        "number": number,
        "order_number": 1000 + number,
        "confirmed": True,
        "created_at": created,
        "updated_at": created,
        "processed_at": created,
        "cancelled_at": created if cancelled else None,
        "cancel_reason": "customer" if cancelled else None,
        "currency": facts.currency,
        "presentment_currency": facts.currency,
        "financial_status": financial,
        "fulfillment_status": None,
        "landing_site": _landing_site(rng, handle),
        "referring_site": rng.choice((None, "https://l.instagram.com/", "https://www.google.com/")),
        "source_name": rng.choice(("web", "web", "pos", "shopify_draft_order")),
        "subtotal_price": _money(subtotal),
        "total_tax": _money(tax),
        "total_discounts": "0.00",
        "total_price": _money(total),
        "total_price_set": {"shop_money": money, "presentment_money": money},
        # What the merchant is owed now: Shopify keeps it current through refunds and edits.
        "current_total_price": _money(current),
        "current_total_price_set": {
            "shop_money": current_money,
            "presentment_money": current_money,
        },
        "refunds": refunds,
        **_customer_data(oid, facts, rng),
        "tags": "",
        "test": False,
        "line_items": items,
        "fulfillments": _fulfillments(oid, name, rng, created),
    }


def _timestamp(value: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def store_orders(
    facts: StoreFacts,
    reference: int,
    *,
    status: str = "any",
    created_at_min: float | None = None,
    created_at_max: float | None = None,
) -> list[int]:
    """Indices (newest first) of the orders matching the filters."""
    chosen = []
    for index in range(facts.order_count):
        created = _created(facts, index, reference)
        if created_at_min is not None and created < created_at_min:
            break  # older from here on
        if created_at_max is not None and created > created_at_max:
            continue
        if status != "any" and (status == "cancelled") != _order_status(facts, index)[1]:
            continue
        chosen.append(index)
    return chosen


# ------------------------------------------------------------------------------ page_info


def _encode(cursor: dict[str, Any]) -> str:
    raw = json.dumps(cursor, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        cursor = json.loads(raw)
    except (ValueError, binascii.Error):
        return None
    return cursor if isinstance(cursor, dict) else None


# ------------------------------------------------------------------------------ answers


def _json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


@dataclass(frozen=True)
class _Answer:
    """A target-level answer (sent through ``respond``, so stats and faults apply)."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: dict[str, str] | None = None

    def send(self, request: web.Request, g: Gate) -> web.Response:
        return respond(
            request,
            g,
            self.body,
            status=self.status,
            content_type=self.content_type,
            headers=self.headers,
        )


def _error_answer(status: int, message: Any) -> _Answer:
    return _Answer(status, _json({"errors": message}))


def _errors(status: int, message: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=_json({"errors": message}), status=status, content_type=JSON, headers=headers
    )


def _call_limit(view: QuotaView | None) -> dict[str, str]:
    if view is None:
        return {}
    return {"X-Shopify-Shop-Api-Call-Limit": f"{min(view.used, view.limit)}/{view.limit}"}


def _throttled_headers(retry: float, view: QuotaView | None) -> dict[str, str]:
    size = view.limit if view is not None else ADMIN_QUOTA.limit
    return {
        # Rounded up: a client waiting exactly this long lands in the next window.
        "Retry-After": f"{max(0.5, math.ceil(retry * 10) / 10):.1f}",
        "X-Shopify-Shop-Api-Call-Limit": f"{size}/{size}",
    }


def _admin_server_error(rng: random.Random) -> web.Response:
    if rng.random() < 0.5:
        return _errors(500, "Internal Server Error")
    page = b"<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>"
    return web.Response(status=503, body=page, content_type=HTML, headers={"Retry-After": "5"})


ADMIN_STYLE = ProviderStyle(
    name=ADMIN,
    unauthorized=lambda: _errors(401, _INVALID_TOKEN),
    expired=lambda: _errors(401, _INVALID_TOKEN),
    rate_limited=lambda retry, view: _errors(429, _THROTTLED, _throttled_headers(retry, view)),
    server_error=_admin_server_error,
    ok_headers=lambda view: {"X-Shopify-API-Version": "2024-10", **_call_limit(view)},
)


def _page(title: str, content: str = "") -> bytes:
    html = f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{content}</body></html>"
    return html.encode()


def _html(
    status: int, title: str, content: str = "", headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=_page(title, content), status=status, content_type=HTML, headers=headers
    )


STOREFRONT_STYLE = ProviderStyle(
    name=STOREFRONT,
    unauthorized=lambda: _html(401, "Unauthorized"),
    # The anonymous client has no token to expire; the closest real answer is being flagged
    # as a bot (430), which clients treat as a rate limit.
    expired=lambda: _html(430, "Shopify Security Rejection", headers={"Retry-After": "60"}),
    rate_limited=lambda retry, view: _html(
        429, "Too Many Requests", headers={"Retry-After": str(max(1, math.ceil(retry)))}
    ),
    server_error=lambda rng: _html(
        rng.choice((500, 502, 503)), "There was a problem loading this website"
    ),
)

_WORDPRESS_PAGE = (
    '<p class="site-title">Riverside Ceramics</p><h1>Oops! That page can&rsquo;t be found.</h1>'
    '<meta name="generator" content="WordPress 6.5.3">'
)


# ------------------------------------------------------------------------------ Admin API


def _reference(request: web.Request) -> int:
    state: SandboxState = request.app[STATE_KEY]
    return state.reference()


def _cached(request: web.Request, key: tuple[Any, ...], build: Callable[[], bytes]) -> bytes:
    state: SandboxState = request.app[STATE_KEY]
    body = state.payloads.get(key)
    if body is None:
        body = build()
        state.payloads.put(key, body)
    return body


def _shop_refusal(facts: StoreFacts | None) -> tuple[int, str] | None:
    """Shop-level answers, given before the token is looked at."""
    if facts is None or facts.kind == "not_shopify":
        return 404, "Not Found"
    if facts.kind == "frozen":
        return 402, "Unavailable Shop"
    if facts.kind == "locked":
        return 423, "Locked"
    return None


def _limit(value: str | None, default: int) -> int | None:
    if value is None:
        return default
    if not value.strip().isdigit():
        return None
    number = int(value)
    return number if 1 <= number <= MAX_LIMIT else None


@dataclass(frozen=True)
class _OrdersQuery:
    status: str
    created_at_min: float | None
    created_at_max: float | None
    limit: int
    #: Position to start from in the filtered list, and the direction it came from.
    anchor: int | None
    direction: str


def _is_bound(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _from_cursor(token: str, store: str, limit: int) -> _OrdersQuery | None:
    cursor = _decode(token)
    if cursor is None or cursor.get("store") != store:
        return None
    anchor, direction, status = cursor.get("id"), cursor.get("direction"), cursor.get("status")
    low, high = cursor.get("min"), cursor.get("max")
    if not isinstance(anchor, int) or direction not in ("next", "prev"):
        return None
    if status not in _STATUSES or not (_is_bound(low) and _is_bound(high)):
        return None
    return _OrdersQuery(status, low, high, limit, anchor, direction)


def _orders_query(request: web.Request, store: str) -> _OrdersQuery | _Answer:
    query = request.query
    limit = _limit(query.get("limit"), ADMIN_PAGE_DEFAULT)
    if limit is None:
        return _error_answer(400, {"limit": [f"must be between 1 and {MAX_LIMIT}"]})
    token = query.get("page_info")
    if token is not None:
        extra = sorted(set(query) - _PAGING_PARAMS)
        if extra:
            message = f"cannot be combined with {', '.join(extra)}"
            return _error_answer(400, {"page_info": [message]})
        from_cursor = _from_cursor(token, store, limit)
        return from_cursor or _error_answer(400, {"page_info": "Invalid value."})
    status = query.get("status", "open")
    if status not in _STATUSES:
        return _error_answer(400, {"status": ["is not included in the list"]})
    bounds = []
    for name in ("created_at_min", "created_at_max", "updated_at_min"):
        value = query.get(name)
        seconds = _timestamp(value) if value is not None else None
        if value is not None and seconds is None:
            return _error_answer(400, {name: ["must be a valid ISO 8601 date"]})
        bounds.append(seconds)
    # Emulated orders are never edited (updated_at == created_at), so updated_at_min is one
    # more lower bound on the creation time.
    lows = [b for b in (bounds[0], bounds[2]) if b is not None]
    return _OrdersQuery(status, max(lows) if lows else None, bounds[1], limit, None, "next")


def _page_window(q: _OrdersQuery, ids: list[int]) -> tuple[int, int]:
    """[start, end) of the page in the filtered list (keyset paging on the order id)."""
    if q.anchor is None:
        return 0, min(len(ids), q.limit)
    # ids are descending: the anchor's position is found by bisection-free scan (<= 1000).
    position = next((i for i, oid in enumerate(ids) if oid <= q.anchor), len(ids))
    if q.direction == "prev":
        start = max(0, position - q.limit)
        return start, position
    if position < len(ids) and ids[position] == q.anchor:
        position += 1
    return position, min(len(ids), position + q.limit)


def _link(request: web.Request, store: str, q: _OrdersQuery, cursor: dict[str, Any]) -> str:
    version = request.match_info["version"]
    url = f"{request.scheme}://{request.host}/{ADMIN}/{store}/admin/api/{version}/orders.json"
    return f"<{url}?limit={q.limit}&page_info={_encode(cursor)}>"


def _link_header(
    request: web.Request, store: str, q: _OrdersQuery, ids: list[int], start: int, end: int
) -> str | None:
    base = {"store": store, "status": q.status, "min": q.created_at_min, "max": q.created_at_max}
    parts = []
    if start > 0 and end > start:
        prev = {**base, "direction": "prev", "id": ids[start]}
        parts.append(f'{_link(request, store, q, prev)}; rel="previous"')
    if end < len(ids) and end > start:
        nxt = {**base, "direction": "next", "id": ids[end - 1]}
        parts.append(f'{_link(request, store, q, nxt)}; rel="next"')
    return ", ".join(parts) or None


async def orders_handler(request: web.Request) -> web.StreamResponse:
    token = request.headers.get("X-Shopify-Access-Token")
    g = await gate(request, ADMIN_STYLE, credential=token, kind="orders_page")
    if g.response is not None:
        return g.response
    raw_store = request.match_info["store"]
    facts = store_facts(raw_store)
    refusal = _shop_refusal(facts)
    if not _VERSION.match(request.match_info["version"]):
        refusal = (404, "Not Found")
    if refusal is not None or facts is None:
        return _error_answer(*(refusal or (404, "Not Found"))).send(request, g)
    if token is None or TOKEN_STORES.get(token) != facts.name:
        # Shopify knows tokens per shop: another shop's token is simply not valid here.
        return _error_answer(401, _INVALID_TOKEN).send(request, g)
    q = _orders_query(request, facts.name)
    if isinstance(q, _Answer):
        return q.send(request, g)
    reference = _reference(request)
    indices = store_orders(
        facts,
        reference,
        status=q.status,
        created_at_min=q.created_at_min,
        created_at_max=q.created_at_max,
    )
    ids = [order_id(facts, i) for i in indices]
    start, end = _page_window(q, ids)
    chosen = indices[start:end]
    key = ("shopify-orders", facts.name, reference, tuple(chosen))
    body = _cached(
        request,
        key,
        lambda: _json({"orders": [order_at(facts, i, reference) for i in chosen]}),
    )
    link = _link_header(request, facts.name, q, ids, start, end)
    return respond(request, g, body, headers={"Link": link} if link else None)


# ------------------------------------------------------------------------------ storefront


def _html_answer(
    status: int, title: str, content: str = "", headers: dict[str, str] | None = None
) -> _Answer:
    return _Answer(status, _page(title, content), HTML, headers)


def _storefront_refusal(request: web.Request, facts: StoreFacts | None) -> _Answer | None:
    if facts is None:
        return _html_answer(404, "Store unavailable", "Sorry, this shop is currently unavailable.")
    if facts.kind == "not_shopify":
        return _html_answer(200, "Page not found &#8211; Riverside Ceramics", _WORDPRESS_PAGE)
    if facts.kind == "no_catalog":
        return _html_answer(404, "404 Not Found", "<h1>404 Page Not Found</h1>")
    if facts.kind == "password":
        location = f"{request.scheme}://{request.host}/{STOREFRONT}/{facts.name}/password"
        return _html_answer(302, "Redirecting", "You are being redirected.", {"Location": location})
    if facts.kind == "frozen":
        return _html_answer(402, "This store is unavailable", "<h1>This store is unavailable</h1>")
    if facts.kind == "locked":
        return _html_answer(423, "Locked", "<h1>This store is unavailable</h1>")
    return None


def _storefront_page(request: web.Request) -> tuple[int, int] | _Answer:
    limit_text = request.query.get("limit")
    limit = STOREFRONT_PAGE_DEFAULT
    if limit_text is not None and limit_text.strip().isdigit():
        limit = max(1, min(MAX_LIMIT, int(limit_text)))  # Shopify clamps rather than refuses
    page_text = request.query.get("page", "1")
    page = max(1, int(page_text)) if page_text.strip().isdigit() else 1
    if page * limit > CATALOG_CAP:
        return _error_answer(400, f"Page * Limit exceeds the {CATALOG_CAP} limit.")
    return page, limit


async def products_handler(request: web.Request) -> web.StreamResponse:
    g = await gate(request, STOREFRONT_STYLE, credential=ANONYMOUS, kind="products_page")
    if g.response is not None:
        return g.response
    facts = store_facts(request.match_info["store"])
    refusal = _storefront_refusal(request, facts)
    if refusal is not None or facts is None:
        return (refusal or _html_answer(404, "Not Found")).send(request, g)
    paged = _storefront_page(request)
    if isinstance(paged, _Answer):
        return paged.send(request, g)
    page, limit = paged
    reference = _reference(request)
    first = (page - 1) * limit
    indices = range(first, min(facts.product_count, first + limit))
    key = ("shopify-products", facts.name, reference, page, limit)
    body = _cached(
        request,
        key,
        lambda: _json({"products": [product_at(facts, i, reference) for i in indices]}),
    )
    return respond(request, g, body)


# ------------------------------------------------------------------------------ wiring


def register(app: web.Application, state: SandboxState) -> None:
    """Add both Shopify providers (credentials, quotas) to ``state`` and their routes to
    ``app``."""
    state.add_provider(
        ADMIN,
        keys=TOKEN_STORES,
        expired_keys=[EXPIRED_TOKEN],
        quota=ADMIN_QUOTA,
        secret=lambda token: {"X-Shopify-Access-Token": token},
        handle=lambda token: TOKEN_STORES.get(token),
    )
    state.add_provider(
        STOREFRONT,
        keys=[ANONYMOUS],
        quota=STOREFRONT_QUOTA,
        secret=lambda _key: {},
    )
    app.router.add_get(f"/{ADMIN}/{{store}}/admin/api/{{version}}/orders.json", orders_handler)
    app.router.add_get(f"/{STOREFRONT}/{{store}}/products.json", products_handler)
