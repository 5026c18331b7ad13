"""Entry point for ``python -m tools.railway_emulator``."""
from tools.railway_emulator.cli import main

raise SystemExit(main())
