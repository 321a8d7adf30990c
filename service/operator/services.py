"""What the operator's pages do that takes more than one service call: the same calls, in the same
order, as the `safesignal` command that does it, so the pages leave the same rows and the same
audit entries (only the actor differs: the person, not "cli"). No Flask here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from service.partners.models import Organisation
from service.partners.services import OrganisationKind, add_organisation, issue_credential
from service.signals.services import set_territory


def register(
    session: Session, *, kind: OrganisationKind, name: str, area: str | None, municipalities: Sequence[str],
    label: str, now: dt.datetime, signals: Any, audit: Callable[..., int], actor: str,
) -> tuple[Organisation, str | None]:
    """`safesignal partners add`: the organisation, its territory if given, and its first token
    (none for a field service, whose devices enroll with codes). PartnerError and BadTerritory as
    the functions called raise them; the caller rolls back."""
    organisation = add_organisation(session, kind=kind, name=name, area=area, now=now)
    if municipalities:
        set_territory(session, signals, organisation, municipalities, audit, actor)
    token = None
    if kind is not OrganisationKind.FIELD_SERVICE:
        _, token = issue_credential(session, organisation, label=label, now=now, actor=actor)
    return organisation, token
