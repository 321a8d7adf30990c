"""Issue, list, revoke and check API credentials.

Token format: `ss_` + the credential id (32 hex digits) + 43 characters of base64url secret
(32 random bytes). The id lets us find the row without scanning; only SHA-256 of the whole token
is stored, so a database dump holds no usable token. SHA-256 rather than a slow password hash is
right here because the secret is 256 random bits, not something a person chose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from service.audit import log as audit_log
from service.partners.models import Credential, Organisation

TOKEN_PREFIX = "ss_"
TOKEN_LENGTH = len(TOKEN_PREFIX) + 32 + 43


class Role(StrEnum):
    PHARMACY = "pharmacy"
    FIELD_DEVICE = "field_device"
    ANALYST = "analyst"
    DPO = "dpo"
    ADMIN = "admin"


class OrganisationKind(StrEnum):
    PHARMACY = "pharmacy"
    FIELD_SERVICE = "field_service"
    PREVENTION_SERVICE = "prevention_service"
    DPO_OFFICE = "dpo_office"
    OPERATOR = "operator"


# The one role each kind of organisation holds. Field services get their device credentials
# through enrollment codes (service.devices), not from `partners add`.
ROLE_OF_KIND = {
    OrganisationKind.PHARMACY: Role.PHARMACY,
    OrganisationKind.FIELD_SERVICE: Role.FIELD_DEVICE,
    OrganisationKind.PREVENTION_SERVICE: Role.ANALYST,
    OrganisationKind.DPO_OFFICE: Role.DPO,
    OrganisationKind.OPERATOR: Role.ADMIN,
}


class PartnerError(Exception):
    """A partner operation that cannot be done; the message says why."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: what a view may know of an authenticated credential."""

    credential_id: uuid.UUID
    organisation_id: uuid.UUID
    role: Role
    area: str | None


def hash_token(token: str) -> bytes:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).digest()


def new_token(credential_id: uuid.UUID) -> str:
    """A fresh token for a credential id (shown once, never stored)."""
    return TOKEN_PREFIX + credential_id.hex + secrets.token_urlsafe(32)


def add_organisation(
    session: Session, *, kind: OrganisationKind, name: str, area: str | None, now: dt.datetime
) -> Organisation:
    """Register an organisation."""
    if kind is OrganisationKind.PHARMACY and not area:
        raise PartnerError("a pharmacy needs its registered area (--area)")
    organisation = Organisation(kind=kind.value, name=name, area=area, created_at=now)
    session.add(organisation)
    session.flush()
    return organisation


def issue_credential(
    session: Session, organisation: Organisation, *, label: str, now: dt.datetime, actor: str = "cli"
) -> tuple[Credential, str]:
    """Create a credential with the organisation's role; return it and its token (shown once).

    The issue is written to the audit log in the same transaction.
    """
    if organisation.revoked_at is not None:
        raise PartnerError("the organisation is revoked")
    credential_id = uuid.uuid4()
    token = new_token(credential_id)
    credential = Credential(
        id=credential_id,
        organisation_id=organisation.id,
        role=ROLE_OF_KIND[OrganisationKind(organisation.kind)].value,
        label=label,
        token_hash=hash_token(token),
        created_at=now,
    )
    session.add(credential)
    session.flush()
    audit_log.append(session.connection(), kind="credential.issued", actor=actor, at=now, detail={
        "credential_id": str(credential_id), "organisation_id": str(organisation.id), "role": credential.role,
    })
    return credential, token


def list_organisations(session: Session) -> list[Organisation]:
    """Every organisation with its credentials, oldest first."""
    return list(session.scalars(select(Organisation).order_by(Organisation.created_at, Organisation.name)))


def revoke(session: Session, ident: uuid.UUID, *, now: dt.datetime, actor: str = "cli") -> str:
    """Revoke an organisation (and so all its credentials) or one credential, by id.

    Each credential revoked is written to the audit log in the same transaction.
    """
    organisation = session.get(Organisation, ident)
    if organisation is not None:
        if organisation.revoked_at is None:
            organisation.revoked_at = now
            session.flush()
            audit_log.append(session.connection(), kind="organisation.revoked", actor=actor, at=now,
                             detail={"organisation_id": str(organisation.id)})
        for credential in organisation.credentials:
            _revoke_credential(session, credential, now, actor)
        return "organisation"
    credential = session.get(Credential, ident)
    if credential is not None:
        _revoke_credential(session, credential, now, actor)
        return "credential"
    raise PartnerError("no organisation or credential with that id")


def _revoke_credential(session: Session, credential: Credential, now: dt.datetime, actor: str) -> None:
    if credential.revoked_at is not None:
        return
    credential.revoked_at = now
    session.flush()
    audit_log.append(session.connection(), kind="credential.revoked", actor=actor, at=now, detail={
        "credential_id": str(credential.id), "organisation_id": str(credential.organisation_id), "role": credential.role,
    })


# Built once: authentication runs on every request, and a Core statement on a plain connection
# costs a quarter of the same query through an ORM session (bench/intake.py, single reports).
_CREDENTIAL_QUERY = (
    select(Credential.token_hash, Credential.role, Credential.organisation_id, Organisation.area)
    .join(Organisation)
    .where(
        Credential.id == bindparam("credential_id"),
        Credential.revoked_at.is_(None),
        Organisation.revoked_at.is_(None),
    )
)


def authenticate(connection: Connection, token: str) -> Principal | None:
    """The principal a token belongs to, or None for an unknown, malformed or revoked token."""
    if len(token) != TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
        return None
    try:
        credential_id = uuid.UUID(hex=token[3:35])
    except ValueError:
        return None
    row = connection.execute(_CREDENTIAL_QUERY, {"credential_id": credential_id}).first()
    if row is None or not hmac.compare_digest(row.token_hash, hash_token(token)):
        return None
    return Principal(credential_id, row.organisation_id, Role(row.role), row.area)


class CredentialCache:
    """Tokens verified recently, so most requests authenticate without reading the database.

    Only successes are kept, keyed by the token's hash, each for `ttl` seconds of a monotonic
    clock (a wall clock stepped back by NTP would stretch the window): a revocation reaches every
    worker process within `ttl` (SAFESIGNAL_AUTH_CACHE_SECONDS; 0 turns the cache off). Bounded:
    the least recently used entry goes first.
    """

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic, size: int = 10_000):
        self._ttl = ttl
        self._clock = clock
        self._size = size
        self._entries: OrderedDict[bytes, tuple[float, Principal]] = OrderedDict()
        self._lock = threading.Lock()

    def authenticate(self, token: str, load: Callable[[str], Principal | None]) -> Principal | None:
        """The principal of `token`, from the cache while fresh, else from `load`."""
        if self._ttl <= 0:
            return load(token)
        key = hash_token(token)
        now = self._clock()
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and cached[0] > now:
                self._entries.move_to_end(key)
                return cached[1]
        principal = load(token)
        if principal is not None:
            with self._lock:
                self._entries[key] = (now + self._ttl, principal)
                self._entries.move_to_end(key)
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return principal
