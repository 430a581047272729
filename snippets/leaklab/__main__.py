"""`python -m leaklab`: the same command line as the `leaklab` console script."""

from .cli import main

raise SystemExit(main())
