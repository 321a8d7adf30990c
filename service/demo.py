"""Demo partners for `make run`: one pharmacy, one field service, one prevention service, one DPO office.

Development only. The organisations are created once; each run revokes the previous demo tokens
and prints new ones, since tokens are stored only as hashes and cannot be shown again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.devices.services import issue_code
from service.partners.models import Organisation
from service.partners.services import OrganisationKind, add_organisation, issue_credential, revoke
from service.signals.services import set_territory

DEMO_LABEL = "demo"
DEMO_DEVICE_LABEL = "demo tablet"
DEMO_ORGANISATIONS = (
    (OrganisationKind.PHARMACY, "Demo: Apotheek De Linde", "PHARMACY_TOKEN"),
    (OrganisationKind.FIELD_SERVICE, "Demo: Straathoekwerk Mechelen", None),
    (OrganisationKind.PREVENTION_SERVICE, "Demo: Preventiedienst Mechelen", "ANALYST_TOKEN"),
    (OrganisationKind.DPO_OFFICE, "Demo: DPO stad Mechelen", "DPO_TOKEN"),
)


def setup_demo(session: Session, state, now: dt.datetime) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Create or refresh the demo partners; yield the lines to print."""
    areas = state.intake.areas.areas()
    pharmacy_area = areas[len(areas) // 2].code
    lines = ["# demo partners (development only); paste these lines into your shell:"]
    for kind, name, variable in DEMO_ORGANISATIONS:
        organisation = session.scalars(select(Organisation).where(Organisation.name == name)).first()
        if organisation is None:
            organisation = add_organisation(
                session, kind=kind, name=name, area=pharmacy_area if kind is OrganisationKind.PHARMACY else None, now=now
            )
        for credential in organisation.credentials:
            # Only what earlier demo runs issued: tokens an operator made by hand stay valid.
            if credential.revoked_at is None and credential.label in (DEMO_LABEL, DEMO_DEVICE_LABEL):
                revoke(session, credential.id, now=now, actor="demo")
        if kind is OrganisationKind.PREVENTION_SERVICE:
            set_territory(session, state.signals, organisation, list(state.signals.grids))
        if variable is not None:
            _, token = issue_credential(session, organisation, label=DEMO_LABEL, now=now, actor="demo")
            lines.append(f"export {variable}={token}")
        else:
            _, code = issue_code(
                session, state.pseudonyms, organisation.id, label=DEMO_DEVICE_LABEL, now=now, ttl=dt.timedelta(hours=24)
            )
            lines.append(f"export ENROLL_CODE={code}")
    session.commit()
    return iter(lines)
