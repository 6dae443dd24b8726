"""The certificate renewal loads Microsoft 365's code (msal, requests) only when an app is set up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Runs the renewal's first round in a fresh interpreter and says which heavy modules it loaded.
_PROBE = """
import asyncio, sys
from wizard.services.certificate_renewal import CertificateRenewal

async def main():
    seen = []
    renewal = CertificateRenewal(on_outcomes=seen.append)
    renewal.start()
    await asyncio.sleep(0.5)
    await renewal.stop()

asyncio.run(main())
print(sorted(m for m in ("msal", "requests", "wizard.services.m365.rotation") if m in sys.modules))
"""


def _loaded_by_renewal(home: Path) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True,
                          env={**os.environ, "MAILWRIGHT_HOME": str(home)})
    return list(json.loads(done.stdout.strip().replace("'", '"')))


def test_with_no_microsoft_365_app_set_up_nothing_of_it_is_loaded(tmp_path: Path) -> None:
    assert _loaded_by_renewal(tmp_path) == []


def test_with_a_set_up_record_the_renewal_checks_it(tmp_path: Path) -> None:
    (tmp_path / "m365").mkdir(mode=0o700)
    (tmp_path / "m365" / "main.json").write_text("{}")  # unreadable as a record: the round logs it, never raises
    assert "wizard.services.m365.rotation" in _loaded_by_renewal(tmp_path)
