"""Work around PySide6 bugs that would otherwise crash the app; each one is detected, never assumed.

PySide6 6.12.0: `SignalInstance.emit()` returns `True` without taking a reference to it, so every emit
from Python steals one reference to `True`. On Python < 3.12 (`True` is not immortal) enough emits make
its count reach zero and the interpreter aborts ("Fatal Python error: bool_dealloc"), typically while
shutting down. 6.11.x does not have the bug. The probe below emits once and measures; only a build that
loses the reference is patched, and the patch gives the reference back.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance


class _Probe(QObject):
    fired = Signal()


def emit_steals_true() -> bool:
    """True when this PySide6 build's `emit()` returns a reference to `True` it does not own."""
    probe = _Probe()
    before = sys.getrefcount(True)
    probe.fired.emit()
    return sys.getrefcount(True) < before


def _install() -> None:
    original = SignalInstance.emit

    def emit(self: SignalInstance, *args: Any) -> Any:
        result: object = original(self, *args)
        if isinstance(result, bool):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))
        return result

    SignalInstance.emit = emit  # type: ignore[method-assign]


if emit_steals_true():
    _install()
