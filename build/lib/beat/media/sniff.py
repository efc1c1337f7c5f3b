"""What a body really is, from its first bytes (magic numbers), not from its URL or headers.

A CDN that answers an error page with ``200`` and ``Content-Type: image/jpeg`` is common; so
is a URL ending in ``.jpg`` that serves WebP. The bytes decide. The URL's extension is only a
fallback for binary bodies no signature recognises, and never rescues text.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from beat.media.errors import NotMedia

__all__ = [
    "GIF",
    "JPEG",
    "MOV",
    "MP4",
    "PNG",
    "SNIFF_BYTES",
    "WEBP",
    "MediaType",
    "hint_from_url",
    "sniff",
    "sniff_bytes",
]

AssetType = Literal["IMAGE", "VIDEO"]

#: How many leading bytes ``sniff`` wants to see (fewer only when the body is shorter).
SNIFF_BYTES = 512


@dataclass(frozen=True, slots=True)
class MediaType:
    content_type: str
    ext: str  # the key's extension: jpg, png, webp, gif or mp4
    asset_type: AssetType


JPEG = MediaType("image/jpeg", "jpg", "IMAGE")
PNG = MediaType("image/png", "png", "IMAGE")
WEBP = MediaType("image/webp", "webp", "IMAGE")
GIF = MediaType("image/gif", "gif", "IMAGE")
MP4 = MediaType("video/mp4", "mp4", "VIDEO")
MOV = MediaType("video/quicktime", "mp4", "VIDEO")

BY_EXTENSION: dict[str, MediaType] = {
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".png": PNG,
    ".webp": WEBP,
    ".gif": GIF,
    ".mp4": MP4,
    ".m4v": MP4,
    ".mov": MOV,
}
BY_KEY_EXTENSION: dict[str, MediaType] = {"jpg": JPEG, "png": PNG, "webp": WEBP, "gif": GIF}

# ISO base media brands that are stills or audio, not video.
_STILL_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"hevc": "image/heic-sequence",
    b"hevx": "image/heic-sequence",
    b"mif1": "image/heif",
    b"msf1": "image/heif-sequence",
    b"avif": "image/avif",
    b"avis": "image/avif-sequence",
    b"M4A ": "audio/mp4",
    b"M4B ": "audio/mp4",
    b"M4P ": "audio/mp4",
    b"F4A ": "audio/mp4",
}
# QuickTime files written before ftyp existed start with one of these atoms.
_QT_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
# Binary formats that are certainly not images or videos.
_OTHER_BINARY = (
    (b"\x1f\x8b", "application/gzip"),
    (b"PK\x03\x04", "application/zip"),
    (b"%PDF-", "application/pdf"),
    (b"\x7fELF", "application/x-elf"),
    (b"BZh", "application/x-bzip2"),
    (b"\x28\xb5\x2f\xfd", "application/zstd"),
)


def sniff_bytes(head: bytes) -> MediaType | None:
    """The media type the leading bytes prove, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if len(head) >= 16 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        if head[12:16] in (b"VP8 ", b"VP8L", b"VP8X"):
            return WEBP
        return None
    if len(head) >= 12 and head[4:8] == b"ftyp" and int.from_bytes(head[:4], "big") >= 8:
        brand = head[8:12]
        if brand in _STILL_BRANDS:
            raise NotMedia(f"unsupported media: {_STILL_BRANDS[brand]}")
        return MOV if brand == b"qt  " else MP4
    if len(head) >= 8 and head[4:8] in _QT_ATOMS and int.from_bytes(head[:4], "big") >= 8:
        return MOV
    return None


def _text_kind(head: bytes) -> str | None:
    """A content type for bodies that are text (HTML, XML/SVG, JSON, plain), else None."""
    sample = head.lstrip(b"\xef\xbb\xbf").lstrip(b" \t\r\n\x0c").lower()
    if not sample:
        return "empty body"
    if sample.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")) or any(
        tag in sample for tag in (b"<html", b"<head>", b"<body", b"<title>")
    ):
        return "text/html"
    if b"<svg" in sample:
        return "image/svg+xml"
    if sample.startswith(b"<?xml") or sample.startswith(b"<"):
        return "text/xml"
    if sample[:1] in (b"{", b"["):
        return "application/json"
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:
            return None  # invalid UTF-8 well before the end: binary
        decoded = head[: exc.start].decode("utf-8")  # the head cut a character in two
    if decoded and all(ch.isprintable() or ch in "\t\r\n" for ch in decoded):
        return "text/plain"
    return None


def hint_from_url(url: str | None) -> MediaType | None:
    """The media type the URL path's extension suggests (``.../x.jpg?oe=...`` -> JPEG)."""
    if not url:
        return None
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    return BY_EXTENSION.get(posixpath.splitext(path)[1].lower())


def sniff(head: bytes, url: str | None = None) -> MediaType:
    """The media type of a body whose first bytes are ``head`` (``SNIFF_BYTES`` of them, or the
    whole body when shorter). Raises ``NotMedia`` for text and for other known formats.

    Order: a recognised signature wins (a ``.jpg`` URL serving PNG is PNG); text is never media
    whatever the URL says; only an unrecognised binary body falls back to the URL's extension.
    """
    found = sniff_bytes(head)
    if found is not None:
        return found
    text = _text_kind(head)
    if text is not None:
        raise NotMedia(f"not media: {text}")
    for magic, content_type in _OTHER_BINARY:
        if head.startswith(magic):
            raise NotMedia(f"not media: {content_type}")
    hint = hint_from_url(url)
    if hint is not None:
        return hint
    raise NotMedia("not media: unrecognised bytes")
