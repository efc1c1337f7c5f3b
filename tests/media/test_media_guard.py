"""The SSRF guard on its own: what a URL or a resolved address may be."""

from __future__ import annotations

import ipaddress

import pytest

from beat.media.errors import UnsafeURL
from beat.media.guard import FetchPolicy, address_problem, check_url, vet_addresses

STRICT = FetchPolicy()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/a.jpg", "127.0.0.1 is loopback"),
        ("http://127.8.9.10/a.jpg", "127.8.9.10 is loopback"),
        ("http://10.0.0.5/a.jpg", "10.0.0.5 is private (RFC 1918)"),
        ("http://172.16.0.1/a.jpg", "172.16.0.1 is private (RFC 1918)"),
        ("http://172.31.255.254/a.jpg", "172.31.255.254 is private (RFC 1918)"),
        ("http://192.168.1.1/a.jpg", "192.168.1.1 is private (RFC 1918)"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is link-local (the cloud metadata address)",
        ),
        ("http://169.254.1.1/", "169.254.1.1 is link-local"),
        ("http://100.64.0.1/", "100.64.0.1 is carrier-grade NAT (100.64.0.0/10)"),
        ("http://0.0.0.0/", "0.0.0.0 is unspecified"),
        ("http://0.1.2.3/", "0.1.2.3 is reserved (0.0.0.0/8, this network)"),
        ("http://224.0.0.251/", "224.0.0.251 is multicast"),
        ("http://240.0.0.1/", "240.0.0.1 is reserved"),
        ("http://255.255.255.255/", "255.255.255.255 is"),
        ("http://[::1]/a.jpg", "::1 is loopback"),
        ("http://[::]/", ":: is unspecified"),
        ("http://[fe80::1]/", "fe80::1 is link-local"),
        ("http://[fd12:3456::1]/", "fd12:3456::1 is private (unique local, fc00::/7)"),
        ("http://[ff02::1]/", "ff02::1 is multicast"),
        ("http://[::ffff:127.0.0.1]/", "IPv4-mapped 127.0.0.1, loopback"),
        ("http://[::ffff:169.254.169.254]/", "IPv4-mapped 169.254.169.254, link-local"),
        ("http://[::ffff:10.1.1.1]/", "IPv4-mapped 10.1.1.1, private (RFC 1918)"),
        ("http://[64:ff9b::7f00:1]/", "NAT64 of 127.0.0.1, loopback"),
        ("http://[2002:a9fe:a9fe::1]/", "6to4 of 169.254.169.254, link-local"),
        ("http://2130706433/", "2130706433 is a non-canonical IPv4 form of 127.0.0.1 (loopback)"),
        ("http://017700000001/", "non-canonical IPv4 form of 127.0.0.1 (loopback)"),
        ("http://0x7f000001/", "non-canonical IPv4 form of 127.0.0.1 (loopback)"),
        ("http://0x7f.0.0.1/", "non-canonical IPv4 form of 127.0.0.1 (loopback)"),
        ("http://0177.0.0.1/", "non-canonical IPv4 form of 127.0.0.1 (loopback)"),
        ("http://127.1/", "127.1 is a non-canonical IPv4 form of 127.0.0.1 (loopback)"),
        (
            "http://2852039166/",
            "non-canonical IPv4 form of 169.254.169.254 (link-local (the cloud metadata address))",
        ),
        ("http://010.0.0.1/", "non-canonical IPv4 form of 8.0.0.1"),
        ("http://localhost/a.jpg", "localhost is loopback"),
        ("http://media.localhost/a.jpg", "media.localhost is loopback"),
        ("http://user:secret@cdn.example.com/a.jpg", "credentials (userinfo)"),
        ("http://user@cdn.example.com/a.jpg", "credentials (userinfo)"),
        ("http://cdn.example.com:8080/a.jpg", "port 8080 is not allowed"),
        ("https://cdn.example.com:22/a.jpg", "port 22 is not allowed"),
        ("ftp://cdn.example.com/a.jpg", "scheme 'ftp' is not http or https"),
        ("file:///etc/passwd", "scheme 'file' is not http or https"),
        ("gopher://cdn.example.com:70/", "scheme 'gopher'"),
        ("//cdn.example.com/a.jpg", "URL has no scheme"),
        ("http://cdn.exa mple.com/a.jpg", "whitespace"),
        ("http://cdn.example.com\\@127.0.0.1/", "backslashes"),
        ("http://%31%32%37.0.0.1/", "invalid host name"),
        ("http:///a.jpg", "not an absolute URL"),
    ],
)
def test_unsafe_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURL) as caught:
        check_url(url, STRICT)
    assert reason in str(caught.value)
    assert caught.value.status == "refused"


@pytest.mark.parametrize(
    "url",
    [
        "https://scontent-lhr8-1.cdninstagram.com/v/t51.2885-19/1_n.jpg?stp=dst&oe=66F1A2B3",
        "http://8.8.8.8/a.jpg",
        "https://[2606:4700::1111]/a.jpg",
        "http://[::ffff:8.8.8.8]/a.jpg",
        "https://EXAMPLE.com./a.jpg",
        "https://bücher.example/a.jpg",
        "https://cdn.example.com:443/a.jpg",
    ],
)
def test_public_urls_pass(url: str) -> None:
    target = check_url(url, STRICT)
    assert target.port in (80, 443) and not target.allowlisted


def test_the_allowlist_is_one_exact_endpoint() -> None:
    policy = FetchPolicy.allowing("http://127.0.0.1:8765")
    assert check_url("http://127.0.0.1:8765/cdn/a.jpg", policy).allowlisted
    with pytest.raises(UnsafeURL, match=r"127\.0\.0\.1 is loopback"):
        check_url("http://127.0.0.1:8766/cdn/a.jpg", policy)
    with pytest.raises(UnsafeURL, match=r"127\.0\.0\.1 is loopback"):
        check_url("http://127.0.0.1/cdn/a.jpg", policy)
    with pytest.raises(UnsafeURL, match="::1 is loopback"):
        check_url("http://[::1]:8765/cdn/a.jpg", policy)
    with pytest.raises(UnsafeURL, match="non-canonical"):
        check_url("http://2130706433:8765/", policy)
    # Other limits still hold for an allowlisted endpoint.
    with pytest.raises(UnsafeURL, match="userinfo"):
        check_url("http://u:p@127.0.0.1:8765/", policy)
    assert FetchPolicy.allowing(("LocalHost.", 9)).allow_hosts == frozenset({("localhost", 9)})


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("2606:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("192.0.2.10", "private (special-purpose)"),
        ("198.18.0.1", "private (special-purpose)"),
        ("2001:db8::1", "private (special-purpose)"),
        ("2001::1", "a Teredo tunnel address"),
        ("fe80::1%eth0", "link-local (scoped IPv6)"),
    ],
)
def test_address_problem(address: str, problem: str | None) -> None:
    assert address_problem(ipaddress.ip_address(address)) == problem


def test_one_private_answer_condemns_a_host_name() -> None:
    target = check_url("https://cdn.example.com/a.jpg", STRICT)
    assert vet_addresses(target, ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
    with pytest.raises(
        UnsafeURL, match=r"cdn.example.com resolves to 127.0.0.1, which is loopback"
    ):
        vet_addresses(target, ["93.184.215.14", "127.0.0.1"])
    with pytest.raises(UnsafeURL, match="which is link-local"):
        vet_addresses(target, ["169.254.169.254"])
    with pytest.raises(UnsafeURL, match="resolved to no address"):
        vet_addresses(target, [])
