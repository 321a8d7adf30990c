"""The layers hold: the import-linter contracts of pyproject.toml, and no Flask in the core at run time.

A back-arrow (retention importing the service, a model importing Flask, one domain's views
importing another's) fails here, and so fails CI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The core: what a scheduled job, a CLI command or a benchmark loads without an application.
CORE_GLOBS = ("crypto/*.py", "database/*.py", "retention/*.py", "service/models.py", "service/*/models.py",
              "service/*/services.py", "service/*/store.py", "service/*/holdings.py", "service/decoding.py",
              "service/domain.py", "service/domains.py", "service/*/domain.py", "service/*/jobs.py",
              "service/signals/weeks.py", "service/signals/protection.py", "service/signals/publication.py",
              "service/tracing/exchange.py")


def _core_modules() -> list[str]:
    paths = sorted({path for pattern in CORE_GLOBS for path in ROOT.glob(pattern)})
    modules = [".".join(path.relative_to(ROOT).with_suffix("").parts) for path in paths]
    return [module.removesuffix(".__init__") for module in modules]


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_core_loads_no_flask():
    modules = _core_modules()
    assert "retention.purge" in modules and "service.reports.store" in modules and "database.engines" in modules
    script = ("import importlib, sys\n"
              f"for name in {modules!r}:\n"
              "    importlib.import_module(name)\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'flask_smorest', 'werkzeug')))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
