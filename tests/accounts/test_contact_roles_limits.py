"""Pure account decisions: contact details, roles, the rate limiter."""

from __future__ import annotations

import pytest

from camtel.accounts.contact import ContactError, normalise_email, normalise_phone
from camtel.accounts.ratelimit import RateLimiter
from camtel.accounts.roles import Role, can_assign, can_manage_devices, sees_all_devices


def test_phone_numbers_become_e164():
    assert normalise_phone("+49 (151) 2345-6789") == "+4915123456789"
    assert normalise_phone("+1 650 253 0000") == "+16502530000"
    for bad in ["0151 23456789", "+49 1", "call me", "+999 123456789", ""]:
        with pytest.raises(ContactError):
            normalise_phone(bad)


def test_emails_are_normalised():
    assert normalise_email("  Ana@EXAMPLE.com ") == "ana@example.com"
    for bad in ["ana", "ana@", "@example.com", "a b@example.com", "ana@localhost"]:
        with pytest.raises(ContactError):
            normalise_email(bad)


def test_roles():
    assert can_manage_devices(Role.OWNER) and can_manage_devices(Role.MANAGER)
    assert not can_manage_devices(Role.VIEWER) and not can_manage_devices(Role.DRIVER)
    assert not sees_all_devices(Role.DRIVER) and sees_all_devices(Role.VIEWER)
    assert can_assign(Role.MANAGER, Role.DRIVER) and not can_assign(Role.MANAGER, Role.OWNER)
    assert not can_assign(Role.VIEWER, Role.VIEWER)


def test_rate_limiter_slides_with_the_clock():
    now = [0.0]
    limiter = RateLimiter(limit=3, window=60, clock=lambda: now[0])
    assert [limiter.hit("k") for _ in range(3)] == [None, None, None]
    assert limiter.hit("k") == pytest.approx(60)
    assert limiter.hit("other") is None, "keys are independent"
    now[0] = 59.0
    assert limiter.hit("k") == pytest.approx(1)
    now[0] = 60.5
    assert limiter.hit("k") is None
    limiter.reset("k")
    assert [limiter.hit("k") for _ in range(3)] == [None, None, None]


def test_check_refuses_past_the_limit_with_the_wait_in_whole_seconds():
    from camtel.errors import RateLimited

    now = [100.0]
    limiter = RateLimiter(2, 60, clock=lambda: now[0])
    limiter.check("10.0.0.1")
    limiter.check("10.0.0.1")
    with pytest.raises(RateLimited) as refused:
        limiter.check("10.0.0.1")
    assert refused.value.retry_after == 60
    limiter.check("10.0.0.2")  # another address is not held back
    now[0] += 60.5
    limiter.check("10.0.0.1")  # the window has moved on
