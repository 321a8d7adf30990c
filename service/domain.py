"""What a domain of the service declares: its API, commands, jobs, holdings, settings and collaborator.

Each domain declares one `DOMAIN` in `service/<domain>/domain.py`; `service.domains` lists them
and the application factory, the scheduler and the retention holdings read that list. A new
capability is one new package and one line there.

The declaration is Flask-free, because the core reads it too (service.holdings takes the
domains' holdings from it, and the core imports no Flask): what needs Flask (a blueprint, the
schemas it documents, click command groups) is named by its import path, "package.module:name",
and imported only by create_app (as APScheduler names jobs, and Flask its application).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from retention.holdings import Holding


@dataclass(frozen=True)
class Job:
    """A scheduled job: run(state) every `interval` minutes (a setting's name), once at start too."""

    id: str
    name: str
    interval: str
    run: Callable[[Any], None]


@dataclass(frozen=True)
class Domain:
    """One domain of the service and every part it plugs into the application (all optional)."""

    name: str
    # Settings: the defaults of its SAFESIGNAL_* variables, and the check that refuses bad values.
    defaults: Mapping[str, Any] = field(default_factory=dict)
    check: Callable[[Mapping[str, Any]], None] | None = None
    # What the domain adds to the State, under `provides` (the domain's name unless given):
    # build(config, state) sees the shared parts and what the domains listed before it built.
    build: Callable[[Mapping[str, Any], Any], Any] | None = None
    provides: str = ""
    # The API: a blueprint and the msgspec schemas it adds to the document ("module:name").
    blueprint: str | None = None
    schemas: str | None = None
    # Web pages for people: a Flask blueprint ("module:name") built with service.web.pages, not
    # in the API's document. Its package's translations/ folder (if any) joins the catalogues.
    pages: str | None = None
    # Called with the application once every blueprint is registered ("module:function"): for
    # what spans the pages, such as the web shell's translations, CSRF and security headers.
    install: str | None = None
    # `safesignal` commands or command groups ("module:name").
    commands: tuple[str, ...] = ()
    jobs: tuple[Job, ...] = ()
    # Its tables of the main database: the module of its models ("package.module"), which
    # service.models imports so that the schema (and the migrations) see every table.
    models: str | None = None
    # Constraints between its settings and the retention periods of what it stores, checked at start.
    check_policies: Callable[[Mapping[str, Any], Any], None] | None = None
    # For retention: what it stores (in the purge order), tables it exempts, tables purged with another.
    holdings: tuple[Holding, ...] = ()
    exempt: Mapping[str, str] = field(default_factory=dict)
    purged_with: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def state_name(self) -> str:
        """The State attribute of what build() returns."""
        return self.provides or self.name
