"""Content type from the bytes; the URL's extension only as a fallback for unknown binaries."""

from __future__ import annotations

import pytest

from beat.media.errors import NotMedia
from beat.media.sniff import GIF, JPEG, MOV, MP4, PNG, WEBP, sniff
from sandbox.cdn import media_body


def body(kind: str, stem: str, ext: str) -> bytes:
    _, chunks = media_body(kind, stem, ext)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", JPEG),
        (b"\xff\xd8\xff\xe1\x00\x10Exif\x00", JPEG),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", PNG),
        (b"GIF89a\x01\x00\x01\x00", GIF),
        (b"GIF87a\x01\x00\x01\x00", GIF),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00", WEBP),
        (b"RIFF\x24\x00\x00\x00WEBPVP8L\x18\x00\x00\x00", WEBP),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2", MP4),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", MP4),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", MOV),
        (b"\x00\x00\x00\x08wide\x00\x01\x00\x00mdat", MOV),
    ],
)
def test_magic_numbers(head: bytes, expected: object) -> None:
    assert sniff(head + b"\x00" * 64) == expected


def test_the_bytes_win_over_the_url() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    assert sniff(png, "https://cdn.example.com/a.jpg?oe=1") == PNG
    assert sniff(png).ext == "png" and PNG.content_type == "image/png"
    assert MOV.ext == "mp4" and MOV.asset_type == "VIDEO" and JPEG.asset_type == "IMAGE"


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"<!DOCTYPE html><html><head><title>Login</title>", "not media: text/html"),
        (b"\xef\xbb\xbf  \n<html lang='en'><body>Sorry", "not media: text/html"),
        (b"<HTML><BODY>Access Denied</BODY></HTML>", "not media: text/html"),
        (
            b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'>",
            "not media: image/svg+xml",
        ),
        (b'{"error": {"message": "Invalid parameter"}}', "not media: application/json"),
        (b"[1, 2, 3]", "not media: application/json"),
        (b"URL signature expired", "not media: text/plain"),
        (b"Bad URL timestamp\n", "not media: text/plain"),
        (b"", "not media: empty body"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "not media: application/gzip"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "not media: application/pdf"),
        (b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heic", "unsupported media: image/heic"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", "unsupported media: image/avif"),
        (b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A mp42", "unsupported media: audio/mp4"),
    ],
)
def test_text_and_other_formats_are_not_media_whatever_the_url(head: bytes, reason: str) -> None:
    with pytest.raises(NotMedia) as caught:
        sniff(head, "https://cdn.example.com/picture.jpg")
    assert str(caught.value) == reason
    assert caught.value.status == "skipped"


def test_unknown_binary_falls_back_to_the_url_extension() -> None:
    blob = bytes(range(128, 256)) * 4
    assert sniff(blob, "https://cdn.example.com/v/clip.mp4?efg=abc") == MP4
    assert sniff(blob, "https://cdn.example.com/a.JPEG") == JPEG
    with pytest.raises(NotMedia, match="unrecognised bytes"):
        sniff(blob, "https://cdn.example.com/a")
    with pytest.raises(NotMedia, match="unrecognised bytes"):
        sniff(blob)


def test_a_multibyte_character_cut_by_the_head_is_still_text() -> None:
    text = ("Désolé, une erreur est survenue. " * 20).encode()[:511]
    with pytest.raises(NotMedia, match="text/plain"):
        sniff(text)


@pytest.mark.parametrize(
    ("ext", "expected"),
    [("jpg", JPEG), ("png", PNG), ("webp", WEBP), ("mp4", MP4)],
)
def test_the_sandbox_cdn_serves_real_magic_numbers(ext: str, expected: object) -> None:
    assert sniff(body("media", "abc123", ext)[:512]) == expected
