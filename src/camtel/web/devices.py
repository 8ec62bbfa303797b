"""The devices page: the list, adding a device with set-up instructions for its protocol, and
(for operators) claiming devices that called in before anyone registered them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from camtel.accounts import organizations
from camtel.accounts.roles import can_manage_devices
from camtel.config import Settings
from camtel.web.pages import PageServices, SignedIn, app_page

router = APIRouter(include_in_schema=False)

LOOPBACK = {"localhost", "127.0.0.1", "::1"}
MQTT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883}


def server_host(public_url: str, request_host: str | None) -> str:
    """The host name devices are told to reach: that of the address people use (the public
    URL when set, else the one this page was asked for)."""
    host = urlsplit(public_url).hostname if public_url else None
    return host or request_host or "127.0.0.1"


def mqtt_broker(mqtt_url: str, host: str) -> str | None:
    """Where devices publish: the broker's host and port, never its credentials; a broker on
    camtel's own loopback is reached through the server's host. None when MQTT is off."""
    if not mqtt_url:
        return None
    parts = urlsplit(mqtt_url)
    broker = parts.hostname or host
    if broker in LOOPBACK:
        broker = host
    port = parts.port or MQTT_PORTS.get(parts.scheme, 1883)
    return f"{broker}:{port}"


def gateways(settings: Settings, request_host: str | None) -> dict[str, Any]:
    """What the set-up instructions tell a device: the address and each gateway's port
    (0: that gateway is off on this server)."""
    host = server_host(settings.public_url, request_host)
    return {
        "host": host,
        "jt808": settings.jt808_port,
        "teltonika": settings.teltonika_port,
        "osmand": settings.osmand_port,
        "mqtt": {"broker": mqtt_broker(settings.mqtt_url, host), "topic": settings.mqtt_topic},
    }


@router.get("/app/devices")
async def devices_page(request: Request, services: PageServices, caller: SignedIn) -> HTMLResponse:
    async with services.database.session() as db:
        memberships = await organizations.list_for(db, caller=caller)
    # Oldest first (as listed): the first is where the API puts a device named to none.
    managed = [
        {"id": str(org.id), "name": org.name}
        for org, role in memberships
        if can_manage_devices(role)
    ]
    return app_page(
        request,
        services,
        caller,
        "devices.html",
        scripts=("devices.js",),
        may_add=bool(managed),
        operator=caller.user.is_admin,
        page_data={
            "gateways": gateways(services.settings, request.url.hostname),
            "organizations": managed,
            "roles": {str(org): str(role) for org, role in caller.roles.items()},
            "operator": caller.user.is_admin,
        },
    )
