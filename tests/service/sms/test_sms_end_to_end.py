"""The SMS channel end to end over real HTTP, with the gateway emulator as its own process.

Every keyword of the deployment's file, in every language, texted through the provider's signed
webhook, becomes a report in its category and area and gets the reply it is configured with; a
bad signature and a replay are refused; a flood is throttled; a pharmacy sends a verification code
by SMS and the app redeems it. Then every table of both databases,
every file the test wrote (the SQLite files and their write-ahead logs, the emulator's log) and
every log record are searched for the phone numbers, in every way a number is written, and for
the texts' words: none may be there.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
from sms_support import dump_databases
from sqlalchemy import func, select, text
from support import bearer

from service.reports.models import Report
from service.sms.models import SmsCount

MUNICIPAL = "+3215000000"
NEKKERSPOEL = (51.0433, 4.5066)  # where the default SMS file counts postcode 2812
# Words no keyword, taxonomy label or reply holds: found anywhere in clear, a text leaked.
SECRET_WORDS = "kelderdeur", "Zwartbessenlaan"


def _number(i: int) -> str:
    return f"+3247{i:07d}"


def _spellings(number: str) -> list[str]:
    """The ways a Belgian mobile number is written: E.164, without +, 0032, national, spaced, grouped."""
    national = "0" + number[3:]
    return [number, number[1:], "0032" + number[3:], national, f"{national[:4]} {national[4:6]} {national[6:8]} {national[8:]}",
            f"{national[:4]}/{national[4:6]}.{national[6:8]}.{national[8:]}", f"+32 {number[3:6]} {number[6:8]} {number[8:10]} {number[10:]}",
            number[3:]]


def _files(root: Path) -> str:
    return "\n".join(path.read_bytes().decode("latin-1") for path in sorted(root.rglob("*")) if path.is_file())


def test_texts_become_reports_and_replies_and_leave_no_number_and_no_text(
    app, live, emulator_process, emulator_port, wait_for, db_engine, tmp_path, caplog, partners
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    state = app.extensions["safesignal"]
    sms = state.sms
    emulator = f"http://127.0.0.1:{emulator_port}"
    nekkerspoel = state.areas.resolve(*NEKKERSPOEL)
    used: list[str] = []

    def texted(body: str, provider: str = "twilio", **options: object) -> dict:  # type: ignore[type-arg]
        sender = _number(len(used) + 1)
        used.append(sender)
        answer = httpx.post(f"{emulator}/emulator/inbound", timeout=30,
                            json={"from": options.pop("sender", sender), "to": MUNICIPAL, "text": body, "provider": provider, **options})
        return answer.json()  # type: ignore[no-any-return]

    # Every keyword, in every language, over the three providers in turn; each from its own phone.
    expected: list[tuple[str, str]] = []
    replies = 0
    for i, keyword in enumerate(sms.file.keywords):
        provider = ("twilio", "vonage", "generic")[i % 3]
        body = f"{keyword.word.lower()} 2812 de {SECRET_WORDS[0]} staat open, {SECRET_WORDS[1]} 🚪"
        assert texted(body, provider)["status"] == 200, keyword.word
        expected.append((keyword.category, nekkerspoel))
        reading = sms.file.read(body)
        languages = {k.language for k in sms.file.keywords if k.normalised == keyword.normalised}  # VIOLENCE: fr and en
        assert reading.category == keyword.category and reading.language in languages, keyword.word
        replies += sms.file.reply_text(reading) is not None
    # No keyword at all, and an empty text: counted in the catch-all, in the number's area.
    assert texted("goeiemorgen, er is iets mis in de straat")["status"] == 200
    assert texted("", "generic")["status"] == 200
    centre = state.areas.resolve(51.0282, 4.4800)
    expected += [(sms.file.catch_all, centre)] * 2
    replies += 2 * (sms.file.reply_text(sms.file.read("")) is not None)

    # A bad signature stores nothing; a replay is acknowledged and stores nothing more.
    assert texted("HULP 2812", bad_signature=True)["status"] == 403
    first = texted("HULP 2812", "vonage")
    expected.append(("sms_help_request", nekkerspoel))
    replies += 1
    assert texted("HULP 2812", "vonage", message_id=first["message_id"], sender=used[-1])["status"] == 200
    # A flood from one phone: past SMS_MESSAGES_PER_DAY the texts are counted, not stored.
    flood = _number(999)
    used.append(flood)
    for _ in range(sms.rules.messages_per_day + 4):
        assert texted("WONEN 2812", sender=flood)["status"] == 200
    expected += [("housing_need", nekkerspoel)] * sms.rules.messages_per_day
    replies += sms.rules.replies_per_day

    with db_engine.connect() as connection:
        stored = sorted(connection.execute(select(Report.category, Report.area).where(Report.channel == "sms")).all())
        throttled = connection.execute(select(func.sum(SmsCount.n)).where(SmsCount.outcome == "throttled")).scalar_one()
        replayed = connection.execute(select(func.sum(SmsCount.n)).where(SmsCount.outcome == "replayed")).scalar_one()
    assert stored == sorted(expected)
    assert (throttled, replayed) == (4, 1)
    # The replies went out as configured (Mask 19's none), and their receipts emptied the outbox.
    wait_for(lambda: len(httpx.get(f"{emulator}/emulator/messages", timeout=5).json()) == replies, f"{replies} replies")
    wait_for(lambda: _outbox_empty(db_engine), "the delivery receipts")

    # A testing pharmacy sends a verification code to a phone; the phone's app redeems it, once.
    pharmacy, token = partners.add("pharmacy", "Apotheek De Linde", partners.area())
    partners.run("tracing", "grant", pharmacy)
    tested = _number(2000)
    used.append(tested)
    national = "0" + tested[3:]
    issued = httpx.post(f"{live}/v1/tracing/codes/sms", headers=bearer(token), timeout=30,
                        json={"test_date": clock_day(state), "phone": f"{national[:4]} {national[4:6]} {national[6:8]} {national[8:]}"})
    assert issued.status_code == 201 and issued.json()["delivery"] == "sent", issued.text
    inbox = httpx.get(f"{emulator}/emulator/messages", timeout=5).json()
    (message,) = [m for m in inbox if m["to"] == tested]
    code = re.search(r"\b(\d{4} \d{4} \d{4})\b", message["text"]).group(1)  # type: ignore[union-attr]
    assert code not in issued.text
    redeemed = httpx.post(f"{live}/v1/tracing/verify", json={"code": code}, headers={"SafeSignal-Fake": "0"}, timeout=30)
    assert redeemed.status_code == 200 and redeemed.json()["token"]
    assert httpx.post(f"{live}/v1/tracing/verify", json={"code": code}, headers={"SafeSignal-Fake": "0"}, timeout=30).status_code == 403
    wait_for(lambda: _outbox_empty(db_engine), "the code's delivery receipt")

    # Nothing identifying anywhere: tables of both databases, every file, every log record.
    haystacks = {
        "both databases": dump_databases(app),
        "files": _files(tmp_path),
        "logs": "\n".join(record.getMessage() for record in caplog.records),
    }
    assert "phone-1" in haystacks["files"]  # the emulator's log was read: it names phones by alias
    for where, haystack in haystacks.items():
        for number in used:
            for spelling in _spellings(number):
                assert spelling not in haystack, f"a phone number ({spelling[:3]}...) in the {where}"
        for word in SECRET_WORDS:
            assert word not in haystack, f"a text's words in the {where}"


def clock_day(state) -> str:  # type: ignore[no-untyped-def]
    return state.clock().date().isoformat()


def _outbox_empty(db_engine) -> bool:  # type: ignore[no-untyped-def]
    with db_engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM sms_outbox")).scalar_one() == 0
