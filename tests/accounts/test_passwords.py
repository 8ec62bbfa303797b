"""Password rules (NIST SP 800-63B) and argon2id hashing."""

from __future__ import annotations

import subprocess
import sys

from argon2 import extract_parameters, profiles
from hypothesis import given, settings
from hypothesis import strategies as st

from camtel.accounts.passwords import hash_password, password_problem, verify_password


def test_rules():
    assert password_problem("a long and private passphrase", min_length=8) is None
    assert "at least 8" in password_problem("x7#kq", min_length=8)
    assert "common" in password_problem("iloveyou", min_length=8)
    assert "common" in password_problem("Password1", min_length=8)
    assert "single character" in password_problem("zzzzzzzzzz", min_length=8)
    assert "sequence" in password_problem("98765432", min_length=8)
    assert "email" in password_problem("margarethe1", min_length=8, context=("margarethe",))
    assert password_problem("x" * 64 + "y", min_length=8) is None, "64+ characters accepted"
    assert "at most" in password_problem("xy" * 100, min_length=8)
    assert password_problem("Pässwörter sind lang genug", min_length=8) is None


def test_hash_is_argon2id_and_normalised():
    stored = hash_password("Ångström unit 42")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "A\u030angstro\u0308m unit 42"), "NFKC-equal input matches"
    assert not verify_password(stored, "angstrom unit 42")
    assert not verify_password("not a hash", "anything")


def test_camtel_hashes_with_the_rfc_9106_low_memory_profile():
    # In a process of its own: the test suite swaps in argon2's cheapest parameters.
    stored = subprocess.run(
        [
            sys.executable,
            "-c",
            "from camtel.accounts.passwords import hash_password as h; "
            "print(h('a long and private passphrase'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert extract_parameters(stored) == profiles.RFC_9106_LOW_MEMORY


@settings(max_examples=25, deadline=None)
@given(st.text(max_size=200))
def test_rules_never_raise(password):
    result = password_problem(password, min_length=8)
    assert result is None or isinstance(result, str)
