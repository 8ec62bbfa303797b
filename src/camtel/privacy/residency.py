"""Data residency (P13): the configured storage region, and a check at start that neither the
database nor the media store quietly puts data somewhere else."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qs, unquote, urlsplit

_DIRECTIONS = "north|south|east|west|central|northeast|northwest|southeast|southwest"
_AWS = rf"(?:af|ap|ca|cn|eu|il|me|mx|sa|us)(?:-gov|-iso[a-z]?)?-(?:{_DIRECTIONS})-\d+"
_GCP = rf"(?:africa|asia|australia|europe|me|northamerica|southamerica|us)-(?:{_DIRECTIONS})\d+"
# Azure's region names are single words, told apart from other words in a host only by a list.
_AZURE = (
    "australiacentral|australiacentral2|australiaeast|australiasoutheast|austriaeast|"
    "belgiumcentral|brazilsouth|brazilsoutheast|canadacentral|canadaeast|centralindia|"
    "centralus|chilecentral|eastasia|eastus|eastus2|francecentral|francesouth|germanynorth|"
    "germanywestcentral|indonesiacentral|israelcentral|italynorth|japaneast|japanwest|"
    "koreacentral|koreasouth|malaysiawest|mexicocentral|newzealandnorth|northcentralus|"
    "northeurope|norwayeast|norwaywest|polandcentral|qatarcentral|southafricanorth|"
    "southafricawest|southcentralus|southeastasia|southindia|spaincentral|swedencentral|"
    "swedensouth|switzerlandnorth|switzerlandwest|uaecentral|uaenorth|uksouth|ukwest|"
    "westcentralus|westeurope|westindia|westus|westus2|westus3"
)
#: A cloud region's name as AWS (eu-central-1), Google Cloud (europe-west3) or Azure
#: (germanywestcentral) put it in host names, standing alone between dots or dashes.
REGION = re.compile(rf"(?<![a-z0-9])({_AWS}|{_GCP}|{_AZURE})(?![a-z0-9])")


def residency_problems(
    *, region: str, database_url: str, media_url: str, s3_endpoint: str
) -> list[str]:
    """Why the database or the media store contradicts the declared region (empty: none).

    `region` is `CAMTEL_STORAGE_REGION`; the others are the settings of the same names. A place
    is checked by the region named in its host (or bucket); one that names none (a self-hosted
    server, a MinIO) cannot be checked and is accepted, and the local disk, loopback, private
    addresses and unix sockets are here. Each problem names its setting and no host or password.
    """
    declared = set(REGION.findall(region.lower()))
    places = [("CAMTEL_DATABASE_URL", "database host", h) for h in database_hosts(database_url)]
    if media_url.startswith("s3://"):
        bucket = media_url.removeprefix("s3://").split("/", 1)[0]
        places.append(("CAMTEL_MEDIA_URL", "media bucket", bucket))
        if s3_endpoint:
            places.append(("CAMTEL_MEDIA_S3_ENDPOINT", "media endpoint", _host_of(s3_endpoint)))
    problems = []
    for setting, what, host in places:
        for named in _regions_of(host):
            if named in declared:
                continue
            expected = (
                f"not {' or '.join(sorted(declared))} as CAMTEL_STORAGE_REGION declares"
                if declared
                else f"but CAMTEL_STORAGE_REGION ({region!r}) names no region"
            )
            # The host is left out: parsed from a URL with a password, it could hold a piece.
            problems.append(f"{setting}: the {what} names the region {named}, {expected}")
    return list(dict.fromkeys(problems))  # two hosts of one URL in one region: said once


def database_hosts(url: str) -> list[str]:
    """The hosts a database URL connects to: none for SQLite (a file in the data directory);
    for PostgreSQL each host of the URL, also a list (`h1,h2`) and a `?host=` parameter, with
    a socket directory as its path."""
    if not url or url.startswith("sqlite"):
        return []
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed URL: the database refuses it when migrations connect
        return []
    hosts = [
        item[1 : item.find("]")] if item.startswith("[") else item.split(":")[0]
        for item in parts.netloc.rpartition("@")[2].split(",")
    ]
    for value in parse_qs(parts.query).get("host", []):
        hosts.extend(value.split(","))
    return [unquote(host) for host in hosts]


def _host_of(endpoint: str) -> str:
    """The host of an endpoint given as a URL or as a bare host."""
    try:
        return urlsplit(endpoint if "://" in endpoint else f"//{endpoint}").hostname or ""
    except ValueError:
        return endpoint


def _regions_of(host: str) -> list[str]:
    """The cloud regions a host names; none for a place that is here."""
    host = host.strip().lower()
    if not host or host.startswith("/") or host == "localhost" or host.endswith(".localhost"):
        return []  # a unix socket or this machine
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return REGION.findall(host)
    return []  # an address names no region: a private one is here, a public one unknowable
