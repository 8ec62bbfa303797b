"""Idle JT/T 808 connections held by one camtel process, and the memory each costs.

The server (bench/ingest.py's, SQLite, its devices registered) runs in its own process; this
one opens N TCP connections to its JT/T 808 port, each sending one heartbeat (0x0002) as its
own registered terminal and waiting for the acknowledgement (so the server has resolved the
device and holds the session), then leaves them all open and idle. The server's resident
memory (`VmRSS`) is read before and after; the difference divided by N is the cost of one
connection. Each process may hold at most `ulimit -n` descriptors (the hard limit is the
ceiling: raising it needs privileges), so N must stay below it.

    .venv/bin/python bench/connections.py --connections 1000,5000,18000
"""

from __future__ import annotations

import argparse
import resource
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import ingest
import terminals


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _ack(sock: socket.socket) -> None:
    data = b""
    while data.count(b"\x7e") < 2:
        chunk = sock.recv(256)
        if not chunk:
            raise RuntimeError("the server closed a connection")
        data += chunk


def measure(connections: int) -> dict[str, float]:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if connections + 100 > hard:
        raise SystemExit(f"{connections} connections need a descriptor limit above {hard}")
    server = ingest.Server("camtel", connections, 500, fence=False)
    sockets: list[socket.socket] = []
    try:
        time.sleep(1.0)
        before = _rss_kb(server.process.pid)
        began = time.perf_counter()
        phones = ingest._phones(connections)
        for start in range(0, connections, 500):
            group = []
            for phone in phones[start:start + 500]:
                sock = socket.create_connection(("127.0.0.1", server.port))
                sock.sendall(terminals.frame(0x0002, b"", phone, 1))
                group.append(sock)
            for sock in group:
                _ack(sock)
            sockets += group
        took = time.perf_counter() - began
        time.sleep(2.0)  # let the server settle (nothing else arrives: they are idle)
        after = _rss_kb(server.process.pid)
    finally:
        for sock in sockets:
            sock.close()
        server.quit()
    return {"connections": connections, "before_mb": before / 1024, "after_mb": after / 1024,
            "per_kb": (after - before) / connections, "connect_s": took}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", default="1000,5000,18000")
    args = parser.parse_args()
    print("| idle connections | server RSS before MB | after MB | KB per connection "
          "| seconds to connect all |")
    print("|---:|---:|---:|---:|---:|")
    for count in (int(c) for c in args.connections.split(",")):
        row = measure(count)
        print(f"| {count:,} | {row['before_mb']:.0f} | {row['after_mb']:.0f} "
              f"| {row['per_kb']:.1f} | {row['connect_s']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
