"""What a notice says: that there is something to look at in a week, and where to sign in. Nothing else.

The text names the week (its Monday) and the dashboard's address, never an area, a category, a
count or how many cells were flagged: an SMS is read on a lock screen and an e-mail sits in
mailboxes and backups, where what the signal was must not be. The organisation has no language, so
an e-mail carries the four languages' lines; an SMS carries one, in the SMS file's default language,
and fits one GSM-7 segment (every character here is in the GSM 7-bit alphabet; the dates are
written with digits, and English month names are ASCII, so no month name can push a text to UCS-2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

LANGUAGES = ("nl", "fr", "de", "en")

_LINES = {
    "nl": "safesignal: er is een signaal om te bekijken in de week van {date}. Meld u aan: {url}",
    "fr": "safesignal : il y a un signal à examiner dans la semaine du {date}. Connectez-vous : {url}",
    "de": "safesignal: In der Woche vom {date} gibt es ein Signal zu prüfen. Anmelden: {url}",
    "en": "safesignal: there is a signal to look at in the week of {date}. Sign in: {url}",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

SUBJECT = "safesignal: signaal / signal / Signal / signal"
_FOOTER = ("Deze berichten stoppen / Arrêter ces messages / Diese Nachrichten beenden / Stop these notices:\n{url}")


def _date(week: dt.date, language: str) -> str:
    if language == "en":
        return f"{week.day} {_MONTHS[week.month - 1]} {week.year}"
    separator = {"nl": "-", "fr": "/", "de": "."}[language]
    return f"{week.day:02d}{separator}{week.month:02d}{separator}{week.year}"


def dashboard_url(public_url: str) -> str:
    return f"{public_url.rstrip('/')}/dashboard/"


def notice_line(language: str, week: dt.date, public_url: str) -> str:
    """The notice in one language (English for a language it does not have): the week's Monday and the sign-in address."""
    language = language if language in _LINES else "en"
    return _LINES[language].format(date=_date(week, language), url=dashboard_url(public_url))


def notice_mail(settings: Mapping[str, Any], to: str, week: dt.date, public_url: str, now: dt.datetime) -> EmailMessage:
    """The e-mail notice to `to`: the four languages' lines (ValueError: not an address to send to)."""
    message = EmailMessage()
    message["From"] = settings["SMTP_FROM"]
    # One addr-spec, or ValueError: a comma or angle bracket cannot make it a list of recipients.
    message["To"] = Address(addr_spec=to.strip())
    message["Subject"] = SUBJECT
    message["Date"] = formatdate(now.timestamp(), usegmt=True)
    message["Message-ID"] = make_msgid(domain="safesignal")
    lines = [notice_line(language, week, public_url) for language in LANGUAGES]
    footer = _FOOTER.format(url=f"{public_url.rstrip('/')}/dashboard/notices")
    message.set_content("\n\n".join([*lines, footer]) + "\n")
    return message
