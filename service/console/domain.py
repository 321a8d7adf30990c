"""The console domain: the DPO's pages (read-only), over the DPO API's services."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from service.config import ConfigError
from service.domain import Domain

DEFAULTS: dict[str, Any] = {
    # The language the retention policy file's texts are written in (purposes, legal bases...):
    # the record page marks them with it, so a screen reader reads them in that language.
    "CONSOLE_POLICY_LANGUAGE": "en",
}
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


def check(config: Mapping[str, Any]) -> None:
    """Refuse a policy language that is not a language tag."""
    if not _LANGUAGE_TAG.fullmatch(str(config["CONSOLE_POLICY_LANGUAGE"])):
        raise ConfigError("SAFESIGNAL_CONSOLE_POLICY_LANGUAGE must be a language tag such as en or nl-BE")


DOMAIN = Domain("console", defaults=DEFAULTS, check=check, pages="service.console.views:blp")
