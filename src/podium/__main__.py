"""`python -m podium`: the command line (`podium.cli`), as the `podium` script runs it."""

from podium.cli import main

raise SystemExit(main())
