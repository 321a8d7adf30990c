"""Demo partners for `make run`: one pharmacy, one field service, one prevention service, one DPO office.

Development only. The organisations are created once; each run revokes the previous demo tokens
and prints new ones, since tokens are stored only as hashes and cannot be shown again.

A fresh deployment has no released week for 8 days or more, so the first demo run also writes ten
weeks of synthetic tallies (random counts from 40 made-up reporters, with a rise in the last
week) and releases them through the real release code, as the scheduler would have done at each
week's release time. They are marked as such in the audit log (actor "demo").

The demo pharmacy may issue tracing codes. The first run also plays contact tracing a day back,
with the reference client's phones and the real service functions: Alice and Bob meet, Carol
meets a stranger; Bob tests positive at the demo pharmacy and uploads his keys; the export
windows since are built and signed; Alice's phone finds the exposure, Carol's finds none.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from service.devices.services import issue_code
from service.partners.models import Organisation
from service.partners.services import OrganisationKind, add_organisation, issue_credential, revoke
from service.signals.models import Release, Tally
from service.signals.weeks import week_label
from service.signals.services import release_at, release_week, set_territory

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
                # The clock read at each audited step: audit entries must follow each other in time.
                revoke(session, credential.id, now=state.clock(), actor="demo")
        if kind is OrganisationKind.PREVENTION_SERVICE:
            set_territory(session, state.signals, organisation, list(state.signals.grids), state.audit, "demo")
        if variable is not None:
            _, token = issue_credential(session, organisation, label=DEMO_LABEL, now=state.clock(), actor="demo")
            lines.append(f"export {variable}={token}")
        else:
            _, code = issue_code(
                session, state.pseudonyms, organisation.id, label=DEMO_DEVICE_LABEL, now=now, ttl=dt.timedelta(hours=24)
            )
            lines.append(f"export ENROLL_CODE={code}")
    session.commit()
    weeks = seed_signals(session, state, now)
    if weeks:
        lines.append(f"# synthetic signals released for the analyst: {week_label(weeks[0])} to {week_label(weeks[-1])}")
    # The week README's analyst examples read ($WEEK): the newest released, which moves with the
    # date (on the first run, the synthetic week with the rise).
    newest = session.scalar(select(func.max(Release.week)))
    session.rollback()  # end the read: on SQLite any transaction of this session holds the write lock
    if newest is not None:
        lines.append(f"export WEEK={week_label(newest)}   # the newest released week, for the analyst's examples")
    lines.extend(seed_tracing(session, state, now))
    lines.extend(setup_people(session, state))
    return iter(lines)


DEMO_OPERATOR = "Demo: safesignal operator"
# One person per role, in the demo organisations above (and a demo operator).
DEMO_PEOPLE = (
    ("pharmacy", "Demo: Apotheek De Linde", "apotheek@demo.example"),
    ("coordinator", "Demo: Straathoekwerk Mechelen", "coordinator@demo.example"),
    ("analyst", "Demo: Preventiedienst Mechelen", "analist@demo.example"),
    ("dpo", "Demo: DPO stad Mechelen", "dpo@demo.example"),
    ("admin", DEMO_OPERATOR, "operator@demo.example"),
)


def setup_people(session: Session, state) -> list[str]:  # type: ignore[no-untyped-def]
    """One demo person per role, with a fresh password and TOTP secret on every run (both are
    stored only hashed or wrapped, so they can be printed only when made); the lines to print."""
    import secrets as random_secrets

    from service.people import services as people
    from service.people.models import Person

    if session.scalars(select(Organisation).where(Organisation.name == DEMO_OPERATOR)).first() is None:
        add_organisation(session, kind=OrganisationKind.OPERATOR, name=DEMO_OPERATOR, area=None, now=state.clock())
    lines = ["# people for the pages at the address below (development only): sign in with the e-mail address and",
             "# password, then a code from an authenticator app given the TOTP secret, or from:",
             "#   .venv/bin/python -c 'import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).now())' <TOTP secret>"]
    for role, organisation_name, email in DEMO_PEOPLE:
        organisation = session.scalars(select(Organisation).where(Organisation.name == organisation_name)).one()
        person = session.scalars(select(Person).where(Person.email_key == state.accounts.email_key(email))).first()
        if person is None:
            person, _ = people.invite(session, state.accounts, organisation_id=organisation.id, email=email,
                                      now=state.clock(), actor="demo")
        people.sign_out_everywhere(session, person.id)
        password = random_secrets.token_urlsafe(12)
        people.set_password(person, state.accounts, password)
        secret = people.new_totp(person, state.accounts)
        # Activated here, without a code from an app: the demo prints the secret instead.
        person.active_at = person.active_at or state.clock()
        person.revoked_at = None
        person.invitation_hash = person.invitation_expires_at = None
        person.totp_last_step = None
        session.flush()
        lines.append(f"#   {role:<12} {email:<26} password {password}   TOTP secret {secret}")
    session.commit()
    return lines


def seed_tracing(session: Session, state, now: dt.datetime) -> list[str]:  # type: ignore[no-untyped-def]
    """Grant the demo pharmacy tracing and, on a service without exports yet, play one case a day
    back (see the module's docstring); the lines to print."""
    from service.tracing import codes, jobs
    from service.tracing import services as tracing
    from service.tracing.models import ExportFile
    from tracing_client.phone import Phone, meet

    pharmacy = session.scalars(select(Organisation).where(Organisation.name == DEMO_ORGANISATIONS[0][1])).one()
    if codes.grant(session, pharmacy.id, now=state.clock())[1]:
        session.flush()
        state.audit(session.connection(), "tracing.granted", "demo", organisation_id=str(pharmacy.id))
    if session.scalar(select(ExportFile.id).limit(1)) is not None:
        session.commit()
        return []
    yesterday = now - dt.timedelta(days=1)
    alice, bob, carol = Phone("alice"), Phone("bob"), Phone("carol")
    for phone in (alice, bob, carol):
        for back in range(15):
            phone.key_of(yesterday.date() - dt.timedelta(days=back))
    met = (yesterday - dt.timedelta(days=2)).replace(hour=14, minute=0, second=0, microsecond=0)
    meet(alice, bob, met, minutes=30)
    meet(carol, Phone("stranger"), met, minutes=30)
    _, code = codes.issue_code(
        session, state.pseudonyms, pharmacy.id, codes.Onset("test", yesterday.date()), now=yesterday, rules=state.tracing.code_rules
    )
    token, _ = tracing.exchange(session, state.tracing, code, now=yesterday)
    tracing.upload(session, state.tracing, token, _uploaded(bob.keys_to_share(yesterday)), now=yesterday)
    session.commit()
    files = jobs.export_due(state, "demo")
    published = _published(session, state, [name for name, _ in files])
    session.rollback()  # end the read: on SQLite it would hold the write lock
    notified = [phone.name for phone in (alice, carol) if phone.match(published)]
    return [
        f"# contact tracing: Bob tested positive yesterday and uploaded his keys; {len(files)} signed export files "
        f"at /v1/tracing/exports/index.txt; notified: {', '.join(notified) or 'nobody'} (Alice met Bob, Carol did not)",
    ]


def _uploaded(keys: list[dict[str, object]]) -> list:  # type: ignore[type-arg]
    from service.tracing.uploads import UploadedKey

    return [
        UploadedKey(str(key["key_data"]), int(key["rolling_start_interval_number"]), int(key["rolling_period"]),  # type: ignore[call-overload]
                    int(key["transmission_risk_level"]))  # type: ignore[call-overload]
        for key in keys
    ]


def _published(session: Session, state, names: list[str]) -> list:  # type: ignore[no-untyped-def, type-arg]
    """The keys of the files built, read and verified as a phone does."""
    from crypto.exposure_export import read_export
    from service.tracing.models import ExportFile

    public_key = state.tracing.export_signer().public_key()
    keys = []
    for data in session.scalars(select(ExportFile.data).where(ExportFile.name.in_(names))):
        keys.extend(read_export(data, public_key).keys)
    return keys


def seed_signals(session: Session, state, now: dt.datetime, weeks: int = 10) -> list[dt.date]:  # type: ignore[no-untyped-def]
    """Synthetic tallies and their releases for the `weeks` latest released weeks; nothing if the
    service has counted anything before (real or synthetic)."""
    signals = state.signals
    if session.scalar(select(Tally.id).limit(1)) is not None or session.scalar(select(Release.id).limit(1)) is not None:
        session.rollback()  # end the read: on SQLite any transaction of this session holds the write lock
        return []
    latest = signals.rules.weeks.week_of(now) - dt.timedelta(days=7)
    while release_at(latest, signals.rules) > now:
        latest -= dt.timedelta(days=7)
    chosen = [latest - dt.timedelta(days=7 * back) for back in range(weeks - 1, -1, -1)]
    rng = random.Random(19)
    reporters = [rng.randbytes(16) for _ in range(40)]
    areas = [area for grid in signals.grids.values() for area in grid.districts]
    categories = list(state.intake.taxonomy.categories)
    common = categories[:6]  # most signals fall in a few categories
    for index, week in enumerate(chosen):
        tallies: dict[tuple[str, str, bytes], int] = {}
        rise = 3 if index == len(chosen) - 1 else 1
        for _ in range(400):
            category = rng.choice(common) if rng.random() < 0.8 else rng.choice(categories)
            key = (rng.choice(areas), category, rng.choice(reporters))
            tallies[key] = tallies.get(key, 0) + 1
        for _ in range(60 * rise):  # the rise: one category, across the territory
            key = (rng.choice(areas), common[0], rng.choice(reporters))
            tallies[key] = tallies.get(key, 0) + 1
        session.execute(insert(Tally), [
            {"week": week, "area": area, "category": category, "reporter": reporter, "n": n}
            for (area, category, reporter), n in tallies.items()
        ])
        session.flush()
        release_week(session, signals, week, release_at(week, signals.rules), state.audit, "demo", since=chosen[0])
    session.commit()
    return chosen
