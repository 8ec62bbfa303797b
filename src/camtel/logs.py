"""Logging set-up, with a last-line filter that masks personal identifiers and secrets."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (re.compile(r"\+\d[\d ]{7,16}\d"), "<phone>"),
    (re.compile(r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b"), "<mac>"),
    # A token in a query string, also URL-encoded (a link kept in `/login?next=...`).
    (re.compile(r"(?i)(bearer\s+|token=|token%3D|password=)[^\s&\"']+"), r"\1<secret>"),
    # Capability URLs: a share link or an unsubscribe link in an access log opens it.
    (re.compile(r"(/[su]/)[^\s/?\"']+"), r"\1<secret>"),
    # Network addresses are personal data; the access log keeps them as keyed hashes instead.
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "<ip>"),
    (
        re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4})*::[0-9A-Fa-f:]*[0-9A-Fa-f]\b"),
        "<ip>",
    ),
    # Coordinates with more than 2 decimals (about 1 km) are precise enough to locate someone.
    (re.compile(r"(-?\d{1,3}\.\d{2})\d+"), r"\1"),
]


def scrub(text: str) -> str:
    """Mask emails, phone numbers, MACs, tokens and precise coordinates in a log line."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class ScrubFilter(logging.Filter):
    """Applies `scrub` to every record's final message (defence in depth: code logs no PII)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure(level: str) -> None:
    """Log to stderr through the scrubbing filter."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ScrubFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
