"""The notices domain: subscriptions to alert notices, and the job that tests each new week for them.

A subscription is stored by the SMS domain (service.sms.models.AlertSubscription, migration 0010,
retention's `alert_subscriptions`); this domain owns what is done with it: the API and page that
make and remove one, and the job that opens each newly released week for the subscribing
organisation, tests it for alerts and sends one short notice when something is flagged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service.config import require_integers
from service.domain import Domain, Job

DEFAULTS: dict[str, Any] = {
    # How often the scheduler looks for a newly released week to test for the subscriptions.
    "NOTICES_INTERVAL_MINUTES": 60,
}

# The settings the e-mail notice needs (the people domain's SMTP_*), copied at start: a job has the
# State, not the application's config.
_MAIL_SETTINGS = ("SMTP_HOST", "SMTP_PORT", "SMTP_STARTTLS", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_FROM")

log = logging.getLogger("service.scheduler")


def check(config: Mapping[str, Any]) -> None:
    require_integers(config, ("NOTICES_INTERVAL_MINUTES",), least=1)


@dataclass(frozen=True)
class Notices:
    """What the notices' requests and job share (state.notices)."""

    public_url: str  # the pages' address, the only thing a notice links to
    # SMTP_* (service.people.mail); kept out of the repr: it holds the SMTP password.
    mail: Mapping[str, Any] = field(repr=False)


def build(config: Mapping[str, Any], state: Any) -> Notices:
    return Notices(public_url=str(config["PUBLIC_URL"]).rstrip("/"),
                   mail={name: config.get(name) for name in _MAIL_SETTINGS})


def notices_job(state: Any) -> None:
    """Test the newest released week for every subscription not told about it yet."""
    from service.notices.jobs import run_notices

    done = run_notices(state)
    if done.tested or done.skipped or done.failed:
        log.info("notices: %d weeks tested, %d notices sent, %d skipped, %d failed",
                 done.tested, done.sent, done.skipped, done.failed)


DOMAIN = Domain(
    "notices",
    defaults=DEFAULTS,
    check=check,
    build=build,
    blueprint="service.notices.views:blp",
    schemas="service.notices.schemas:SCHEMAS",
    pages="service.notices.pages:blp",
    jobs=(Job("notices", "notices: test each newly released week for the alert subscriptions",
              "NOTICES_INTERVAL_MINUTES", notices_job),),
)
