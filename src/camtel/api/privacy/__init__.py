"""Privacy for signed-in people: consents, who read their data, policy acceptance, guardians;
and for operators, policy publication, the disclosure and breach registers, DPO messages and
usage statistics. One module per resource; `router` holds them all, in this order.

Consent records have no update or delete route: a decision is changed by recording a new one.
A decision that changes what may be collected about a person (their objection to sharing
their location with their organisation, a guardian's decisions, the start of an erasure) is
committed, then every gateway cache is told about each device tracking them: it applies to
the very next message, not after the cache expires (`consents.collection_changed`).
(Accepting a policy changes no collection: nothing is gated on it.)
"""

from __future__ import annotations

from fastapi import APIRouter

from camtel.api.privacy import (
    access_audit,
    breaches,
    consents,
    disclosures,
    guardians,
    operators,
    policies,
)

router = APIRouter(tags=["privacy"])
for _module in (consents, access_audit, policies, guardians, disclosures, breaches, operators):
    router.include_router(_module.router)
