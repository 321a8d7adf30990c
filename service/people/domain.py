"""The people domain: the persons who use the web pages, their accounts and sessions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.config import require_integers
from service.domain import Domain
from service.people import holdings

DEFAULTS: dict[str, Any] = {
    # An invitation link works this long, once.
    "PEOPLE_INVITATION_HOURS": 72,
    # A web session ends after this long without a request, and in any case this long after sign-in.
    "PEOPLE_SESSION_IDLE_MINUTES": 30,
    "PEOPLE_SESSION_HOURS": 12,
    # Failed sign-ins (password or second factor) per address within the lock time before a lock.
    "PEOPLE_MAX_FAILURES": 5,
    "PEOPLE_LOCK_MINUTES": 15,
    # argon2id's cost: RFC 9106's second recommendation (64 MiB, 3 passes) unless changed.
    "PEOPLE_PASSWORD_MEMORY_KIB": 65536,
    "PEOPLE_PASSWORD_TIME_COST": 3,
    # Where invitations are e-mailed (none: `people invite` only prints the link).
    "SMTP_HOST": None,
    "SMTP_PORT": 587,
    "SMTP_STARTTLS": True,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_FROM": "safesignal <no-reply@localhost>",
    # The address of the pages in invitation links, e.g. https://safesignal.example.be
    "PUBLIC_URL": "http://127.0.0.1:8000",
}

_INTEGERS = ("PEOPLE_INVITATION_HOURS", "PEOPLE_SESSION_IDLE_MINUTES", "PEOPLE_SESSION_HOURS",
             "PEOPLE_MAX_FAILURES", "PEOPLE_LOCK_MINUTES", "PEOPLE_PASSWORD_TIME_COST", "SMTP_PORT")


def check(config: Mapping[str, Any]) -> None:
    require_integers(config, _INTEGERS, least=1)
    require_integers(config, ("PEOPLE_PASSWORD_MEMORY_KIB",), least=8 * 4)


def build(config: Mapping[str, Any], state: Any) -> Any:
    from service.people.services import Accounts, PeopleRules

    rules = PeopleRules(
        invitation_hours=config["PEOPLE_INVITATION_HOURS"],
        idle_minutes=config["PEOPLE_SESSION_IDLE_MINUTES"],
        absolute_hours=config["PEOPLE_SESSION_HOURS"],
        max_failures=config["PEOPLE_MAX_FAILURES"],
        lock_minutes=config["PEOPLE_LOCK_MINUTES"],
    )
    return Accounts(rules, state.keyring.keks, state.pseudonyms,
                    memory_kib=config["PEOPLE_PASSWORD_MEMORY_KIB"], time_cost=config["PEOPLE_PASSWORD_TIME_COST"])


DOMAIN = Domain(
    "people",
    models="service.people.models",
    defaults=DEFAULTS,
    check=check,
    build=build,
    provides="accounts",
    commands=("service.people.commands:people_group",),
    holdings=holdings.HOLDINGS,
)
