"""Both channels end to end over HTTP, then a look at the raw database: nothing sensitive in clear."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from support import bearer
from sqlalchemy import select, text

from service.models import metadata
from service.reports.models import Report
from service.reports.services import read_payload

NOTE = "Mevrouw belde van 0470 12 34 56, mail an.devos@example.be, vroeg naar voedselpakket"


def _dump(engine) -> str:  # type: ignore[no-untyped-def]
    """Every value of every table, as a string, the way a stolen dump would read."""
    parts = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(text(f"SELECT * FROM {table.name}")):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        parts.append(bytes(value).decode("latin-1"))
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


def test_both_channels_store_only_ciphertext_and_coarse_dimensions(app, client, partners, clock, db_engine, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, SQLAlchemy's statements included
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    # A coordinator enrolls a device; the app syncs an offline batch twice.
    organisation_id, _ = partners.add("field_service", "Straathoekwerk Mechelen")
    code = partners.enroll_code(organisation_id, "team Noord tablet")
    enrolled = client.post("/v1/devices/enroll", json={"code": code.lower()})
    assert enrolled.status_code == 201
    device_token = enrolled.get_json()["token"]
    assert client.post("/v1/devices/enroll", json={"code": code}).status_code == 403  # one use only

    observed = (clock.now - dt.timedelta(hours=5)).isoformat()
    client_ids = [str(uuid.uuid4()) for _ in range(3)]
    batch = {
        "reports": [
            {"client_id": client_ids[0], "category": "public_drug_use", "observed_at": observed,
             "location": {"lat": 51.0259, "lon": 4.4776}},
            {"client_id": client_ids[1], "category": "elderly_isolation", "observed_at": observed,
             "location": {"lat": 51.0312, "lon": 4.4868}, "note": NOTE},
            {"client_id": client_ids[2], "category": "youth_nuisance", "observed_at": observed,
             "area": app.extensions["safesignal"].intake.areas.areas()[1].code, "count": 4},
        ]
    }
    first = client.post("/v1/field/reports/batch", json=batch, headers=bearer(device_token))
    second = client.post("/v1/field/reports/batch", json=batch, headers=bearer(device_token))
    assert first.get_json()["accepted"] == 3 and second.get_json() == first.get_json()

    # A pharmacy submits reports, one with personal data in its note.
    pharmacy_token = partners.pharmacy("Apotheek De Linde")
    pharmacy = client.post(
        "/v1/pharmacy/reports/batch",
        json={"reports": [
            {"category": "dv_mask19", "observed_at": observed},
            {"category": "food_insecurity", "observed_at": observed, "note": NOTE, "referral": True, "referral_kind": "food_bank"},
        ]},
        headers=bearer(pharmacy_token),
    )
    assert pharmacy.get_json()["accepted"] == 2
    assert pharmacy.get_json()["results"][1]["redactions"] == 2

    with app.extensions["safesignal"].sessions() as session:
        reports = list(session.scalars(select(Report)))
    assert len(reports) == 5  # the replayed batch stored nothing
    intake = app.extensions["safesignal"].intake
    notes = [read_payload(intake, report).note for report in reports]
    assert sorted(n for n in notes if n) == [
        "Mevrouw belde van [phone], mail [email], vroeg naar voedselpakket"
    ] * 2

    dump = _dump(db_engine)
    forbidden = [
        "voedselpakket", "Mevrouw", "0470", "an.devos", "example.be",  # free text and what was redacted
        "51.02", "51.03", "4.47", "4.48",  # coordinates
        device_token, pharmacy_token, device_token[35:], pharmacy_token[35:],  # tokens
        code, code.replace("-", ""),  # the enrollment code
        *client_ids, *(c.replace("-", "") for c in client_ids),  # raw client ids
    ]
    logs = caplog.text
    assert "INSERT INTO report" in logs  # the statements were logged, so the check below means something
    for secret in forbidden:
        assert secret not in dump, secret
    # In the logs, the whole values: SQLAlchemy logs timings such as "[cached since 0.04702s ago]",
    # where a fragment like "0470" can turn up by chance.
    in_logs = [NOTE, "voedselpakket", "Mevrouw", "0470 12 34 56", "an.devos", "example.be",
               "51.0259", "4.4776", "51.0312", "4.4868", *forbidden[9:]]
    for secret in in_logs:
        assert secret not in logs, secret
    # Payloads are ciphertexts: version byte, then a key id that names a stored data key.
    with app.extensions["safesignal"].keys_engine.connect() as connection:
        key_ids = {bytes(row[0]) for row in connection.execute(text("SELECT key_id FROM data_key"))}
    for report in reports:
        assert report.payload[0] == 1 and report.payload[1:17] in key_ids
