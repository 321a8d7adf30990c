"""The text that carries a verification code to the person's phone, in nl, fr, de or en.

Each text fits ONE SMS in the GSM 7-bit alphabet (160 septets; tests/service/tracing/
test_codes_by_sms.py checks every language with service.sms.text at its longest, a date in the
expiry): a second segment costs the deployment twice, and a character outside GSM-7 (a French
"ç", a typographic apostrophe) would switch the whole text to UCS-2 and 70 characters a segment.

The expiry is shown in Belgian time, as the text says: the hour alone when the code expires on the
day it was issued there, else with its day ("30/11 09:05"), since a code may live up to 24 hours.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Brussels")
LANGUAGES = ("nl", "fr", "de", "en")

TEXTS = {
    "nl": "safesignal: uw verificatiecode is {code}, geldig tot {until} (Belgische tijd). Voer hem in de app in.",
    "fr": "safesignal : votre code de vérification est {code}, valable jusqu'à {until} (heure belge). "
          "Entrez-le dans l'app.",
    "de": "safesignal: Ihr Bestätigungscode ist {code}, gültig bis {until} (belgische Zeit). "
          "Geben Sie ihn in der App ein.",
    "en": "safesignal: your verification code is {code}, valid until {until} (Belgian time). Enter it in the app.",
}


def until(expires_at: dt.datetime, now: dt.datetime) -> str:
    """The expiry in Belgian time: "14:05" the same Belgian day as now, else "30/11 14:05"."""
    local = expires_at.astimezone(ZONE)
    if local.date() == now.astimezone(ZONE).date():
        return local.strftime("%H:%M")
    return local.strftime("%d/%m %H:%M")


def code_text(code: str, expires_at: dt.datetime, language: str, *, now: dt.datetime) -> str:
    """The text for a code as read out ("3141 5926 5358"); KeyError for a language it has not."""
    return TEXTS[language].format(code=code, until=until(expires_at, now))
