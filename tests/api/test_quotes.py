"""Quotes and saved quotes (leads) over the API, on both engines: the same figures as the
pricing function, 422 problems that name their field, a lead kept with its consent and mailed,
exported and erased with its person, swept after 12 months, listed for operators only."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from camtel.mail.models import OutboxMail
from camtel.privacy.retention import sweep
from camtel.sales import catalogue
from camtel.sales.models import Lead
from camtel.sales.pricing import QuoteRequest, quote
from helpers.accounts import sign_up
from helpers.privacy import make_operator

LEAD = {
    "name": "Ana Fleet",
    "email": "Ana@Example.com",
    "company": '=HYPERLINK("http://evil")',
    "phone": "+49 151 2345678",
    "consent": True,
    "quote": {"mode": "rent", "devices": 12, "months": 24, "options": ["installation"]},
}


async def test_buy_and_rent_are_priced_like_the_pricing_function(client):
    table = catalogue.load()
    for body in (
        {"mode": "buy", "devices": 55, "options": ["lte", "sd_128"]},
        {"mode": "rent", "devices": 12, "months": 24, "options": ["extra_camera"]},
        {"mode": "buy", "devices": 10_000},
        {"mode": "rent", "devices": 1, "months": 36},
    ):
        answer = await client.post("/api/v1/quotes", json=body)
        assert answer.status_code == 200, answer.text
        got = answer.json()
        assert got == quote(table, QuoteRequest.model_validate(body)).as_json()
        assert got["currency"] == "EUR" and got["vat_percent"] == "19"
        assert all(isinstance(got[k], str) for k in ("total", "net", "vat"))
        assert ("monthly" in got) == (body["mode"] == "rent" or "lte" in body.get("options", []))
    options = (await client.get("/api/v1/quotes/options")).json()
    assert options["lease_months"] == [12, 24, 36]
    assert {o["name"] for o in options["options"]} >= {"lte", "extra_camera", "sd_256"}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"mode": "buy", "devices": 0}, "devices", "1 to 10,000"),
        ({"mode": "buy", "devices": 10_000_000}, "devices", "1 to 10,000"),
        ({"mode": "buy", "devices": "twelve"}, "devices", "whole number"),
        ({"mode": "rent", "devices": 5, "months": -1}, "months", "whole number"),
        ({"mode": "rent", "devices": 5, "months": "long"}, "months", "whole number"),
        ({"mode": "rent", "devices": 5, "months": 18}, "months", "12, 24, 36"),
        ({"mode": "buy", "devices": 5, "options": ["lte", "jetpack"]}, "options", "jetpack"),
        ({"mode": "buy", "devices": 5, "extra": 1}, "extra", "Extra inputs"),
    ],
)
async def test_bad_requests_are_422_problems_naming_the_field(client, body, field, words):
    answer = await client.post("/api/v1/quotes", json=body)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert problem["type"].endswith("/invalid") and words in problem["detail"]
    named = problem.get("field") or problem["errors"][0]["location"][-1]
    assert named == field


async def test_a_lead_is_kept_with_its_consent_and_the_quote_mailed(client, services):
    refused = await client.post("/api/v1/leads", json={**LEAD, "consent": False})
    assert refused.status_code == 422 and refused.json()["errors"][0]["location"][-1] == "consent"
    anonymous_news = await client.post("/api/v1/leads", json={**LEAD, "marketing": True})
    assert anonymous_news.status_code == 422 and anonymous_news.json()["field"] == "marketing"

    answer = await client.post("/api/v1/leads", json={**LEAD, "language": "de"})
    assert answer.status_code == 201, answer.text
    saved = answer.json()
    assert saved["mailed_to"] == "ana@example.com"
    assert saved["quote"] == (await client.post("/api/v1/quotes", json=LEAD["quote"])).json()
    async with services.database.session() as db:
        lead = await db.scalar(select(Lead))
        mail = await db.scalar(select(OutboxMail).where(OutboxMail.to_address == "ana@example.com"))
    assert lead is not None and lead.user_id is None and lead.language == "de"
    assert lead.consent_version == "quote-contact-1" and "12 Monate" in lead.consent_text
    assert lead.expires_at - lead.created_at == timedelta(days=365)
    assert lead.quote["total"] == saved["quote"]["total"]
    assert mail is not None and mail.subject == "Your camtel quote" and mail.html
    total = f"{float(saved['quote']['total']):,.2f} EUR"
    assert total in mail.body and total in mail.html
    assert "/pricing/saved?token=" in mail.body


async def test_a_lead_is_exported_and_erased_with_its_person_and_swept_later(client, services):
    headers, user_id = await sign_up(client, services, "ana@example.com")
    assert (await client.post("/api/v1/leads", json=LEAD)).status_code == 201
    other = {**LEAD, "email": "someone@example.com"}
    assert (await client.post("/api/v1/leads", json=other)).status_code == 201

    export = await client.get("/api/v1/me/export", headers=headers)
    archive = zipfile.ZipFile(io.BytesIO(export.content))
    rows = json.loads(archive.read("data/leads.json"))
    assert [row["email"] for row in rows] == ["ana@example.com"], "linked by the account's address"
    assert rows[0]["user_id"] == user_id and "token_hash" not in rows[0], "the link stays secret"

    assert (await client.delete("/api/v1/me", headers=headers)).status_code == 200
    async with services.database.session() as db:
        left = list(await db.scalars(select(Lead.email)))
    assert left == ["someone@example.com"]

    async with services.database.session() as db:
        counts = await sweep(db, now=services.clock() + timedelta(days=366))
    assert counts.get("leads") == 1
    async with services.database.session() as db:
        assert list(await db.scalars(select(Lead))) == []


async def test_operators_list_leads_as_json_and_csv(client, services):
    headers, user_id = await sign_up(client, services, "op@example.com")
    for n in range(3):
        body = {**LEAD, "email": f"lead{n}@example.com"}
        assert (await client.post("/api/v1/leads", json=body)).status_code == 201
    assert (await client.get("/api/v1/sales/leads", headers=headers)).status_code == 403
    assert (await client.get("/api/v1/sales/leads")).status_code == 401
    await make_operator(services, user_id)

    first = await client.get("/api/v1/sales/leads", params={"limit": 2}, headers=headers)
    assert first.status_code == 200 and len(first.json()) == 2
    assert [r["email"] for r in first.json()] == ["lead2@example.com", "lead1@example.com"]
    following = first.headers["link"].split("<", 1)[1].split(">", 1)[0]
    rest = await client.get(following, headers=headers)
    assert [r["email"] for r in rest.json()] == ["lead0@example.com"] and "link" not in rest.headers

    sheet = await client.get("/api/v1/sales/leads", params={"format": "csv"}, headers=headers)
    assert sheet.headers["content-type"].startswith("text/csv")
    assert "attachment" in sheet.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(sheet.text)))
    assert len(table) == 3 and table[0]["devices"] == "12" and table[0]["mode"] == "rent"
    assert table[0]["company"].startswith("'="), "a formula is defused for spreadsheets"
    assert table[0]["phone"].startswith("'+")


async def test_a_signed_in_person_may_also_ask_for_product_news(client, services):
    headers, user_id = await sign_up(client, services, "ana@example.com")
    body = {**LEAD, "marketing": True}
    assert (await client.post("/api/v1/leads", json=body, headers=headers)).status_code == 201
    consents = (await client.get("/api/v1/me/consents", headers=headers)).json()
    assert consents["purposes"]["marketing_email"]["allowed"] is True
    news = [c for c in consents["history"] if c["purpose"] == "marketing_email"]
    assert [(c["outcome"], c["channel"]) for c in news] == [("given", "api")]
    async with services.database.session() as db:
        lead = await db.scalar(select(Lead))
    assert lead is not None and str(lead.user_id) == user_id
    # An ended sign-in is not a refusal: the form is for everybody.
    stale = {"Authorization": "Bearer not-a-token"}
    assert (await client.post("/api/v1/leads", json=LEAD, headers=stale)).status_code == 201
