# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Railway API emulator: a local stand-in for backboard.railway.com used by tests, molecule and benchmarks.

It serves a strict subset of Railway's public GraphQL schema (``schema.graphql`` beside this file), the
``railway up`` source-upload endpoint and an admin API (``/_emulator``) that drives an emulated clock,
injects faults and exposes counters. See ``docs/emulator.md``.
"""
