"""The PySide6 emit() workaround: after importing the app's Qt helpers, emitting never costs a reference to True."""

from __future__ import annotations

import subprocess
import sys

# A fresh interpreter: the probe must see PySide6 as installed, before and after the workaround.
_CODE = """
import sys
from PySide6.QtCore import QObject, Signal
import wizard.qt_async
from wizard.qt_compat import emit_steals_true

class Emitter(QObject):
    flag = Signal(bool)

emitter = Emitter()
emitter.flag.connect(lambda value: None)
before = sys.getrefcount(True)
for _ in range(10_000):
    emitter.flag.emit(True)
print(sys.getrefcount(True) - before, emit_steals_true())
"""


def test_emitting_from_python_keeps_the_reference_count_of_true() -> None:
    result = subprocess.run([sys.executable, "-c", _CODE], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split() == ["0", "False"], result.stdout + result.stderr
