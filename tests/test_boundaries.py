"""Architecture rules that are checked, not hoped for."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import wizard.services

ROOT = Path(__file__).resolve().parents[1]


def test_services_never_load_qt_widgets() -> None:
    modules = [m.name for m in pkgutil.walk_packages(wizard.services.__path__, "wizard.services.")]
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.startswith('PySide6')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = eval(result.stdout)
    assert "PySide6.QtWidgets" not in loaded and "PySide6.QtGui" not in loaded, loaded
    assert len(modules) >= 8


def test_headless_commands_do_not_import_qt() -> None:
    code = ("import sys\nfrom wizard.cli import build_parser\nbuild_parser()\n"
            "print(any(m.startswith('PySide6') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"


def test_tls_verification_is_never_switched_off() -> None:
    offenders = [str(p) for p in (ROOT / "wizard").rglob("*.py")
                 if any(bad in p.read_text() for bad in ("verify=False", "CERT_NONE", "check_hostname = False",
                                                          "check_hostname=False"))]
    assert offenders == []
