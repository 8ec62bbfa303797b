"""Server-side request forgery: only public addresses, checked on every resolution."""

from __future__ import annotations

import ipaddress

import pytest

from camtel.notify.outbound import Refused, address_problem, resolve, split_url

INSIDE = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",  # noqa: S104 - an address to refuse, not to bind
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 around 169.254.169.254
    "2001:db8::1",  # documentation
]
OUTSIDE = ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("text", INSIDE)
def test_inside_addresses_are_refused(text):
    assert address_problem(ipaddress.ip_address(text)) is not None


@pytest.mark.parametrize("text", OUTSIDE)
def test_public_addresses_pass(text):
    assert address_problem(ipaddress.ip_address(text)) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "http://user:pw@example.com/",
        "http:///nohost",
        "http://example.com:99999/",
        "https://" + "a" * 3000 + ".com/",
    ],
)
def test_bad_urls_are_refused(url):
    with pytest.raises(Refused):
        split_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8080/hook",
        "http://[::1]/",
        "http://[::ffff:7f00:1]/",
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0x7f.1/",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_resolution_refuses_inside_hosts(url):
    with pytest.raises(Refused) as refused:
        await resolve(url, allow_private=False)
    assert "127" not in refused.value.reason and "localhost" not in refused.value.reason


async def test_operators_may_allow_private_targets():
    target = await resolve("http://127.0.0.1:9/hook", allow_private=True)
    assert (str(target.address), target.port) == ("127.0.0.1", 9)


async def test_unresolvable_hosts_are_refused():
    with pytest.raises(Refused):
        await resolve("http://no-such-host.invalid/", allow_private=True)


async def test_a_public_address_is_reached_over_https_only():
    # P12: personal data leaves encrypted. 93.184.216.34 is a public address (no lookup).
    with pytest.raises(Refused) as refused:
        await resolve("http://93.184.216.34/hook", allow_private=False)
    assert "https" in refused.value.reason
    assert (await resolve("https://93.184.216.34/hook", allow_private=False)).scheme == "https"
    allowed = await resolve("http://93.184.216.34/hook", allow_private=False, allow_http=True)
    assert allowed.scheme == "http", "the operator may allow http (CAMTEL_WEBHOOK_ALLOW_HTTP)"


async def test_a_private_address_the_operator_allows_may_stay_plain_http():
    target = await resolve("http://10.1.2.3:8080/hook", allow_private=True)
    assert (target.scheme, str(target.address)) == ("http", "10.1.2.3")
