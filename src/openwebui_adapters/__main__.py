"""`python -m openwebui_adapters` runs the command line."""

from .cli import main

raise SystemExit(main())
