"""The web domain: the site's shell (sign-in, invitation, language, layout, error pages).

Each audience's pages are a package of their own with a `pages` blueprint (service.web.pages);
this domain's `install` makes them one site: translations, sessions, CSRF and security headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.domain import Domain

DEFAULTS: dict[str, Any] = {
    # The session cookie is Secure and __Host- prefixed; false only for a plain-HTTP test setup
    # other than localhost (browsers treat http://127.0.0.1 and localhost as secure).
    "WEB_COOKIE_SECURE": True,
}


def build(config: Mapping[str, Any], state: Any) -> Any:
    from service.secrets import load_web_secret_key

    return load_web_secret_key(dict(config), state.instance_path)


DOMAIN = Domain(
    "web",
    defaults=DEFAULTS,
    build=build,
    provides="web_secret",
    pages="service.web.views:blp",
    install="service.web.shell:install",
)
