"""A CDN emulator: signed, expiring media URLs serving deterministic images and videos.

Routes (all under the sandbox's own base URL):

* ``GET /cdn/{kind}/{id}.{ext}?oe=<hex expiry epoch>&sig=<hmac>[&size=N]``: ``ext`` is jpg,
  png, webp or mp4. The body is generated from ``(kind, id, ext, size)`` alone, with valid
  magic numbers (a real baseline JPEG, PNG and lossless WebP, an ISO-BMFF ``ftyp``+``mdat``
  for mp4), padded to a size that is stable per file. Other query parameters are signed too
  but do not change the bytes, so two URLs can serve identical content. A bad or missing
  signature answers 403 ``URL signature mismatch``; a passed ``oe`` answers 403
  ``URL signature expired`` (what Instagram's CDN says).
* ``GET /cdn/redirect?to=<url>[&status=302]``: one redirect to any URL (tests).
* ``GET /cdn/chain/{n}?to=<url>``: ``n`` redirects through the sandbox, then to ``to``.
* ``GET /cdn/html/{name}``: an HTML login page served as ``image/jpeg`` with status 200.
* ``GET /cdn/status/{code}``: that status with a short text body.

The provider payloads name media at ``https://cdn.sandbox.example/{profile|media}/...``; with
rewriting on (``start_sandbox(cdn=True)``), ``rewrite`` turns each such URL into a signed URL
of this CDN on the sandbox's own base URL, so a demo can download them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aiohttp import web

__all__ = [
    "CDN_KEY",
    "DEFAULT_CDN_SECRET",
    "CdnConfig",
    "add_routes",
    "media_body",
    "rewrite_body",
]

DEFAULT_CDN_SECRET = b"beat-sandbox-cdn-secret"
CANONICAL_HOST = "https://cdn.sandbox.example"
EXPIRED_BODY = b"URL signature expired"
MISMATCH_BODY = b"URL signature mismatch"
MAX_SIZE = 256 * 1024 * 1024
STREAM_ABOVE = 1024 * 1024
_CHUNK = 64 * 1024
_FILE = re.compile(r"^([A-Za-z0-9_-]{1,128})\.(jpg|png|webp|mp4)$")
_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_CANONICAL = re.compile(
    rb"https://cdn\.sandbox\.example/(profile|media)/([A-Za-z0-9_-]{1,128}\.(?:jpg|png|webp|mp4))"
)
_CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "mp4": "video/mp4",
}
_HTML_AS_IMAGE = (
    b'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Instagram</title>'
    b'</head><body><div id="react-root"><p>Please wait...</p><form action="/accounts/login/">'
    b'<input name="username"><input name="password" type="password"></form></div>'
    b"</body></html>"
)


def _day_floor(now: float) -> int:
    return int(now // 86400 * 86400)


@dataclass
class CdnConfig:
    """The CDN's secret, its public base URL (set once the server is bound), whether provider
    payloads are rewritten to point at it, and request counters."""

    secret: bytes = DEFAULT_CDN_SECRET
    base_url: str | None = None
    rewrite_urls: bool = False
    ttl_days: int = 3
    #: Share of rewritten URLs that are already expired (chosen per file, deterministically).
    expired_share: float = 0.0
    #: Largest body a rewritten URL asks for (None: each file's plausible size); the demo caps
    #: it so a few thousand pictures and videos stay a few dozen MB on disk.
    size_cap: int | None = None
    #: Requests by outcome: served, expired, bad_signature, redirect, html, status, not_found.
    answers: Counter[str] = field(default_factory=Counter)

    # -- signing --------------------------------------------------------------------------------

    def signature(self, path: str, params: dict[str, str]) -> str:
        canonical = urlencode(sorted((k, v) for k, v in params.items() if k != "sig"))
        message = f"{path}?{canonical}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:32]

    def url_for(
        self,
        kind: str,
        file: str,
        *,
        expires: int | None = None,
        size: int | None = None,
        extra: dict[str, str] | None = None,
        base_url: str | None = None,
    ) -> str:
        """A signed URL of ``/cdn/{kind}/{file}``; ``expires`` (epoch seconds) defaults to a
        few days ahead (stable within a UTC day)."""
        base = base_url or self.base_url
        if base is None:
            raise RuntimeError("the CDN has no base URL yet (is the sandbox started?)")
        if expires is None:
            expires = self.fresh_expiry()
        path = f"/cdn/{kind}/{file}"
        params = {"oe": format(expires, "x"), **(extra or {})}
        stem, _, ext = file.rpartition(".")
        if size is None and self.size_cap is not None and ext in ("jpg", "png", "webp", "mp4"):
            size = min(default_size(kind, stem, ext), self.size_cap)
        if size is not None:
            params["size"] = str(size)
        params["sig"] = self.signature(path, params)
        return f"{base.rstrip('/')}{path}?{urlencode(params)}"

    def fresh_expiry(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        return _day_floor(now) + (1 + self.ttl_days) * 86400

    def _expired_by_design(self, file: str) -> bool:
        if self.expired_share <= 0:
            return False
        draw = int.from_bytes(hashlib.sha256(b"expired:" + file.encode()).digest()[:8], "big")
        return draw / 2**64 < self.expired_share

    # -- rewriting ------------------------------------------------------------------------------

    def rewrite(self, body: bytes, now: float | None = None) -> bytes:
        """Replace every canonical media URL in a payload by a signed URL of this CDN."""
        if not self.rewrite_urls or self.base_url is None or b"cdn.sandbox.example" not in body:
            return body
        fresh = self.fresh_expiry(now)
        stale = _day_floor(time.time() if now is None else now) - 86400

        def signed(match: re.Match[bytes]) -> bytes:
            kind, file = match.group(1).decode(), match.group(2).decode()
            expires = stale if self._expired_by_design(file) else fresh
            return self.url_for(kind, file, expires=expires).encode()

        return _CANONICAL.sub(signed, body)


CDN_KEY = web.AppKey("sandbox_cdn", CdnConfig)


def rewrite_body(app: web.Application, body: bytes) -> bytes:
    """``body`` with media URLs pointing at the app's CDN when rewriting is on."""
    config = app.get(CDN_KEY)
    return config.rewrite(body) if config is not None else body


# ------------------------------------------------------------------------------ media bytes


def _seed(kind: str, stem: str, ext: str) -> bytes:
    return hashlib.sha256(f"{kind}/{stem}.{ext}".encode()).digest()


def default_size(kind: str, stem: str, ext: str) -> int:
    """A stable, plausible size per file (profile pictures small, videos large)."""
    draw = int.from_bytes(_seed(kind, stem, ext)[:4], "big") / 2**32
    low, high = {
        "jpg": (30_000, 160_000),
        "png": (8_000, 60_000),
        "webp": (8_000, 60_000),
        "mp4": (200_000, 900_000),
    }[ext]
    if kind == "profile" or stem.endswith("_thumb"):
        low, high = low // 4, high // 4
    return int(low + (high - low) * draw)


class _Bits:
    """A bit writer; ``lsb_first`` for WebP lossless, MSB-first (JPEG) otherwise."""

    def __init__(self, *, lsb_first: bool) -> None:
        self.lsb_first = lsb_first
        self.out = bytearray()
        self.acc = 0
        self.count = 0

    def write(self, value: int, bits: int) -> None:
        for i in range(bits):
            bit = (value >> i) & 1 if self.lsb_first else (value >> (bits - 1 - i)) & 1
            if self.lsb_first:
                self.acc |= bit << self.count
            else:
                self.acc = (self.acc << 1) | bit
            self.count += 1
            if self.count == 8:
                self._emit(self.acc)
                self.acc = 0
                self.count = 0

    def _emit(self, byte: int) -> None:
        self.out.append(byte)
        if byte == 0xFF and not self.lsb_first:
            self.out.append(0x00)  # JPEG byte stuffing

    def finish(self) -> bytes:
        if self.count:
            if self.lsb_first:
                self._emit(self.acc)
            else:
                self._emit((self.acc << (8 - self.count)) | ((1 << (8 - self.count)) - 1))
            self.acc = 0
            self.count = 0
        return bytes(self.out)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", marker, len(payload) + 2) + payload


def jpeg_parts(seed: bytes, width: int = 32, height: int = 32) -> tuple[bytes, bytes]:
    """A baseline greyscale JPEG, one flat grey per 8x8 block, split where padding (COM
    segments) may go: after the JFIF header."""
    head = b"\xff\xd8" + _segment(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    tables = _segment(0xFFDB, b"\x00" + b"\x01" * 64)  # all-ones quantisation
    tables += _segment(0xFFC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    # DC table: categories 0..11, every code 4 bits long (code == category).
    tables += _segment(0xFFC4, b"\x00" + bytes([0, 0, 0, 12] + [0] * 12) + bytes(range(12)))
    # AC table: only end-of-block, code "0".
    tables += _segment(0xFFC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
    tables += _segment(0xFFDA, b"\x01\x01\x00\x00\x3f\x00")
    bits = _Bits(lsb_first=False)
    previous = 0
    for block in range((width // 8) * (height // 8)):
        grey = 40 + seed[block % len(seed)] % 176
        dc = (grey - 128) * 8  # the DCT's DC term of a flat block, quantised by 1
        diff = dc - previous
        previous = dc
        category = abs(diff).bit_length()
        bits.write(category, 4)
        if category:
            bits.write(diff if diff > 0 else diff + (1 << category) - 1, category)
        bits.write(0, 1)  # end of block
    return head, tables + bits.finish() + b"\xff\xd9"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_parts(seed: bytes, width: int = 32, height: int = 32) -> tuple[bytes, bytes]:
    """An RGB PNG of 8x8 coloured tiles, split where a private padding chunk may go."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            tile = ((y // 8) * (width // 8) + x // 8) * 3
            rows += bytes(seed[(tile + i) % len(seed)] for i in range(3))
    head = b"\x89PNG\r\n\x1a\n" + _png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    )
    tail = _png_chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + _png_chunk(b"IEND", b"")
    return head, tail


def vp8l(seed: bytes, width: int = 32, height: int = 32) -> bytes:
    """A lossless WebP bitstream of one colour: five one-symbol prefix codes, so the pixels
    themselves take no bits."""
    bits = _Bits(lsb_first=True)
    bits.write(0x2F, 8)  # signature
    bits.write(width - 1, 14)
    bits.write(height - 1, 14)
    bits.write(0, 1)  # alpha is not used
    bits.write(0, 3)  # version
    bits.write(0, 1)  # no transform
    bits.write(0, 1)  # no colour cache
    bits.write(0, 1)  # no meta prefix codes
    green, red, blue = seed[0], seed[1], seed[2]
    for symbol in (green, red, blue, 255):  # green, red, blue, alpha
        bits.write(1, 1)  # simple code
        bits.write(0, 1)  # one symbol
        bits.write(1, 1)  # eight-bit symbol
        bits.write(symbol, 8)
    bits.write(1, 1)  # distance code: simple, one 1-bit symbol 0
    bits.write(0, 1)
    bits.write(0, 1)
    bits.write(0, 1)
    return bits.finish()


def _riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


# Padding is the file's 32-byte seed, then this noise from a seed-chosen offset: distinct per
# file, cheap to serve (no per-request generation).
_NOISE = hashlib.shake_256(b"beat sandbox cdn padding").digest(2 * _CHUNK)


def _padding(seed: bytes, n: int) -> Iterator[bytes]:
    head = seed[:n]
    if head:
        yield head
    n -= len(head)
    offset = int.from_bytes(seed[:2], "big")
    while n > 0:
        piece = _NOISE[offset : offset + min(n, _CHUNK)]
        n -= len(piece)
        offset = 0
        yield piece


def media_body(
    kind: str, stem: str, ext: str, size: int | None = None
) -> tuple[int, Iterator[bytes]]:
    """``(length, chunks)`` of the deterministic body of ``/cdn/{kind}/{stem}.{ext}``. The
    length is ``size`` (default: ``default_size``), rounded up where the format needs it."""
    seed = _seed(kind, stem, ext)
    target = default_size(kind, stem, ext) if size is None else max(0, min(size, MAX_SIZE))
    parts: list[bytes | tuple[int]] = []  # bytes, or (n,) for n padding bytes
    if ext == "jpg":
        head, tail = jpeg_parts(seed)
        pad = max(0, target - len(head) - len(tail))
        parts.append(head)
        while pad > 0:
            data = min(65533, max(0, pad - 4))
            if 0 < pad - (data + 4) < 4:
                data -= 4
            parts += [b"\xff\xfe" + struct.pack(">H", data + 2), (data,)]  # a COM segment
            pad -= data + 4
        parts.append(tail)
    elif ext == "png":
        head, tail = png_parts(seed)
        pad = max(0, target - len(head) - len(tail) - 12)
        if target > len(head) + len(tail):
            crc = zlib.crc32(b"paDd")
            for piece in _padding(seed, pad):
                crc = zlib.crc32(piece, crc)
            parts += [head, struct.pack(">I", pad) + b"paDd", (pad,), struct.pack(">I", crc), tail]
        else:
            parts += [head, tail]
    elif ext == "webp":
        image = _riff_chunk(b"VP8L", vp8l(seed))
        bare = 12 + len(image)
        if target <= bare + 18 + 8:
            parts.append(b"RIFF" + struct.pack("<I", len(image) + 4) + b"WEBP" + image)
        else:
            vp8x = _riff_chunk(b"VP8X", b"\x00\x00\x00\x00" + (31).to_bytes(3, "little") * 2)
            pad = target - bare - len(vp8x) - 8
            pad += pad % 2
            riff = 4 + len(vp8x) + len(image) + 8 + pad
            parts += [b"RIFF" + struct.pack("<I", riff) + b"WEBP" + vp8x + image]
            parts += [b"PADD" + struct.pack("<I", pad), (pad,)]
    else:  # mp4
        ftyp = struct.pack(">I", 32) + b"ftypisom" + struct.pack(">I", 0x200)
        ftyp += b"isomiso2avc1mp41"
        pad = max(0, target - len(ftyp) - 8)
        parts += [ftyp + struct.pack(">I", pad + 8) + b"mdat", (pad,)]
    length = sum(len(p) if isinstance(p, bytes) else p[0] for p in parts)

    def chunks() -> Iterator[bytes]:
        for part in parts:
            if isinstance(part, bytes):
                yield part
            else:
                yield from _padding(seed, part[0])

    return length, chunks()


# ------------------------------------------------------------------------------ handlers


def _text(status: int, body: bytes) -> web.Response:
    return web.Response(status=status, body=body, content_type="text/plain")


async def media_handler(request: web.Request) -> web.StreamResponse:
    config = request.app[CDN_KEY]
    kind = request.match_info["kind"]
    match = _FILE.match(request.match_info["file"])
    if match is None or not _KIND.match(kind):
        config.answers["not_found"] += 1
        return _text(404, b"Not Found")
    params = dict(request.query)
    given = params.get("sig", "")
    if not given or not hmac.compare_digest(given, config.signature(request.path, params)):
        config.answers["bad_signature"] += 1
        return _text(403, MISMATCH_BODY)
    try:
        expires = int(params.get("oe", ""), 16)
        size = int(params["size"]) if "size" in params else None
    except ValueError:
        config.answers["bad_signature"] += 1
        return _text(403, b"Bad URL timestamp")
    if expires < time.time():
        config.answers["expired"] += 1
        return _text(403, EXPIRED_BODY)
    stem, ext = match.group(1), match.group(2)
    length, chunks = media_body(kind, stem, ext, size)
    config.answers["served"] += 1
    headers = {"Cache-Control": "max-age=1209600"}
    if length <= STREAM_ABOVE:
        return web.Response(
            body=b"".join(chunks), content_type=_CONTENT_TYPES[ext], headers=headers
        )
    response = web.StreamResponse(headers=headers)
    response.content_type = _CONTENT_TYPES[ext]
    response.content_length = length
    await response.prepare(request)
    for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


async def redirect_handler(request: web.Request) -> web.StreamResponse:
    config = request.app[CDN_KEY]
    config.answers["redirect"] += 1
    to = request.query.get("to")
    if not to:
        return _text(400, b"missing ?to=")
    try:
        status = int(request.query.get("status", "302"))
    except ValueError:
        status = 302
    if status not in (301, 302, 303, 307, 308):
        status = 302
    return web.Response(status=status, headers={"Location": to})


async def chain_handler(request: web.Request) -> web.StreamResponse:
    config = request.app[CDN_KEY]
    config.answers["redirect"] += 1
    try:
        hops = int(request.match_info["n"])
    except ValueError:
        return _text(404, b"Not Found")
    to = request.query.get("to", "")
    if hops <= 0:
        location = to
    else:
        query = urlencode({"to": to}) if to else ""
        location = f"/cdn/chain/{hops - 1}" + (f"?{query}" if query else "")
    if not location:
        return _text(400, b"missing ?to=")
    return web.Response(status=302, headers={"Location": location})


async def html_handler(request: web.Request) -> web.StreamResponse:
    config = request.app[CDN_KEY]
    config.answers["html"] += 1
    return web.Response(body=_HTML_AS_IMAGE, content_type="image/jpeg")


async def status_handler(request: web.Request) -> web.StreamResponse:
    config = request.app[CDN_KEY]
    config.answers["status"] += 1
    try:
        status = int(request.match_info["code"])
    except ValueError:
        return _text(404, b"Not Found")
    if not 200 <= status <= 599 or 300 <= status < 400:
        return _text(400, b"status must be 2xx, 4xx or 5xx")
    return _text(status, f"sandbox CDN status {status}".encode())


def add_routes(app: web.Application, config: CdnConfig | None = None) -> CdnConfig:
    """Mount the CDN on ``app`` (under ``/cdn/``) with ``config`` (default: a new one)."""
    config = config if config is not None else CdnConfig()
    app[CDN_KEY] = config
    app.router.add_get("/cdn/redirect", redirect_handler)
    app.router.add_get("/cdn/chain/{n}", chain_handler)
    app.router.add_get("/cdn/html/{name}", html_handler)
    app.router.add_get("/cdn/status/{code}", status_handler)
    app.router.add_get("/cdn/{kind}/{file}", media_handler)
    return config
