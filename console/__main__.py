"""`python -m console` runs the callconsole command line."""

from console.cli import main

raise SystemExit(main())
