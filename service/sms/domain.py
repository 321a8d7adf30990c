"""The SMS domain: the anonymous text-message channel, its outbox, and codes and notices by SMS."""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.config import ConfigError, require_integers
from service.domain import Domain, Job
from service.sms import holdings

DEFAULT_FILE = str(Path(__file__).with_name("default_sms.toml"))

DEFAULTS: dict[str, Any] = {
    # The deployment's numbers, postcodes, keywords and replies (service/sms/default_sms.toml: the demo's).
    "SMS_FILE": DEFAULT_FILE,
    # The provider outbound texts go through (twilio, vonage or generic; none: no text goes out and
    # the pages offer no SMS). Inbound webhooks are open for every provider whose secret is set.
    "SMS_PROVIDER": None,
    "SMS_TWILIO_ACCOUNT_SID": None,
    "SMS_TWILIO_AUTH_TOKEN": None,
    "SMS_TWILIO_API_URL": "https://api.twilio.com",
    "SMS_VONAGE_API_KEY": None,
    "SMS_VONAGE_API_SECRET": None,
    "SMS_VONAGE_SIGNATURE_SECRET": None,
    "SMS_VONAGE_API_URL": "https://api.nexmo.com",
    "SMS_GENERIC_SECRET": None,
    "SMS_GENERIC_SEND_URL": None,
    # Development only: with no provider credentials set, every provider points at the local
    # gateway emulator (`safesignal sms emulator`, started by `make run`) at this address, with
    # credentials derived from a development secret in the instance folder. Ignored in production.
    "SMS_EMULATOR": "http://127.0.0.1:8025",
    # The address the provider calls back (its webhooks are configured with it; Twilio signs the
    # URL): PUBLIC_URL unless set.
    "SMS_WEBHOOK_URL": None,
    # The number codes and notices are sent from (default: the first number of the SMS file).
    "SMS_FROM": None,
    # Flood control per number and UTC day: texts past this are counted, not stored as reports.
    "SMS_MESSAGES_PER_DAY": 10,
    # Replies per number and UTC day (a spoofed sender must not turn the service into a spammer; 0: none).
    "SMS_REPLIES_PER_DAY": 3,
    # Webhooks per minute per worker before 429 (service.sms.guard).
    "SMS_INBOUND_PER_MINUTE": 1200,
    # The outbox: how long a text may wait (it is deleted after this whatever happened), how many
    # times it is tried, and how often the scheduler retries.
    "SMS_OUTBOX_HOURS": 6,
    "SMS_OUTBOX_MAX_ATTEMPTS": 6,
    "SMS_OUTBOX_INTERVAL_MINUTES": 1,
}

PROVIDERS = ("twilio", "vonage", "generic")
_INTEGERS = ("SMS_MESSAGES_PER_DAY", "SMS_INBOUND_PER_MINUTE", "SMS_OUTBOX_HOURS",
             "SMS_OUTBOX_MAX_ATTEMPTS", "SMS_OUTBOX_INTERVAL_MINUTES")

log = logging.getLogger("service.scheduler")


_CREDENTIALS = ("SMS_TWILIO_AUTH_TOKEN", "SMS_VONAGE_API_SECRET", "SMS_VONAGE_SIGNATURE_SECRET", "SMS_GENERIC_SECRET")


def check(config: Mapping[str, Any]) -> None:
    require_integers(config, _INTEGERS, least=1)
    require_integers(config, ("SMS_REPLIES_PER_DAY",), least=0)
    if config["SMS_OUTBOX_HOURS"] > 24:
        raise ConfigError("SAFESIGNAL_SMS_OUTBOX_HOURS must be at most 24 (the sms_outbox policy keeps a text one day at most)")
    if config["SMS_PROVIDER"] not in (None, "", *PROVIDERS):
        raise ConfigError(f"SAFESIGNAL_SMS_PROVIDER must be one of {', '.join(PROVIDERS)} (or unset)")


@dataclass(frozen=True)
class SmsRules:
    messages_per_day: int
    replies_per_day: int


@dataclass
class Sms:
    """What the SMS channel's requests, commands and jobs share (state.sms)."""

    file: Any  # service.sms.config.SmsFile; None: the channel is off (no SMS file fits)
    gateways: dict[str, Any]  # provider name -> service.sms.gateways.Gateway
    outbound: str | None  # the provider codes and notices go through
    sender: str | None  # the number they are sent from
    rules: SmsRules
    outbox_rules: Any
    guard: Any
    webhook_url: str
    # The SMS_* settings in force (with the emulator's, in development): what the emulator signs with.
    settings: dict[str, Any] = field(default_factory=dict, repr=False)

    def status_url(self, provider: str) -> str:
        return f"{self.webhook_url}/v1/sms/{provider}/status"


def build(config: Mapping[str, Any], state: Any) -> Sms:
    from service.sms.config import SmsFileError, load
    from service.sms.gateways import gateways
    from service.sms.guard import RateGuard
    from service.sms.outbox import OutboxRules

    categories = {code for code, category in state.taxonomy.categories.items() if "sms" in category.channels}
    try:
        sms_file = load(config["SMS_FILE"], categories=categories, areas={area.code for area in state.areas.areas()},
                        locate=state.areas.resolve)
    except (SmsFileError, OSError) as error:
        if config["SMS_FILE"] != DEFAULT_FILE:
            raise ConfigError(f"SAFESIGNAL_SMS_FILE: {error}") from None
        # The demo's file names the demo's areas and categories: another deployment that has not
        # written its own SMS file yet runs without the channel, and says so.
        logging.getLogger(__name__).warning("SMS channel off: the default SMS file does not fit this deployment (%s); "
                                            "write one and set SAFESIGNAL_SMS_FILE", error)
        sms_file = None
    settings = {key: value for key, value in config.items() if key.startswith("SMS_")}
    if _emulated(config):
        settings.update(emulator_settings(config, state.instance_path))
    ways = gateways(settings) if sms_file is not None else {}
    outbound = (settings["SMS_PROVIDER"] or None) if sms_file is not None else None
    if outbound is not None and outbound not in ways and sms_file is not None:
        raise ConfigError(f"SAFESIGNAL_SMS_PROVIDER is {outbound} but its credentials are not set (SAFESIGNAL_SMS_{outbound.upper()}_*)")
    sms = Sms(
        file=sms_file,
        gateways=ways,
        outbound=outbound,
        sender=config["SMS_FROM"] or (next(iter(sms_file.numbers), None) if sms_file is not None else None),
        rules=SmsRules(config["SMS_MESSAGES_PER_DAY"], config["SMS_REPLIES_PER_DAY"]),
        outbox_rules=OutboxRules(ttl=dt.timedelta(hours=config["SMS_OUTBOX_HOURS"]), max_attempts=config["SMS_OUTBOX_MAX_ATTEMPTS"]),
        guard=RateGuard(config["SMS_INBOUND_PER_MINUTE"]),
        webhook_url=str(config["SMS_WEBHOOK_URL"] or config["PUBLIC_URL"]).rstrip("/"),
        settings=settings,
    )
    # The gateways' HTTP clients keep connections open: closed when the application goes.
    weakref.finalize(sms, _close, list(ways.values()))
    return sms


def _close(gateways: list[Any]) -> None:
    for gateway in gateways:
        gateway.close()


def _emulated(config: Mapping[str, Any]) -> bool:
    """Development with no provider credentials: texts go to the local emulator."""
    return bool(config["SMS_EMULATOR"]) and config.get("ENV") == "development" and not any(config.get(k) for k in _CREDENTIALS)


def emulator_settings(config: Mapping[str, Any], instance_path: str) -> dict[str, Any]:
    """Every provider's credentials, derived from the development secret, pointing at the emulator."""
    import hashlib
    import hmac

    from service.secrets import load_sms_emulator_secret

    secret = load_sms_emulator_secret(dict(config), instance_path)

    def derived(name: str, size: int = 16) -> str:
        return hmac.new(secret, name.encode(), hashlib.sha256).hexdigest()[: 2 * size]

    url = str(config["SMS_EMULATOR"]).rstrip("/")
    return {
        "SMS_PROVIDER": config["SMS_PROVIDER"] or "twilio",
        "SMS_TWILIO_ACCOUNT_SID": "AC" + derived("twilio-account"), "SMS_TWILIO_AUTH_TOKEN": derived("twilio-token"),
        "SMS_TWILIO_API_URL": url,
        "SMS_VONAGE_API_KEY": derived("vonage-key", 4), "SMS_VONAGE_API_SECRET": derived("vonage-secret"),
        "SMS_VONAGE_SIGNATURE_SECRET": derived("vonage-signature", 32), "SMS_VONAGE_API_URL": url,
        "SMS_GENERIC_SECRET": derived("generic", 32), "SMS_GENERIC_SEND_URL": f"{url}/generic/send",
    }


def outbox_job(state: Any) -> None:
    """Delete what waited too long, then send what is due (first tries and retries)."""
    from service.sms.jobs import run_outbox

    done = run_outbox(state)
    if done.sent or done.failed:
        log.info("sms outbox: %d sent, %d retrying, %d failed", done.sent, done.retrying, done.failed)


DOMAIN = Domain(
    "sms",
    models="service.sms.models",
    defaults=DEFAULTS,
    check=check,
    build=build,
    blueprint="service.sms.views:blp",
    commands=("service.sms.commands:sms_group",),
    jobs=(Job("sms", "sms: send the outbox's texts that are due", "SMS_OUTBOX_INTERVAL_MINUTES", outbox_job),),
    holdings=holdings.HOLDINGS,
)
