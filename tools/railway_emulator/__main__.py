# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Entry point for ``python -m tools.railway_emulator``."""
from tools.railway_emulator.cli import main

raise SystemExit(main())
