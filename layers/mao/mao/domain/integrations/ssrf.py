"""Server-side request forgery checks for user-supplied instance URLs.

A URL is accepted when its scheme is http(s), it carries no credentials, and *every* address its host
resolves to is publicly routable. Loopback, link-local (cloud metadata), private, shared, reserved and
multicast ranges are refused unless an operator allows a network explicitly in configuration. The
resolver is a parameter so the check is testable without DNS.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

Resolver = Callable[[str, int], list[str]]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrlError(ValueError):
    """The URL may not be fetched; the message says why."""


@dataclass(frozen=True, slots=True)
class CheckedUrl:
    url: str  # normalised: no trailing slash
    host: str
    port: int
    addresses: tuple[str, ...]


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeUrlError(f"host {host!r} does not resolve") from exc
    return sorted({str(info[4][0]) for info in infos})


def parse_networks(spec: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """Operator allowance: comma-separated CIDRs (``127.0.0.0/8,10.1.0.0/16``)."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[IPNetwork] = []
    for item in items:
        item = item.strip()
        if item:
            out.append(ipaddress.ip_network(item, strict=False))
    return tuple(out)


def _address(raw: str) -> IPAddress:
    addr = ipaddress.ip_address(raw.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def refusal(addr: IPAddress) -> str | None:
    """Why an address is not public, or None when it is."""
    for label, flag in (("loopback", addr.is_loopback), ("link-local", addr.is_link_local),
                        ("private", addr.is_private), ("multicast", addr.is_multicast),
                        ("reserved", addr.is_reserved), ("unspecified", addr.is_unspecified)):
        if flag:
            return label
    if not addr.is_global:
        return "non-public"
    return None


def check_url(url: str, allowed: tuple[IPNetwork, ...] = (), resolver: Resolver = system_resolver) -> CheckedUrl:
    if not isinstance(url, str) or len(url) > 2048:
        raise UnsafeUrlError("the URL must be a string of at most 2048 characters")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrlError("only http and https URLs are accepted")
    if parts.username or parts.password:
        raise UnsafeUrlError("credentials in the URL are not accepted; send the API key separately")
    host = parts.hostname
    if not host:
        raise UnsafeUrlError("the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrlError("the URL's port is invalid") from exc
    try:
        literal: IPAddress | None = _address(host)
    except ValueError:
        literal = None
    addresses = [str(literal)] if literal is not None else resolver(host, port)
    if not addresses:
        raise UnsafeUrlError(f"host {host!r} does not resolve")
    for raw in addresses:
        addr = _address(raw)
        reason = refusal(addr)
        if reason and not any(addr.version == net.version and addr in net for net in allowed):
            raise UnsafeUrlError(f"{host!r} resolves to {addr}, a {reason} address; refused "
                                 "(an operator can allow a network in configuration)")
    normalised = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    return CheckedUrl(normalised, host, port, tuple(addresses))
