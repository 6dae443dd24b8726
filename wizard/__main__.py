"""`python -m wizard` is the same as `mailwright`."""

from wizard.cli import main

raise SystemExit(main())
