"""`override` without importing typing_extensions at run time (about 4 ms before the wizard's first paint).

Type checkers see typing_extensions.override (typing.override from Python 3.12 on); at run time the decorator
only marks the method, as typing_extensions' own does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["override"]

if TYPE_CHECKING:
    from typing_extensions import override
else:

    def override(method):
        method.__override__ = True
        return method
