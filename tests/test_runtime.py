"""A started server hides what it loaded from the cyclic collector and collects young
objects less often; cycles made afterwards are still collected."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import gc, weakref
from camtel.runtime import YOUNG_THRESHOLD, settle_heap
before = gc.get_freeze_count()
settle_heap()
assert before == 0 and gc.get_freeze_count() > 1000, gc.get_freeze_count()
assert gc.get_threshold()[0] == YOUNG_THRESHOLD

class Node:
    pass

a, b = Node(), Node()
a.other, b.other = b, a  # a cycle made after start
gone = weakref.ref(a)
del a, b
gc.collect()
assert gone() is None, "a cycle made later is still collected"
print("ok")
"""


def test_settle_heap_freezes_what_is_loaded_and_still_collects_new_cycles():
    # In a child process: freezing the test runner's own heap would outlive this test.
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
