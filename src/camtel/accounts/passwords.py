"""Passwords: argon2id hashing and the NIST SP 800-63B acceptance rules."""

from __future__ import annotations

import itertools
import unicodedata
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: NIST asks verifiers to accept at least 64 characters; longer only costs hashing time.
MAX_LENGTH = 128

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile


@cache
def _breached() -> frozenset[str]:
    # zxcvbn ships the 30,000 passwords most often seen in public breach corpora.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _normalise(password: str) -> str:
    # SP 800-63B 5.1.1.2: apply NFKC so that the same password typed differently matches.
    return unicodedata.normalize("NFKC", password)


def password_problem(
    password: str, *, min_length: int, context: tuple[str, ...] = ()
) -> str | None:
    """Say why a new password is refused, or None when it is acceptable."""
    normalised = _normalise(password)
    if len(normalised) < min_length:
        return f"must be at least {min_length} characters"
    if len(normalised) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    lowered = normalised.lower()
    if lowered in _breached():
        return "is one of the most common passwords found in data breaches"
    if len(set(lowered)) == 1:
        return "repeats a single character"
    if _sequential(lowered):
        return "is a simple sequence"
    for word in context:
        word = word.lower()
        if len(word) >= 4 and word in lowered and len(lowered) - len(word) < 4:
            return "is too close to your email address or the service name"
    return None


def _sequential(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return len(text) > 2 and len(steps) == 1 and steps.pop() in (1, -1)


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return _hasher.hash(_normalise(password))


def verify_password(stored: str, password: str) -> bool:
    """Whether a password matches its stored hash (constant time, never raises)."""
    try:
        return _hasher.verify(stored, _normalise(password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored)


#: A hash that verifies nothing, used to spend the same time when an account does not exist.
DUMMY_HASH = _hasher.hash("camtel-no-such-account")


def use_hasher(hasher: PasswordHasher) -> None:
    """Hash and verify with other argon2 parameters from now on. camtel itself never calls
    this: the test suite does, with argon2's cheapest profile, so that a thousand sign-ups
    do not spend minutes of CPU on hashing (tests/conftest.py)."""
    global _hasher, DUMMY_HASH
    _hasher = hasher
    DUMMY_HASH = hasher.hash("camtel-no-such-account")
