"""The `camtel` command: serve, demo, database, accounts, outbox."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:  # commands import what they use: `camtel extract` needs no database
    from rich.table import Table as RichTable
    from sqlalchemy import Select

    from camtel.config import Settings
    from camtel.ingest import Ingest
    from camtel.services import Services

T = TypeVar("T")

app = typer.Typer(help="camtel: camera telematics.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
outbox_app = typer.Typer(help="Mail kept or sent by camtel.", no_args_is_help=True)
config_app = typer.Typer(help="Settings.", no_args_is_help=True)
policy_app = typer.Typer(help="Privacy policy and terms versions.", no_args_is_help=True)
breach_app = typer.Typer(help="Personal-data breaches.", no_args_is_help=True)
camera_app = typer.Typer(help="Wi-Fi dash cams (Novatek family).", no_args_is_help=True)
sim_app = typer.Typer(help="Simulators for trying camtel without hardware.", no_args_is_help=True)
privacy_app = typer.Typer(help="Privacy: retention, record of processing.", no_args_is_help=True)
news_app = typer.Typer(help="Product news by email (opted-in accounts only).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(outbox_app, name="outbox")
app.add_typer(config_app, name="config")
app.add_typer(privacy_app, name="privacy")
app.add_typer(camera_app, name="camera")
app.add_typer(policy_app, name="policy")
privacy_app.add_typer(breach_app, name="breach")
app.add_typer(sim_app, name="sim")
app.add_typer(news_app, name="news")

console = Console()
err = Console(stderr=True)


def _run(coroutine: Coroutine[Any, Any, object]) -> None:
    """Run the server's event loop: uvloop when installed, asyncio otherwise."""
    try:
        import uvloop

        uvloop.run(coroutine)
    except ImportError:
        _once(coroutine)


def _once(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to its end (asyncio is imported by the commands that need it)."""
    import asyncio

    return asyncio.run(coroutine)


def _table(*columns: str) -> RichTable:
    """A rich table with these column headings."""
    from rich.table import Table as RichTable

    return RichTable(*columns)


def _settings() -> Settings:
    from pydantic import ValidationError

    from camtel.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        err.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
def serve(
    role: Annotated[
        str,
        typer.Option(
            envvar="CAMTEL_ROLE",
            help="all (one process, the default), or one role of a deployment over a shared "
            "database and bus (CAMTEL_BUS_URL=nats://...): gateway (devices in), worker "
            "(pipeline and background jobs) or api (HTTP).",
        ),
    ] = "all",
) -> None:
    """Start the whole system in one process, or one role of it."""
    from camtel import app as composition
    from camtel.ingest import parts_of
    from camtel.logs import configure

    settings = _settings()
    try:
        parts = parts_of(role, settings.bus_url)
    except ValueError as exc:
        err.print(f"[red]camtel serve:[/red] {exc}")
        raise typer.Exit(2) from None
    configure(settings.log_level)
    if "api" in parts:
        console.print(f"camtel serving on [bold]{settings.base_url}[/bold]")
    else:
        console.print(f"camtel {role} running")
    with contextlib.suppress(KeyboardInterrupt):
        _run(composition.serve(settings, role=role))


@app.command()
def demo(
    email: Annotated[str, typer.Option(help="Login of the demo account.")] = "demo@example.com",
) -> None:
    """Start camtel with a demo organisation, login and devices, and print how to sign in."""
    from camtel import app as composition
    from camtel.demo import drive, seed
    from camtel.logs import configure

    settings = _settings()
    configure(settings.log_level)
    composition.prepare(settings)
    password = "demo-" + secrets.token_urlsafe(9)

    fleet = []

    async def ready(services: Services, ingest: Ingest) -> None:
        await seed(services, email=email, password=password)
        if "jt808" in ingest.ports and settings.demo_devices:
            fleet.append(drive(services, port=ingest.ports["jt808"]))
        console.print(f"\n[bold green]camtel demo[/bold green] at {settings.base_url}")
        console.print(f"  sign in as [bold]{email}[/bold] with password [bold]{password}[/bold]")
        console.print(f"  API docs: {settings.base_url}/docs\n")

    with contextlib.suppress(KeyboardInterrupt):
        _run(composition.serve(settings, on_ready=ready))


@app.command()
def simulate(
    devices: Annotated[int, typer.Option(min=1, help="How many dash cams.")] = 10,
    host: Annotated[str, typer.Option(help="JT/T 808 gateway address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="JT/T 808 gateway port.")] = 5015,
    rate: Annotated[float, typer.Option(min=0, help="Reports per second per device.")] = 0.2,
    duration: Annotated[
        float | None, typer.Option(min=0.1, help="Seconds to run; default until Ctrl-C.")
    ] = None,
    prefix: Annotated[str, typer.Option(help="First digits of the terminal numbers.")] = "0138",
    seed: Annotated[int, typer.Option(help="Seed of the routes (same seed, same drive).")] = 0,
) -> None:
    """JT/T 808 dash cams that register, authenticate and drive realistic routes."""
    from camtel.sim.cli import simulate as run

    try:
        run(devices, host, port, rate, duration, prefix, seed=seed, console=console)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@app.command()
def extract(
    files: Annotated[list[Path], typer.Argument(help="Recordings (and .nmea/.gps sidecars).")],
    fmt: Annotated[str, typer.Option("--format", help="gpx, geojson or csv.")] = "gpx",
    out: Annotated[
        Path | None, typer.Option("-o", "--output", help="File; default stdout.")
    ] = None,
) -> None:
    """The GPS track embedded in dash cam recordings: no account or server needed."""
    # camtel.entry runs the same run_extract without loading Typer when it can parse the
    # arguments exactly as Click would; help and usage errors always come from here.
    from camtel.media.extract import run_extract

    raise typer.Exit(run_extract(files, fmt, out, err))


@camera_app.command("sync")
def camera_sync(
    url: Annotated[str, typer.Option(help="The camera's address.")] = "http://192.168.1.254",
    dest: Annotated[Path, typer.Option(help="Where copies go.")] = Path("./dashcam"),
    upload: Annotated[bool, typer.Option(help="Upload to a camtel server instead.")] = False,
    server: Annotated[str | None, typer.Option(help="camtel server for --upload.")] = None,
    token: Annotated[
        str | None, typer.Option(envvar="CAMTEL_TOKEN", help="API token for --upload.")
    ] = None,
    device_id: Annotated[str | None, typer.Option(help="camtel device the clips are from.")] = None,
    delete_after: Annotated[
        bool, typer.Option(help="Delete on the camera after a verified copy (never locked).")
    ] = False,
) -> None:
    """Copy new recordings from a Wi-Fi dash cam, once, resuming where a copy broke off."""
    from camtel.camera.sync import run_sync

    raise typer.Exit(
        run_sync(url, dest, upload, server, token, delete_after, console, device_id=device_id)
    )


@sim_app.command("camera")
def sim_camera(
    directory: Annotated[Path, typer.Option("--dir", help="Folder served as the SD card.")],
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port.")] = 8254,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """A simulated Novatek-family Wi-Fi dash cam serving a folder."""
    from camtel.sim.camera import run_camera

    raise typer.Exit(run_camera(directory, port, console, host=host))


@db_app.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Apply database migrations."""
    from camtel.db import migrate

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.sqlalchemy_url, revision)
    console.print(f"database at revision [bold]{migrate.current(settings.sqlalchemy_url)}[/bold]")


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision."""
    from camtel.db import migrate

    console.print(migrate.current(_settings().sqlalchemy_url) or "not migrated")


@db_app.command("rebuild-latest")
def db_rebuild_latest() -> None:
    """Write every device's newest fix kept for the live map again from positions (after
    positions were restored or written outside camtel; the store keeps it otherwise)."""
    import camtel.schema  # noqa: F401  every model, for the foreign keys
    from camtel.db.engine import Database
    from camtel.db.migrate import upgrade
    from camtel.devices import latest

    async def rebuild() -> int:
        database = Database(settings.sqlalchemy_url)
        try:
            async with database.session() as db:
                return await latest.rebuild(db)
        finally:
            await database.dispose()

    settings = _settings()
    upgrade(settings.sqlalchemy_url)
    console.print(f"kept the newest fix of {_once(rebuild())} device(s)")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Email address (the login).")],
    phone: Annotated[str, typer.Option(help="Phone number in international form.")],
    password: Annotated[str, typer.Option(help="Password (NIST rules apply).")],
    admin: Annotated[bool, typer.Option(help="Operator of this camtel server.")] = False,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Create a verified account (for operators and scripts)."""
    from camtel import app as composition
    from camtel.accounts.service import create_account
    from camtel.errors import CamtelError
    from camtel.services import Services

    settings = _settings()
    composition.prepare(settings)

    async def run() -> str:
        services = Services.build(settings)
        try:
            async with services.database.session() as db:
                user = await create_account(
                    db,
                    email=email,
                    phone=phone,
                    password=password,
                    display_name=name,
                    min_length=settings.password_min_length,
                    now=datetime.now(UTC),
                    verified=True,
                    admin=admin,
                )
                return str(user.id)
        finally:
            await services.database.dispose()

    try:
        user_id = _once(run())
    except CamtelError as exc:
        err.print(f"[red]cannot create the account:[/red] {exc.detail}")
        raise typer.Exit(1) from None
    console.print(f"created account [bold]{user_id}[/bold]")


@outbox_app.command("list")
def outbox_list(limit: int = 20) -> None:
    """Recent mail, newest first (addresses shown only here, to the operator)."""
    from sqlalchemy import select

    from camtel.mail.models import OutboxMail

    rows = _once(_query(select(OutboxMail).order_by(OutboxMail.created_at.desc()).limit(limit)))
    table = _table("id", "created", "to", "subject", "status")
    for mail in rows:
        table.add_row(
            str(mail.id),
            mail.created_at.isoformat(timespec="seconds"),
            mail.to_address,
            mail.subject,
            mail.status,
        )
    console.print(table)


@outbox_app.command("show")
def outbox_show(
    mail_id: Annotated[str, typer.Argument(help="Mail id, or 'last' for the newest.")] = "last",
    to: Annotated[str | None, typer.Option(help="Only mail to this address.")] = None,
) -> None:
    """Print one mail, with its links (verification, reset)."""
    import uuid

    from sqlalchemy import select

    from camtel.mail.models import OutboxMail

    query = select(OutboxMail).order_by(OutboxMail.created_at.desc()).limit(1)
    if to:
        query = query.where(OutboxMail.to_address == to.strip().lower())
    if mail_id != "last":
        try:
            query = query.where(OutboxMail.id == uuid.UUID(mail_id))
        except ValueError:
            err.print("[red]not a mail id[/red]")
            raise typer.Exit(2) from None
    rows = _once(_query(query))
    if not rows:
        err.print("no such mail")
        raise typer.Exit(1)
    mail = rows[0]
    console.print(f"To: {mail.to_address}\nSubject: {mail.subject}\nStatus: {mail.status}")
    parts = (["HTML version"] if mail.html else []) + [
        f"{a['filename']} ({a['content_type']})" for a in mail.attachments or []
    ]
    if parts:
        console.print(f"With: {', '.join(parts)}", markup=False, highlight=False)
    console.print()
    console.print(mail.body, markup=False, highlight=False)


@config_app.command("show")
def config_show() -> None:
    """The settings in effect (secrets masked)."""
    table = _table("setting", "value")
    for key, value in _settings().describe().items():
        table.add_row(f"CAMTEL_{key.upper()}", str(value))
    console.print(table)


@privacy_app.command("sweep")
def privacy_sweep() -> None:
    """Delete what has outlived its retention now: rows, recordings and their stored objects,
    share links, export files, raw analytics hits (what camtel serve does hourly)."""
    import camtel.schema  # noqa: F401  every model, for the privacy engine
    from camtel.app import sweep_all
    from camtel.db.migrate import upgrade
    from camtel.services import Services

    settings = _settings()
    upgrade(settings.sqlalchemy_url)

    async def run() -> dict[str, object]:
        services = Services.build(settings)
        try:
            return await sweep_all(services)
        finally:
            await services.database.dispose()

    table = _table("what", "deleted")
    failed = False
    for chore, result in _once(run()).items():
        if isinstance(result, Exception):
            failed = True
            table.add_row(chore, f"failed: {type(result).__name__}")
        elif isinstance(result, dict):
            for name, count in result.items():
                table.add_row(f"{chore}: {name}", str(count))
        else:
            table.add_row(chore, str(result))
    console.print(table)
    if failed:
        raise typer.Exit(1)


@policy_app.command("publish")
def policy_publish(
    file: Annotated[Path, typer.Argument(help="The new version, in Markdown.")],
    kind: Annotated[str, typer.Option(help="privacy or terms.")] = "privacy",
) -> None:
    """Publish a new version: shown on the site, mailed to every account, accepted at login."""
    from camtel.errors import CamtelError
    from camtel.privacy.policies import publish_file

    settings = _settings()
    from camtel.db.migrate import upgrade

    upgrade(settings.sqlalchemy_url)
    try:
        result = publish_file(settings, file, kind)
    except (CamtelError, OSError) as exc:
        err.print(f"[red]cannot publish:[/red] {getattr(exc, 'detail', exc)}")
        raise typer.Exit(1) from None
    console.print(
        f"{result['kind']} version [bold]{result['version']}[/bold]: "
        f"{result['mailed']} accounts mailed"
    )


@news_app.command("send")
def news_send(
    file: Annotated[Path, typer.Argument(help="The news, in Markdown (sent as plain text).")],
    subject: Annotated[str, typer.Option(help="The mail's subject.")],
) -> None:
    """Mail product news to every account that opted in, each with a one-click unsubscribe."""
    from camtel.errors import CamtelError
    from camtel.notify.news import send_file

    settings = _settings()
    try:
        result = send_file(settings, file, subject)
    except (CamtelError, OSError) as exc:
        err.print(f"[red]cannot send:[/red] {getattr(exc, 'detail', exc)}")
        raise typer.Exit(1) from None
    console.print(
        f"news queued for [bold]{result['queued']}[/bold] opted-in accounts, "
        f"{result['delivered']} delivered now"
    )


@breach_app.command("notify")
def breach_notify(breach_id: Annotated[str, typer.Argument(help="The breach's id.")]) -> None:
    """Tell every person affected by a breach, once."""
    import camtel.schema  # noqa: F401  every model, for the privacy engine
    from camtel.errors import CamtelError
    from camtel.privacy.breaches import notify_breach

    settings = _settings()
    try:
        result = notify_breach(settings, breach_id)
    except CamtelError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from None
    console.print(
        f"{result['notified']} people told now, {result['already_told']} before, "
        f"{result['affected']} affected"
    )


@privacy_app.command("ropa")
def privacy_ropa(
    fmt: Annotated[str, typer.Option("--format", help="markdown or json")] = "markdown",
) -> None:
    """Print the record of processing activities (GDPR Art. 30) from the registry."""
    import camtel.schema  # noqa: F401  every model, for the privacy engine
    from camtel.privacy import ropa

    if fmt not in ("markdown", "json"):
        err.print("[red]--format is markdown or json[/red]")
        raise typer.Exit(2)
    print(ropa.as_json() if fmt == "json" else ropa.as_markdown())


async def _query(query: Select[T]) -> list[T]:
    from camtel.db.engine import Database
    from camtel.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.sqlalchemy_url)
    database = Database(settings.sqlalchemy_url)
    try:
        async with database.session() as db:
            return list(await db.scalars(query))
    finally:
        await database.dispose()


def main() -> None:
    app()
