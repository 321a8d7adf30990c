"""The built wheel carries everything the service needs at run time, and the service starts from it.

The source is copied (with a web template and a static file added, as the next issue will) and
built offline into a wheel, which is installed with pip into a directory of its own; then, from
another directory, `safesignal db upgrade` migrates both databases and `create_app()` answers
/v1/health, with Python importing only the installed copy.
"""

from __future__ import annotations

import base64
import secrets
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What the service opens by path at run time (beside the code).
RUNTIME_FILES = [
    "retention/default_policy.toml",
    "service/taxonomy/default_taxonomy.json",
    "service/areas/demo_areas.geojson",
    "service/migrations/env.py",
    "service/migrations/script.py.mako",
    "service/migrations/versions/0001_initial_schema.py",
    "service/migrations/keys_versions/k0001_key_vault_epoch_data_keys.py",
    "crypto/exposure_export.proto",
    "crypto/exposure_export_pb2.py",
    "service/gunicorn.py",
    # the pages: templates, static files and compiled translations
    "service/web/templates/web/base.html",
    "service/web/static/css/site.css",
    "service/web/static/js/audit-verify.js",
    "service/web/translations/fr/LC_MESSAGES/messages.mo",
    "service/counter/translations/nl/LC_MESSAGES/messages.mo",
]

STARTS = """
import sys
from pathlib import Path

import service
from service import create_app

site = Path(sys.argv[1]).resolve()
assert Path(service.__file__).resolve().is_relative_to(site), service.__file__
import retention, crypto
for package in (retention, crypto):
    assert Path(package.__file__).resolve().is_relative_to(site), package.__file__
client = create_app().test_client()
response = client.get("/v1/health")
assert response.status_code == 200, response.status_code
# The pages, translated, with their style sheet: templates, translations and static files came along.
page = client.get("/sign-in", headers={"Accept-Language": "fr"}, base_url="https://localhost")
assert page.status_code == 200 and "Se connecter" in page.get_data(as_text=True), page.status_code
assert client.get("/static/web/css/site.css", base_url="https://localhost").status_code == 200
print("started from the wheel")
"""


def test_an_installed_wheel_starts_the_service(tmp_path: Path) -> None:
    """Build the wheel, install it, migrate and start the service from it alone."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "instance", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "tests", "bench", "docs"))
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                    "--wheel-dir", str(dist), str(source)], check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = dist.glob("safesignal-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [name for name in RUNTIME_FILES if name not in names] == []

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, cwd=tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    secret = lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()  # noqa: E731
    env = {
        "PATH": "/usr/bin:/bin",
        # The installed copy first; the test environment's site-packages only for the dependencies.
        "PYTHONPATH": str(site),
        "SAFESIGNAL_ENV": "production",
        "SAFESIGNAL_DATABASE_URL": f"sqlite:///{work / 'safesignal.db'}",
        "SAFESIGNAL_KEYS_DATABASE_URL": f"sqlite:///{work / 'keys.db'}",
        "SAFESIGNAL_KEK": secret(),
        "SAFESIGNAL_PSEUDONYM_KEY": secret(),
        "SAFESIGNAL_AUDIT_SIGNING_KEY": secret(),
        "SAFESIGNAL_AUDIT_MAC_KEY": secret(),
        "SAFESIGNAL_TRACING_TOKEN_KEY": secret(),
        "SAFESIGNAL_WEB_SECRET_KEY": secret(),
    }
    migrate = subprocess.run([sys.executable, "-c", "from service.cli import main; main()", "db", "upgrade"],
                             cwd=work, env=env, capture_output=True, text=True)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    started = subprocess.run([sys.executable, "-c", STARTS, str(site)], cwd=work, env=env, capture_output=True, text=True)
    assert started.returncode == 0, started.stderr[-2000:]
    assert "started from the wheel" in started.stdout
