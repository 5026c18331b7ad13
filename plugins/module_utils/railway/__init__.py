# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Railway, as one package with one front door: ``release.Release`` (plan -> apply -> deploy -> wait -> verify ->
recover). Each floor imports only the floors below it:

5. release           the Release, and the one line of a failed release
4. deployer          start, follow, verify, explain (the one log-tail reader) and roll back one deployment
   inputs            a release's inputs, checked before any request
   guards            the lock (no release over a foreign deployment under way) and the release's record entry
3. variables         the variables step (railway_variables applies it alone)
   service_settings  the settings step (railway_service applies it alone)
   processes         the worker and cron process services
   provision         what is missing, created (railway_provision, railway_project, ...)
   backups           the database's backup before a migration, its restore, and backup schedules
2. source            what a release deploys from: upload, commit, a followed repository or image
   config_file       the app's railway.json / railway.toml read, and railway.json written
   sealed            digests of sealed values sent last
   module            the AnsibleModule glue of the railway_* modules
1. client            the GraphQL client
   plan              pure comparisons: variables, settings, source, whether to deploy, drift (and PlanError)
0. documents         the GraphQL operations
   settings          the one table of service settings, and the rules of their values
   statuses          what deployment statuses mean

Generic pieces live beside the package and never import it: waiter, health, source_archive.
"""
