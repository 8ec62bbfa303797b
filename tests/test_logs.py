"""Logs never carry emails, phone numbers, MACs, tokens or precise coordinates."""

from __future__ import annotations

import logging

from camtel.logs import ScrubFilter, scrub


def test_scrub():
    line = (
        "user ana.b@example.com phone +49 151 23456789 mac 00:1A:2b:3C:4d:5E "
        "Authorization: Bearer abc.def-123 at 52.520008,13.404954 token=s3cr3t "
        '"GET /s/Zk9_share-Tok3n/content HTTP/1.1" 206 "POST /u/unsub.Tok3n HTTP/1.1" 200 '
        "jt808 peer 203.0.113.77:40112 closed; client 2001:db8::1f2 at 12:30:45 "
        '"GET /login?next=/guardian%3Ftoken%3DGuard1an-Tok HTTP/1.1" 200'
    )
    cleaned = scrub(line)
    for secret in [
        "ana.b@example.com",
        "23456789",
        "00:1A:2b",
        "abc.def-123",
        "52.520008",
        "13.404954",
        "s3cr3t",
        "Zk9_share-Tok3n",
        "unsub.Tok3n",
        "203.0.113.77",
        "2001:db8::1f2",
        "Guard1an-Tok",
    ]:
        assert secret not in cleaned, secret
    assert "52.52" in cleaned, "coarse coordinates stay useful"
    assert "/s/<secret>/content" in cleaned, "the route stays readable"
    assert "<ip>:40112" in cleaned and "at 12:30:45" in cleaned, "ports and times stay"


def test_filter_rewrites_records(caplog):
    logger = logging.getLogger("camtel.test")
    logger.addFilter(ScrubFilter())
    with caplog.at_level(logging.INFO):
        logger.info("mail to %s failed", "someone@example.org")
    assert "someone@example.org" not in caplog.text
    assert "<email>" in caplog.text
