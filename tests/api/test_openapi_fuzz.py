"""Schemathesis against `/openapi.json`: requests generated from the API's own schema, valid
and not, to every operation, as a verified owner with a device; no answer may be a 5xx, and
every answer must match what the schema says of it (status, content type, body).

One example budget for CI (`CAMTEL_OPENAPI_EXAMPLES`, 6 per operation by default); raise it
to look harder. Runs on SQLite in this process through the ASGI app (no server, no network).
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from sqlalchemy import select  # noqa: E402

from camtel.accounts.models import Membership  # noqa: E402
from camtel.accounts.service import create_account  # noqa: E402
from camtel.accounts.tokens import open_session  # noqa: E402
from camtel.app import build_api  # noqa: E402
from camtel.config import Settings  # noqa: E402
from camtel.db import migrate  # noqa: E402
from camtel.devices.models import Device  # noqa: E402
from camtel.services import Services  # noqa: E402

#: No 5xx; status, content type and body as documented. (Whether every schema-valid request
#: is accepted is stricter than the schema can say: it does not spell out, say, that an
#: email needs an @-sign.)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
EXAMPLES = int(os.environ.get("CAMTEL_OPENAPI_EXAMPLES", "6"))
PASSWORD = "a long and private passphrase"


def _world(tmp: Path) -> tuple[Services, str]:
    """A migrated SQLite database with an owner, their organisation and a device; the
    owner's API token."""
    made = Settings(data_dir=tmp / "data", cookie_secure=True, webhook_allow_private=False)
    made.data_dir.mkdir(parents=True)
    migrate.upgrade(made.sqlalchemy_url)

    async def seed() -> str:
        services = Services.build(made)
        now = datetime.now(UTC)
        try:
            async with services.database.session() as db:
                user = await create_account(
                    db,
                    email="owner@example.com",
                    phone="+4915123456789",
                    password=PASSWORD,
                    min_length=8,
                    now=now,
                    verified=True,
                )
                org = await db.scalar(
                    select(Membership.organization_id).where(Membership.user_id == user.id)
                )
                db.add(Device(organization_id=org, name="Van", unique_id="4711", protocol="osmand"))
                token, _ = await open_session(
                    db, user=user, kind="api", ttl=timedelta(hours=2), now=now
                )
            return token
        finally:
            await services.database.dispose()

    token = asyncio.run(seed())
    return Services.build(made), token


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    services, token = _world(tmp_path_factory.mktemp("openapi"))
    app = build_api(services, chores=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield schema, {"Authorization": f"Bearer {token}"}


def test_no_operation_answers_5xx_or_off_its_schema(api):  # type: ignore[no-untyped-def]
    schema, headers = api
    signed_in = schema["/api/v1/devices"]["GET"].Case().call(headers=headers)
    assert signed_in.status_code == 200 and len(signed_in.json()) == 1, "the calls are signed in"
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50, "every operation of /api/v1 is in the schema"
    for operation in operations:
        strategy = operation.as_strategy()

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def one(case):  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            one()
        except Exception as problem:
            failures.append(f"{operation.label}: {str(problem)[:600]}")
    assert not failures, "\n\n".join(failures)
