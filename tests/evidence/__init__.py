# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Evidence checks: each returns rows that a test in tests/integration asserts and benchmarks/report.py prints.

fault_matrix  Railway modules under every fault the emulator injects
secret_leaks  canary secrets looked for in output, generated files, image layers, container metadata
durability    rows and queue jobs of the sample backend across re-runs, rebuilds and restarts
bad_input     malformed values for every role and module
"""
