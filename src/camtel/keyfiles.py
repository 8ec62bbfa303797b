"""Secret keys kept as files under the data directory: made on first use, never rewritten."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_BYTES = 32


def load_or_create(path: Path) -> bytes:
    """The key in `path`, made on first use (random, 256 bits, file mode 0600, folder 0700).

    The key is written aside and then linked into place: a concurrent reader never sees half
    a key, and of two processes racing, one key wins for both.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        spare = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(KEY_BYTES))
        try:
            os.link(spare, path)
        except FileExistsError:
            pass
        finally:
            spare.unlink()
    key = path.read_bytes()
    if len(key) < KEY_BYTES:
        raise RuntimeError(f"{path} is damaged (shorter than {KEY_BYTES} bytes)")
    return key
