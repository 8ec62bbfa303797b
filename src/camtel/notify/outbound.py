"""Outgoing HTTP to addresses people typed in (webhooks, push endpoints), safe from SSRF.

A URL's host is resolved and every address it resolves to must be public; the request then
goes to that checked address (Host header and TLS name kept), so a DNS answer that changes
between the check and the connection (rebinding) cannot reach the inside network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Longest URL accepted for a webhook or a push endpoint.
MAX_URL = 2048

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """The URL may not be called; `reason` is safe to show and to log (it names no host)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect, and what to call the host in HTTP and TLS."""

    scheme: str
    host: str
    port: int
    address: IPAddress


def address_problem(address: IPAddress) -> str | None:
    """Why an address is not a public destination, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_problem(embedded)
    checks = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    )
    for name, hit in checks:
        if hit:
            return f"the address is {name}"
    if not address.is_global:  # carrier-grade NAT, benchmarking nets and the like
        return "the address is not public"
    return None


def split_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL without credentials; Refused otherwise."""
    if len(url) > MAX_URL:
        raise Refused(f"the URL is longer than {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("the URL is not valid") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("only http and https URLs are allowed")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise Refused("credentials in the URL are not allowed; use the secret")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(url: str, *, allow_private: bool, allow_http: bool = False) -> Target:
    """Check a URL and pick the address to connect to; Refused when any address is not public
    (unless `allow_private`), or when plain http would cross the internet (unless
    `allow_http`): personal data leaves encrypted (P12). http to a private address, where
    allowed, stays on the operator's own network and may stay plain.

    All addresses must pass, not just one: otherwise a name with a public and a private
    record could be steered to the private one."""
    scheme, host, port = split_url(url)
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]  # a literal needs no lookup
    except ValueError:
        addresses = await _lookup(host, port)
    if not addresses:
        raise Refused("the host name does not resolve")
    if not allow_private:
        for address in addresses:
            problem = address_problem(address)
            if problem:
                raise Refused(f"{problem}; webhooks may only reach public addresses")
    public = any(address_problem(address) is None for address in addresses)
    if scheme == "http" and public and not allow_http:
        raise Refused("a public address must be reached over https, not http")
    return Target(scheme, host, port, addresses[0])


async def _lookup(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Refused("the host name does not resolve") from None
    # Drop an IPv6 zone id; odd spellings ("0x7f.1", "2130706433") arrive here normalised.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def client(timeout_s: float) -> httpx.AsyncClient:
    """An HTTP client for outgoing calls: no redirects, no proxies from the environment."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


async def post(
    http: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    allow_private: bool,
    timeout_s: float,
    allow_http: bool = False,
) -> int:
    """POST to a URL through its checked address; the status code. Raises Refused, httpx
    errors or TimeoutError (the whole exchange is bounded, so a slow drip cannot hold us)."""
    target = await resolve(url, allow_private=allow_private, allow_http=allow_http)
    parsed = httpx.URL(url)
    pinned = parsed.copy_with(host=str(target.address))
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if ":" not in target.host else f"[{target.host}]"
    if target.port != default_port:
        host_header = f"{host_header}:{target.port}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request = http.build_request(
        "POST",
        pinned,
        content=content,
        headers={**headers, "Host": host_header},
        extensions=extensions,
    )
    async with asyncio.timeout(timeout_s):
        response = await http.send(request, stream=True)
        await response.aclose()  # the body is not needed; never read an unbounded answer
    return response.status_code
