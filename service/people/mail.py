"""The invitation e-mail: one short plain-text message in Dutch, French, German and English.

Sent with the standard library's smtplib to the SMTP server of the SMTP_* settings (STARTTLS when
SMTP_STARTTLS, a login when SMTP_USERNAME). A sender is a function of the settings mapping, the
address and the message, so another one (an HTTP mail API) can sit beside `send_smtp`.

The address is used to send and then forgotten: it is never logged, and a failure says which
kind of failure it was (the exception's class), never the server's reply, which often quotes
the recipient ("550 <jan@example.be>: no such user").
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

SUBJECT = "safesignal: invitation / uitnodiging / invitation / Einladung"
# However slow the server, the operator's command ends.
TIMEOUT_SECONDS = 20

_BODY = """\
Nederlands
U bent uitgenodigd om safesignal te gebruiken. Open deze link, kies een wachtwoord en stel een
authenticator-app in (tweede factor). De link werkt één keer, tot {expires} UTC:
{link}

Français
Vous êtes invité(e) à utiliser safesignal. Ouvrez ce lien, choisissez un mot de passe et
configurez une application d'authentification (second facteur). Le lien fonctionne une fois,
jusqu'au {expires} UTC :
{link}

Deutsch
Sie sind eingeladen, safesignal zu nutzen. Öffnen Sie diesen Link, wählen Sie ein Passwort und
richten Sie eine Authenticator-App ein (zweiter Faktor). Der Link funktioniert einmal, bis
{expires} UTC:
{link}

English
You are invited to use safesignal. Open this link, choose a password and set up an
authenticator app (second factor). The link works once, until {expires} UTC:
{link}

Niet verwacht? Negeer dit bericht. / Pas attendu ? Ignorez ce message. /
Nicht erwartet? Ignorieren Sie diese Nachricht. / Not expected? Ignore this message.
"""


class MailError(Exception):
    """The e-mail could not be sent; the message names the kind of failure, never the address."""


def smtp_configured(settings: Mapping[str, Any]) -> bool:
    """Whether invitations are e-mailed (an SMTP host is set)."""
    return bool(settings.get("SMTP_HOST"))


def invitation_message(settings: Mapping[str, Any], to: str, link: str, expires: dt.datetime, now: dt.datetime) -> EmailMessage:
    """The invitation to `to`: the link and when it stops working (ValueError: not an address to send to)."""
    message = EmailMessage()
    message["From"] = settings["SMTP_FROM"]
    # One addr-spec, or ValueError: a comma or angle bracket cannot make it a list of recipients.
    message["To"] = Address(addr_spec=to.strip())
    message["Subject"] = SUBJECT
    message["Date"] = formatdate(now.timestamp(), usegmt=True)
    message["Message-ID"] = make_msgid(domain="safesignal")
    message.set_content(_BODY.format(link=link, expires=f"{expires:%Y-%m-%d %H:%M}"))
    return message


def send_smtp(settings: Mapping[str, Any], message: EmailMessage) -> None:
    """Send `message` through the configured SMTP server, or raise MailError."""
    try:
        with smtplib.SMTP(settings["SMTP_HOST"], int(settings["SMTP_PORT"]), timeout=TIMEOUT_SECONDS) as smtp:
            if settings.get("SMTP_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
            if settings.get("SMTP_USERNAME"):
                smtp.login(settings["SMTP_USERNAME"], settings.get("SMTP_PASSWORD") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException, ValueError) as error:
        # smtplib's errors carry the server's reply, which may quote the address: the class only.
        raise MailError(f"{type(error).__name__} from {settings['SMTP_HOST']}:{settings['SMTP_PORT']}") from None


def send_invitation(settings: Mapping[str, Any], to: str, link: str, expires: dt.datetime, now: dt.datetime) -> None:
    """E-mail the invitation link to `to`, or raise MailError."""
    try:
        message = invitation_message(settings, to, link, expires, now)
    except ValueError as error:  # its message quotes the address
        raise MailError(f"{type(error).__name__}: the address cannot be written in an e-mail header") from None
    send_smtp(settings, message)
