"""The documents that describe the code say what the code does: every route of the API is in
`docs/api.md` and the document names none the app lacks, and the processing table of
`docs/privacy.md` is the personal-data registry's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Match

from camtel.app import build_api
from camtel.privacy.registry import REGISTRY
from camtel.services import Services

DOCS = Path(__file__).resolve().parent.parent / "docs"
API_PREFIX = "/api/v1"
METHOD = r"(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)"
# `GET /x`, `GET`/`HEAD /x`, `GET/PATCH/DELETE /x` (the code span may wrap onto the next line)
MENTION = re.compile(rf"\b({METHOD}(?:`?/`?{METHOD})*)`?\s+`?(/[\w\-./{{}}]*)")
# `GET /media/{id}/track.geojson`, `/track.gpx`: a sibling of the path just named
SIBLING = re.compile(r"`?,\s*`(/[\w\-.{}]+)`")
PARAMETER = re.compile(r"\{[^}]*\}")
SOME_ID = "00000000-0000-0000-0000-000000000001"

# The routes do not depend on the database: the app is built once, on SQLite.
ON_SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@dataclass(frozen=True)
class Mention:
    """One route named in the document: where, as written, and how it may be read."""

    line: int
    method: str
    written: str
    candidates: tuple[str, ...]  # full paths it may mean, the section's reading first


def _shape(path: str) -> str:
    """A path template with its parameters unnamed: `/devices/{id}` is `/devices/{device_id}`."""
    return PARAMETER.sub("{}", path)


def _candidates(prefix: str, path: str) -> tuple[str, ...]:
    if not path.endswith("..."):
        path = path.rstrip(".")  # the end of a sentence
    if path.startswith(API_PREFIX + "/") or path == API_PREFIX:
        return (path,)
    return tuple(dict.fromkeys((prefix + path, API_PREFIX + path, path)))


def routes_named_in(markdown: str) -> list[Mention]:
    """Every `METHOD /path` of the document outside code blocks and "Not yet".

    Under a heading naming a prefix (`### Authentication (`/api/v1/auth`)`) a relative path
    is first read under it, then under `/api/v1`, then as written (pages, `/healthz`)."""
    found: list[Mention] = []
    prefix, skipping, fenced = API_PREFIX, False, False
    section: list[tuple[int, str]] = []

    def flush() -> None:
        if skipping or not section:
            return
        text = "\n".join(line for _, line in section)

        def line_of(offset: int) -> int:
            return section[text.count("\n", 0, offset)][0]

        for match in MENTION.finditer(text):
            methods = [m for m in re.split(r"[`/]+", match.group(1)) if m]
            paths = [match.group(2)]
            rest = match.end()
            while sibling := SIBLING.match(text, rest):
                paths.append(paths[0].rsplit("/", 1)[0] + sibling.group(1))
                rest = sibling.end()
            for path in paths:
                for method in methods:
                    found.append(
                        Mention(
                            line_of(match.start()),
                            method,
                            f"{method} {path}",
                            _candidates(prefix, path),
                        )
                    )

    for number, line in enumerate(markdown.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        heading = re.match(r"(#+)\s+(.*)", line)
        if heading:
            flush()
            section = []
            title = heading.group(2)
            if len(heading.group(1)) <= 2:
                skipping = title.strip().lower() == "not yet"
            named = re.search(r"`(/api/v1[^`\s]*)`", title)
            prefix = named.group(1).rstrip("/") if named else API_PREFIX
        section.append((number, line))
    flush()
    return found


def _routed(app: FastAPI, method: str, path: str) -> bool:
    """Whether the app has a route for this request (pages and the WebSocket included)."""
    concrete = PARAMETER.sub(SOME_ID, path).replace("...", "x")
    scopes = [{"type": "http", "method": method}]
    if method == "GET":
        scopes.append({"type": "websocket"})
    for extra in scopes:
        scope = {"path": concrete, "root_path": "", "query_string": b"", "headers": [], **extra}
        if any(route.matches(scope)[0] == Match.FULL for route in app.routes):
            return True
    return False


@pytest.fixture
def app(services: Services) -> FastAPI:
    return build_api(services)


@pytest.fixture
async def openapi(app: FastAPI) -> dict[str, Any]:
    """What the app serves at /openapi.json."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        answer = await http.get("/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def test_the_parser_reads_the_forms_the_document_uses() -> None:
    sample = """### Authentication (`/api/v1/auth`)

| `POST /token` | x |
| `GET /verify?token=T` | `GET /me` gives it |

### Media (auth)

| `GET`/`HEAD /media/{id}/content` | `POST /me/consents/{p}/give`, `/withdraw` |
`GET /api/v1/geofences` (paginated), `GET/PATCH/DELETE
/api/v1/geofences/{id}`. Each delivery is a `POST` of the event; GET, HEAD and OPTIONS

```sh
curl -X POST /api/v1/nothing
```

### Outside `/api/v1`

- `GET /openapi.json`, `/docs`, `GET /static/...` (cached)

## Not yet

- `POST /devices/{id}/commands`
"""
    named = [(m.line, m.written, m.candidates[0]) for m in routes_named_in(sample)]
    assert named == [
        (3, "POST /token", "/api/v1/auth/token"),
        (4, "GET /verify", "/api/v1/auth/verify"),
        (4, "GET /me", "/api/v1/auth/me"),
        (8, "GET /media/{id}/content", "/api/v1/media/{id}/content"),
        (8, "HEAD /media/{id}/content", "/api/v1/media/{id}/content"),
        (8, "POST /me/consents/{p}/give", "/api/v1/me/consents/{p}/give"),
        (8, "POST /me/consents/{p}/withdraw", "/api/v1/me/consents/{p}/withdraw"),
        (9, "GET /api/v1/geofences", "/api/v1/geofences"),
        (9, "GET /api/v1/geofences/{id}", "/api/v1/geofences/{id}"),
        (9, "PATCH /api/v1/geofences/{id}", "/api/v1/geofences/{id}"),
        (9, "DELETE /api/v1/geofences/{id}", "/api/v1/geofences/{id}"),
        (18, "GET /openapi.json", "/api/v1/openapi.json"),
        (18, "GET /docs", "/api/v1/docs"),
        (18, "GET /static/...", "/api/v1/static/..."),
    ]
    assert routes_named_in(sample)[2].candidates == ("/api/v1/auth/me", "/api/v1/me", "/me")


@ON_SQLITE
async def test_api_md_lists_exactly_the_routes_of_the_app(
    app: FastAPI, openapi: dict[str, Any]
) -> None:
    mentions = routes_named_in((DOCS / "api.md").read_text())
    assert len(mentions) > 100, "the parser found almost no routes in docs/api.md"

    in_app = {
        (method.upper(), _shape(path))
        for path, operations in openapi["paths"].items()
        for method in operations
        if method.upper() in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
    }
    assert len(in_app) > 100

    documented: set[tuple[str, str]] = set()
    unknown: list[str] = []
    for mention in mentions:
        # a route of the schema by its shape first (`/me/invitations` is not the
        # organisation "me"), else any route the app has: pages, the WebSocket, /docs
        meant = next(
            (p for p in mention.candidates if (mention.method, _shape(p)) in in_app), None
        ) or next((p for p in mention.candidates if _routed(app, mention.method, p)), None)
        if meant is None:
            unknown.append(f"docs/api.md:{mention.line}: {mention.written}")
        else:
            documented.add((mention.method, _shape(meant)))

    missing = sorted(
        f"{method} {path}"
        for path, operations in openapi["paths"].items()
        for method in (m.upper() for m in operations)
        if (method, _shape(path)) in in_app - documented
    )
    problems = []
    if missing:
        problems += ["routes of /openapi.json missing from docs/api.md:", *missing]
    if unknown:
        problems += ["routes in docs/api.md the app does not have:", *unknown]
    assert problems == [], "\n".join(problems)


# The processing table of docs/privacy.md


def _table_rows(markdown: str, header: str) -> list[list[str]]:
    lines = markdown.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == header]
    assert len(starts) == 1, f"expected one table headed {header!r}, found {len(starts)}"
    rows = []
    for line in lines[starts[0] + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def _retention_text(table: str) -> str:
    """The registry's retention, with the sweeper's rules as `camtel privacy ropa` writes them."""
    entry = REGISTRY[table]
    swept = ", ".join(f"{r.days} days" if r.days else "at expiry" for r in entry.sweep)
    return entry.retention + (f" (swept: {swept})" if swept else "")


def test_privacy_md_processing_table_is_the_registry() -> None:
    header = "| table | purpose | categories | retention | export | erasure |"
    rows = _table_rows((DOCS / "privacy.md").read_text(), header)
    assert all(len(row) == 6 for row in rows), [row for row in rows if len(row) != 6]

    names = [row[0].strip("`") for row in rows]
    twice = sorted({name for name in names if names.count(name) > 1})
    assert twice == [], f"tables listed more than once in docs/privacy.md: {twice}"
    extra = sorted(set(names) - set(REGISTRY))
    assert extra == [], f"tables in docs/privacy.md that the registry does not have: {extra}"
    absent = sorted(set(REGISTRY) - set(names))
    assert absent == [], f"registered tables missing from docs/privacy.md: {absent}"

    differences = []
    for table, purpose, categories, retention, export, erasure in rows:
        entry = REGISTRY[table.strip("`")]
        expected = {
            "purpose": entry.purpose,
            "categories": sorted(str(c) for c in entry.categories),
            "retention": _retention_text(entry.table),
            "export": "yes" if entry.export else "no",
            "erasure": str(entry.erasure),
        }
        written = {
            "purpose": purpose,
            "categories": sorted(c.strip() for c in categories.split(",")),
            "retention": retention,
            "export": export,
            "erasure": erasure,
        }
        for column, value in expected.items():
            if written[column] != value:
                differences.append(
                    f"{entry.table}.{column}: doc {written[column]!r}, code {value!r}"
                )
    assert differences == [], (
        "docs/privacy.md differs from the registry (regenerate the table with "
        "`camtel privacy ropa`):\n" + "\n".join(differences)
    )
