"""`python -m wizard` is the same as `mailwright`."""

import sys

if getattr(sys, "frozen", False) and ("--multiprocessing-fork" in sys.argv or "-c" in sys.argv[1:]):
    import multiprocessing

    # The relay runs in a spawned child (and multiprocessing's resource tracker), which start this executable
    # again with these arguments: run the child, not the CLI. Checked first, so a normal start skips the import.
    multiprocessing.freeze_support()

from wizard.cli import main

raise SystemExit(main())
