"""Domain errors: one base class per domain, one table from domain errors to HTTP answers, and
the orchestration the views used to hold, runnable without a request."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service import errors
from service.devices import services as devices
from service.signals import services as signals
from service.tracing import codes, exchange, services as tracing, tokens, uploads
from service.tracing.codes import new_code
from service.tracing.models import RedeemFailures


def test_every_tracing_error_derives_from_tracing_error():
    for kind in (tokens.InvalidToken, tracing.ReplayedToken, uploads.InvalidKeys, codes.InvalidCode, codes.TooManyFailures,
                 codes.QuotaExceeded, codes.NotPermitted, codes.BadOnset, codes.MalformedCode):
        assert issubclass(kind, codes.TracingError), kind


def test_every_error_of_a_package_derives_from_its_base():
    """Callers catch a package's errors by its one base (STYLE.md), whatever else they subclass."""
    import inspect

    from crypto import errors as crypto_errors
    from retention import errors as retention_errors, lease, policy, purge
    from service.audit import log as audit_log

    def raised_here(*modules):  # type: ignore[no-untyped-def]
        return {kind for module in modules for _, kind in inspect.getmembers(module, inspect.isclass)
                if issubclass(kind, Exception) and kind.__module__ == module.__name__}

    bases = {audit_log: audit_log.AuditError, crypto_errors: crypto_errors.CryptoError}
    for module, base in bases.items():
        assert raised_here(module) and all(issubclass(kind, base) for kind in raised_here(module)), module
    retention_kinds = raised_here(retention_errors, lease, policy, purge)
    assert {policy.PolicyError, lease.LeaseLost} <= retention_kinds
    assert all(issubclass(kind, retention_errors.RetentionError) for kind in retention_kinds)


def test_one_table_answers_the_domain_errors(app):
    # Each domain's views registered its errors when the app was built; nothing else is answered.
    assert errors.answer_for(tokens.InvalidToken()).status == 403  # type: ignore[union-attr]
    assert errors.answer_for(tracing.ReplayedToken()).status == 409  # type: ignore[union-attr]
    assert errors.answer_for(uploads.InvalidKeys({"keys.0.key_data": ["x"]})).status == 422  # type: ignore[union-attr]
    too_many = errors.answer_for(codes.TooManyFailures(60))
    assert too_many is not None and too_many.status == 429
    assert too_many.headers(codes.TooManyFailures(60)) == {"Retry-After": "60"}  # type: ignore[misc]
    assert errors.answer_for(signals.NotReleased("Not released.")).status == 404  # type: ignore[union-attr]
    assert errors.answer_for(signals.NoTerritory("No territory.")).status == 403  # type: ignore[union-attr]
    assert errors.answer_for(devices.EnrollmentError()).status == 403  # type: ignore[union-attr]
    assert errors.answer_for(ValueError("not a domain error")) is None


def test_a_failed_code_is_counted_by_the_exchange_itself_outside_any_request(app, clock, db_engine):
    state = app.extensions["safesignal"]
    with pytest.raises(codes.InvalidCode):
        exchange.exchange(state, new_code(), clock.now)
    with db_engine.connect() as connection:
        assert connection.scalar(select(RedeemFailures.failures)) == 1
