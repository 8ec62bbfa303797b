"""The `camtel simulate` entry point: run a dash cam fleet, optionally showing progress."""

from __future__ import annotations

import asyncio
import contextlib

from rich.console import Console
from rich.table import Table

from camtel.sim.fleet import Fleet, FleetConfig, FleetStats


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def progress_line(stats: FleetStats) -> str:
    """One line of live progress."""
    return (
        f"{stats.connected}/{stats.devices} connected, {stats.sent} sent, {stats.acked} acked, "
        f"{stats.rejected} rejected, {stats.errors} errors, {stats.reconnects} reconnects, "
        f"ack median {_ms(stats.latency_median)}"
    )


def summary_table(stats: FleetStats) -> Table:
    """The final statistics of a run as a table."""
    table = Table(title="camtel simulate", show_header=False)
    rows = [
        ("devices", stats.devices),
        ("registered", stats.registered),
        ("authentications", stats.authenticated),
        ("locations sent", stats.sent),
        ("locations acked", stats.acked),
        ("blind-area resends", stats.blind_area),
        ("heartbeats", stats.heartbeats),
        ("alarms raised", stats.alarms),
        ("rejected", stats.rejected),
        ("errors", stats.errors),
        ("reconnects", stats.reconnects),
        ("ack latency median", _ms(stats.latency_median)),
        ("ack latency p99", _ms(stats.latency_p99)),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    return table


def simulate(
    devices: int,
    host: str,
    port: int,
    rate: float,
    duration: float | None,
    prefix: str = "0138",
    *,
    seed: int = 0,
    console: Console | None = None,
) -> FleetStats:
    """Run `devices` JT/T 808 dash cams against host:port; Ctrl-C ends the run early.

    Silent without a console; with one, shows live progress and prints a summary table.
    Raises ValueError for impossible settings (no devices, negative rate, ids too long).
    """
    config = FleetConfig(
        devices=devices,
        host=host,
        port=port,
        rate=rate,
        duration=duration,
        prefix=prefix,
        seed=seed,
    )
    if console is None:
        fleet = Fleet(config)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(fleet.run())
        return fleet.stats
    with console.status(f"starting {devices} dash cams against {host}:{port}") as status:
        fleet = Fleet(config, on_progress=lambda stats: status.update(progress_line(stats)))
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(fleet.run())
    console.print(summary_table(fleet.stats))
    return fleet.stats
