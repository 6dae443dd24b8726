"""Entry script of the frozen `mailwright-gui` executable (build.spec): the same as `mailwright`.

That executable has no console window on Windows, so a double-click opens only the wizard.
"""

import sys

if getattr(sys, "frozen", False) and ("--multiprocessing-fork" in sys.argv or "-c" in sys.argv[1:]):
    import multiprocessing

    # The relay runs in a spawned child, which starts this executable again: run the child, not the app.
    multiprocessing.freeze_support()

from wizard.cli import main

raise SystemExit(main(sys.argv[1:]))
