"""The contact form's two topics: privacy goes to the data-protection officer, sales to sales
(or the operator); the topic is kept in the stored subject, with no column of its own; bad
input answers 422 naming the field."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from camtel.mail.models import OutboxMail
from camtel.privacy import contact
from camtel.privacy.models import ContactMessage
from helpers.accounts import sign_up
from helpers.privacy import make_operator, privacy_client

MESSAGE = {"email": "kim@example.com", "subject": "Ten cameras", "message": "What would it cost?"}


@pytest.fixture
async def http(services):  # type: ignore[no-untyped-def]
    services.settings = services.settings.model_copy(
        update={"dpo_email": "dpo@camtel.example", "operator_email": "hello@camtel.example"}
    )
    async with privacy_client(services) as client:
        yield client


async def _stored(services) -> list[ContactMessage]:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        return list(await db.scalars(select(ContactMessage).order_by(ContactMessage.created_at)))


async def _mail_to(services, address: str) -> list[OutboxMail]:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        return list(await db.scalars(select(OutboxMail).where(OutboxMail.to_address == address)))


async def test_sales_goes_to_the_operator_and_privacy_to_the_dpo(http, services):
    sales = await http.post("/api/v1/contact", json=MESSAGE | {"topic": "sales"})
    assert sales.status_code == 202, sales.text
    privacy = await http.post("/api/v1/contact", json=MESSAGE | {"subject": "My data"})
    assert privacy.status_code == 202, privacy.text

    first, second = await _stored(services)
    assert (first.subject, contact.topic_of(first.subject)) == ("[sales] Ten cameras", "sales")
    assert (second.subject, contact.topic_of(second.subject)) == ("My data", "privacy")
    to_sales = await _mail_to(services, "hello@camtel.example")
    assert [m.subject for m in to_sales] == ["[camtel sales contact] Ten cameras"]
    to_dpo = await _mail_to(services, "dpo@camtel.example")
    assert [m.subject for m in to_dpo] == ["[camtel privacy contact] My data"]

    # Operators see which is which.
    operator, operator_id = await sign_up(http, services, "op@example.com")
    await make_operator(services, operator_id)
    listed = await http.get("/api/v1/privacy/contact-messages", headers=operator)
    assert sorted((m["subject"], m["topic"]) for m in listed.json()) == [
        ("My data", "privacy"),
        ("[sales] Ten cameras", "sales"),
    ]

    # A sales address of its own wins over the operator's.
    services.settings = services.settings.model_copy(update={"sales_email": "sales@camtel.example"})
    await http.post("/api/v1/contact", json=MESSAGE | {"topic": "sales"})
    assert len(await _mail_to(services, "sales@camtel.example")) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": ""}, "email"),
        ({"email": "not an address"}, "email"),
        ({"message": "x" * (contact.MAX_MESSAGE + 1)}, "message"),
        ({"subject": ""}, "subject"),
        ({"topic": "billing"}, "topic"),
        ({"topic": "sales", "subject": "s" * 195}, "subject"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(http, services, change, field):
    answer = await http.post("/api/v1/contact", json=MESSAGE | change)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    named = problem.get("field") or problem["errors"][0]["location"][-1]
    assert named == field
    assert await _stored(services) == []


async def test_the_longest_message_is_taken(http, services):
    longest = MESSAGE | {"message": "x" * contact.MAX_MESSAGE}
    answer = await http.post("/api/v1/contact", json=longest)
    assert answer.status_code == 202, answer.text


def test_topics_are_read_back_from_the_subject():
    for topic in contact.Topic:
        stored = contact.stored_subject(topic, "Hello")
        assert contact.topic_of(stored) is topic
    assert contact.recipient("sales", dpo_email="d", sales_email="s") == "s"
    assert contact.recipient("privacy", dpo_email="d", sales_email="s") == "d"
