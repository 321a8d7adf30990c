"""Helpers of the tracing tests: a testing pharmacy, and the reference client over Flask's test client."""

from __future__ import annotations

from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric import ec


class FlaskTransport:
    """tracing_client's transport over Flask's test client: real requests through the app."""

    def __init__(self, client):  # type: ignore[no-untyped-def]
        self.client = client

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], bytes]:
        response = self.client.post(path, data=body, headers=dict(headers))
        return response.status_code, dict(response.headers), response.get_data()

    def get(self, path: str, headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], bytes]:
        response = self.client.get(path, headers=dict(headers))
        return response.status_code, dict(response.headers), response.get_data()


def granted_pharmacy(partners, name: str = "Apotheek De Linde") -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A pharmacy the operator allowed to issue codes: its id and token."""
    organisation_id, token = partners.add("pharmacy", name, partners.area())
    partners.run("tracing", "grant", organisation_id)
    assert token
    return organisation_id, token


def export_public_key(app) -> ec.EllipticCurvePublicKey:  # type: ignore[no-untyped-def]
    """What the apps are given: the public half of the export signing key."""
    return app.extensions["safesignal"].tracing.export_signer().public_key()


def export(partners) -> str:  # type: ignore[no-untyped-def]
    """Build the due export batches as the operator (or the scheduler) does."""
    return partners.run("tracing", "export")
