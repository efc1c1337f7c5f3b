"""Which URLs the media fetcher may contact: public http(s) hosts only (the SSRF guard).

``check_url`` vets everything that can be read off a URL (scheme, userinfo, port, host syntax,
IP literals in any spelling); ``address_problem`` vets one resolved address. The fetcher calls
both for the first URL and again for every redirect hop, and then connects only to the
addresses it vetted (see ``beat.media.fetch``).

Tests and the sandbox live on 127.0.0.1: they are reached through ``FetchPolicy.allow_hosts``,
an explicit list of ``(host, port)`` endpoints. There is no switch that turns the guard off.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field, replace
from typing import Any

from yarl import URL

from beat.media.errors import UnsafeURL

__all__ = [
    "FetchPolicy",
    "IPAddress",
    "Target",
    "address_problem",
    "check_url",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MiB = 1024 * 1024

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_ULA = ipaddress.ip_network("fc00::/7")
_RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_METADATA = ipaddress.ip_address("169.254.169.254")
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one fetcher. The defaults are the strict production policy.

    ``allow_hosts`` lists ``(host, port)`` endpoints that may be reached even though they are
    private or loopback or on a port other than 80/443: only that exact host and port, never
    a redirect elsewhere. Hosts are compared in their normalised form (lower case, IDNA, no
    trailing dot, IPv6 without brackets).
    """

    allow_hosts: frozenset[tuple[str, int]] = frozenset()
    ports: frozenset[int] = frozenset({80, 443})
    max_bytes: int = 50 * MiB
    max_redirects: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 20.0  # longest silence between two chunks of a body
    total_timeout: float = 90.0  # a whole fetch, redirects included
    dns_timeout: float = 5.0
    dns_cache_seconds: float = 60.0
    spool_bytes: int = 1 * MiB  # bodies larger than this spill from memory to a temp file
    chunk_bytes: int = 64 * 1024
    user_agent: str = "beat-media/1.0"
    headers: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def allowing(cls, *endpoints: str | tuple[str, int], **overrides: Any) -> FetchPolicy:
        """The strict policy plus explicit endpoints (``"http://127.0.0.1:8765"``,
        ``"127.0.0.1:8765"`` or ``("127.0.0.1", 8765)``)."""
        return cls(**overrides).allow(*endpoints)

    def allow(self, *endpoints: str | tuple[str, int]) -> FetchPolicy:
        pairs = set(self.allow_hosts)
        for endpoint in endpoints:
            pairs.add(_endpoint(endpoint))
        return replace(self, allow_hosts=frozenset(pairs))

    def allows(self, host: str, port: int) -> bool:
        return (host, port) in self.allow_hosts


def _endpoint(endpoint: str | tuple[str, int]) -> tuple[str, int]:
    if isinstance(endpoint, tuple):
        host, port = endpoint
        return normalise_host(str(host)), int(port)
    url = URL(endpoint if "://" in endpoint else f"http://{endpoint}")
    if not url.raw_host or url.port is None:
        raise ValueError(f"not a host:port endpoint: {endpoint!r}")
    return normalise_host(url.raw_host), url.port


def normalise_host(raw_host: str) -> str:
    host = raw_host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


@dataclass(frozen=True)
class Target:
    """A URL that passed ``check_url``: where to connect and whether it is allowlisted."""

    url: URL
    host: str  # normalised
    port: int
    ip: IPAddress | None  # set when the host is an IP literal
    allowlisted: bool


def _describe(ip: IPAddress) -> str:
    if ip == _METADATA:
        return "link-local (the cloud metadata address)"
    return address_problem(ip) or "public"


def address_problem(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be contacted (``"loopback"``, ``"private (RFC 1918)"``...), or None
    for a public unicast address. IPv6 forms that embed an IPv4 address are judged by it."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "link-local (scoped IPv6)"
        mapped = ip.ipv4_mapped
        if mapped is not None:
            inner = address_problem(mapped)
            return f"IPv4-mapped {mapped}, {inner}" if inner else None
        if ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            inner = address_problem(embedded)
            return f"NAT64 of {embedded}, {inner}" if inner else None
        six_to_four = ip.sixtofour
        if six_to_four is not None:
            inner = address_problem(six_to_four)
            return f"6to4 of {six_to_four}, {inner}" if inner else None
        if ip.teredo is not None:
            return "a Teredo tunnel address"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address):
        if ip in _CGNAT:
            return "carrier-grade NAT (100.64.0.0/10)"
        if ip in _THIS_NETWORK:
            return "reserved (0.0.0.0/8, this network)"
        if any(ip in network for network in _RFC1918):
            return "private (RFC 1918)"
    elif ip in _ULA:
        return "private (unique local, fc00::/7)"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private (special-purpose)"
    if not ip.is_global:
        return "not globally routable"
    return None


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address a libc ``inet_aton`` would read from ``host`` (``2130706433``, ``0x7f.1``,
    ``0177.0.0.1``, ``127.1``...), or None when the host is not such a numeric form."""
    labels = host.split(".")
    if not labels or not all(_NUMERIC_LABEL.match(label) for label in labels):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_url(url: str | URL, policy: FetchPolicy) -> Target:
    """Vet what the URL itself says; raise ``UnsafeURL`` with the reason, else a ``Target``.

    DNS is not consulted here: a host name still has to have each of its addresses vetted
    (``address_problem``) before anything connects to it.
    """
    text = str(url)
    if _FORBIDDEN_CHARS.search(text):
        raise UnsafeURL("URL contains whitespace, control characters or backslashes")
    try:
        parsed = url if isinstance(url, URL) else URL(text)
    except (ValueError, TypeError) as exc:
        raise UnsafeURL(f"malformed URL: {exc}") from None
    scheme = (parsed.scheme or "").lower()
    if not scheme:
        raise UnsafeURL("URL has no scheme")
    if scheme not in ("http", "https"):
        raise UnsafeURL(f"scheme {scheme!r} is not http or https")
    if not parsed.is_absolute():
        raise UnsafeURL("not an absolute URL")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise UnsafeURL("URL carries credentials (userinfo)")
    raw_host = parsed.raw_host or ""
    host = normalise_host(raw_host)
    if not host:
        raise UnsafeURL("URL has no host")
    try:
        port = parsed.port
    except ValueError:
        raise UnsafeURL("malformed port") from None
    if port is None:
        raise UnsafeURL("URL has no port")
    allowlisted = policy.allows(host, port)

    ip: IPAddress | None = None
    if ":" in host:
        try:
            ip = ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeURL(f"malformed IPv6 address {host!r}") from None
    else:
        try:
            ip = ipaddress.IPv4Address(host)
        except ValueError:
            legacy = _legacy_ipv4(host)
            if legacy is not None:
                raise UnsafeURL(
                    f"{host} is a non-canonical IPv4 form of {legacy} ({_describe(legacy)})"
                ) from None
            labels = host.split(".")
            if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
                raise UnsafeURL(f"invalid host name {raw_host!r}") from None
    if not allowlisted:
        if ip is not None and address_problem(ip) is not None:
            raise UnsafeURL(f"{ip} is {_describe(ip)}")
        if host == "localhost" or host.endswith(".localhost"):
            raise UnsafeURL(f"{host} is loopback")
        if port not in policy.ports:
            raise UnsafeURL(f"port {port} is not allowed (only {sorted(policy.ports)})")
    return Target(url=parsed, host=host, port=port, ip=ip, allowlisted=allowlisted)


def vet_addresses(target: Target, addresses: list[str]) -> list[str]:
    """The resolved ``addresses`` of ``target`` if every one of them is public (or the target
    is allowlisted); otherwise ``UnsafeURL`` naming the first bad one. One bad address
    condemns the host: a resolver that mixes public and private answers is hostile."""
    if not addresses:
        raise UnsafeURL(f"{target.host} resolved to no address")
    vetted: list[str] = []
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise UnsafeURL(f"{target.host} resolved to a malformed address {address!r}") from None
        if not target.allowlisted and address_problem(ip) is not None:
            raise UnsafeURL(f"{target.host} resolves to {ip}, which is {_describe(ip)}")
        text = str(ip)
        if text not in vetted:
            vetted.append(text)
    return vetted
