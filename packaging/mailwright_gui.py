"""Entry script of the frozen `mailwright-gui` executable (build.spec): the same as `mailwright`.

That executable has no console window on Windows, so a double-click opens only the wizard.
"""

import sys

from wizard.cli import main

raise SystemExit(main(sys.argv[1:]))
