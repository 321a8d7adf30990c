"""Bearer-token authentication and the role check every endpoint declares.

`@requires(Role.PHARMACY)` both enforces the roles and writes them into the OpenAPI document
(security scheme, 401/403 responses, and the list of roles in the description), so the document
cannot drift from what the code enforces.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from flask import current_app, g, request
from flask_smorest.utils import deepupdate

from service import per_request
from service.errors import error_responses, fail
from service.partners.services import Principal, Role, authenticate

BEARER = "Bearer "


def _load(token: str) -> Principal | None:
    # Its own short read-only transaction, ended before the view writes anything.
    with per_request.read_connection() as connection:
        return authenticate(connection, token)


def current_principal() -> Principal:
    """The authenticated caller of this request (only inside a `requires` view)."""
    return g.principal


def requires(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow only credentials holding one of `roles`; 401 without a valid token, 403 otherwise."""
    allowed = frozenset(roles)
    names = ", ".join(sorted(role.value for role in allowed))

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            principal = None
            if header.startswith(BEARER):
                cache = current_app.extensions["safesignal"].credentials
                principal = cache.authenticate(header[len(BEARER):].strip(), _load)
            if principal is None:
                fail(401, headers={"WWW-Authenticate": "Bearer"})
            if principal.role not in allowed:
                fail(403)
            g.principal = principal
            return view(*args, **kwargs)

        wrapper._apidoc = deepupdate(  # type: ignore[attr-defined]
            copy.deepcopy(getattr(view, "_apidoc", {})),
            {
                "manual_doc": {
                    "security": [{"bearerAuth": []}],
                    "x-roles": sorted(role.value for role in allowed),
                    "responses": error_responses(401, 403),
                }
            },
        )
        wrapper.__doc__ = (view.__doc__ or "").rstrip() + f"\n\nRoles: {names}."
        return wrapper

    return decorator
