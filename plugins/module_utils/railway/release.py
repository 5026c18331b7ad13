# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The front door of a Railway release: ``Release`` reads, plans, applies, deploys, waits, verifies and recovers.

One release of a service and its processes, over the one RailwayClient of the railway_release module: the steps it
composes sit one floor below (variables, service_settings, source, provision, processes), the deployer beside it,
the client, documents and statuses at the bottom (see the package's __init__).
"""

from __future__ import annotations

import datetime
import os

from ansible_collections.backendops.stack.plugins.module_utils import health, migrations, release_record
from ansible_collections.backendops.stack.plugins.module_utils.railway import config_file, guards
from ansible_collections.backendops.stack.plugins.module_utils.railway.backups import (
    BackupFailed,
    DatabaseVolume,
    backup_reason,
    restore_command,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.client import (
    RailwayError,
    RailwayTarget,
    deployment_view,
    domain_list,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.deployer import Deployer, DeployFailed
from ansible_collections.backendops.stack.plugins.module_utils.railway.plan import (
    SETTING_NAMES,
    PlanError,
    plan,
    serving_deployment,
    shared_references,
    variables_plan,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.processes import (
    process_specs,
    reference_variables,
    spec_line,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.provision import (
    ServiceSpec,
    create_service,
    refuse_project_token,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.service_settings import (
    apply_settings,
    current_settings,
    scale_problem,
    settings_result,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.source import FOLLOWED_SOURCES, source_to_follow
from ansible_collections.backendops.stack.plugins.module_utils.railway.statuses import SUCCESS_STATUSES
from ansible_collections.backendops.stack.plugins.module_utils.railway.variables import masked_diff, set_variables, variable_scope
from ansible_collections.backendops.stack.plugins.module_utils.source_archive import SourceError, build_archive

CONFIG_FILE_NOTE = ("Railway stopped reading config as code (railway.json) on 2026-12-01; the same settings were set "
                    "through the API, so the file is only a record of them")


# --- a whole release -------------------------------------------------------------------------------------------------

class ReleaseFailed(DeployFailed):
    """The release failed: ``msg`` is its one line; ``result`` holds the failure, the log tail and the rollback."""


class Release:
    """One release of a service and its processes: read, plan, set variables and settings, deploy, wait, verify; on
    failure recover.

    The web service is deployed, waited for and verified first (its pre-deploy command migrates the database once);
    then each worker and cron process's service gets the same source (``processes``). ``options`` are
    railway_release's module options. ``run()`` returns the result, or raises ReleaseFailed with the one-line message
    (log tail, failure and rollback in its result). Variable values never enter the result.
    """

    def __init__(self, railway, options, desired_variables, settings, config_document, sources=None, notes=(), shared=None):
        self.railway = railway
        self.client = railway.client
        self.options = options
        self.desired = desired_variables
        # The environment's shared variables to set (only these: others' shared variables are left alone).
        self.shared = shared or {}
        self.scopes = {}
        self.settings = settings
        # Where each setting's value comes from (inventory, a config file, profile) and lines about that file.
        self.sources = sources or {}
        self.notes = list(notes)
        self.config_document = config_document
        self.result = {"changed": False}
        self.target = None
        # Each process's spec, its service's target and what was read, planned and done (see read_processes).
        self.processes = []
        # The repository's branch or image the release follows (source auto, repo or image), see source_to_follow.
        self.connection = None
        # The deployment that served before this run (the plan's), and the service's public address.
        self.previous_deployment_id = None
        self.domain = None
        self.health_url = None
        # The database volume backed up before migrating (None: no backup planned), and the migrations' digest.
        self.database = None
        self.migrations_digest = None
        self.restored = False

    def stop(self, msg, **extra):
        self.result.update(extra)
        self.publish_processes()
        # The message of a step that went through gives way to the one line of the failure.
        self.result.pop("msg", None)
        if self.result.get("changed") or self.result.get("backup"):
            self.record("restored" if self.restored else "failed", detail=msg)
        raise ReleaseFailed(msg, self.result)

    def record(self, outcome, detail=None):
        """Append this run to the release record (record_file); only a run that changed something is recorded."""
        path = self.options.get("record_file")
        if not path or self.railway.check_mode or self.target is None:
            return
        deployments = {}
        if (self.result.get("deployment") or {}).get("deployment_id"):
            deployments[self.target.service["name"]] = self.result["deployment"]["deployment_id"]
        for process in self.processes:
            if (process.get("deployment") or {}).get("deployment_id"):
                deployments[process["service"]] = process["deployment"]["deployment_id"]
        failure = self.result.get("failure") or {}
        if guards.write_record(path, self.target, self.railway.warn, deployments=deployments,
                               source_digest=self.result.get("source_digest"), commit=self.options.get("commit"),
                               migrations_digest=self.migrations_digest,
                               backup=(self.result.get("backup") or {}).get("id"), outcome=outcome,
                               # The step, never the message: a log tail could hold anything the app printed.
                               detail=detail and "; ".join("%s %s" % (key, failure[key]) for key in ("step", "railway_step")
                                                           if failure.get(key)) or None):
            self.result["record_file"] = path

    # --- read and plan -----------------------------------------------------------------------------------------------

    def read(self):
        options = self.options
        try:
            # The project's services are listed too when processes need their services found by name.
            self.target = target = self.railway.resolve(options["service"], list_services=bool(options.get("processes")))
            self.lock(target)
            instance, current = self.client.service_state(target.project_id, target.environment_id, target.service_id,
                                                          unrendered=True)
            latest, history = self.deployments_of(target, instance)
            settings, volume = current_settings(self.client, target.environment_id, target.service_id, self.settings,
                                                instance)
            self.scopes["service"] = self.scope(target, current, self.desired)
            if self.shared:
                shared_target = RailwayTarget(target.project, target.environment, None, [], [])
                self.scopes["shared"] = self.scope(shared_target, self.client.variables(
                    target.project_id, target.environment_id, None, unrendered=True), self.shared)
        except RailwayError as exc:
            self.stop("Nothing was deployed: step lookup (reading service %s from Railway) failed: %s"
                      % (options["service"], exc), step="lookup", **exc.details)
        try:
            options["source"], self.connection = source_to_follow(options, instance)
        except PlanError as exc:
            self.stop(str(exc), step="lookup")
        problem = scale_problem(target.service["name"], self.settings, volume)
        if problem:
            self.stop("Nothing was deployed: %s" % problem, step="settings")
        domains = domain_list(instance.get("domains"))
        self.domain = domains[0]["domain"] if domains else None
        self.result["target"] = dict(target.as_dict(), domain=self.domain,
                                     url="https://" + self.domain if self.domain else None)
        return current, settings, latest, history

    def lock(self, target):
        """Refuse (or wait, with wait_for_foreign) while another deployment of the service is under way."""
        foreign = guards.foreign_deployments(self.client, target)
        if not foreign:
            return
        if not self.options.get("wait_for_foreign"):
            self.stop(guards.foreign_line(target.service["name"], foreign[0]), step="lock",
                      foreign_deployments=[dict(d, started_by=guards.started_by(d)) for d in foreign])
        ended = guards.wait_for_foreign(self.client, foreign, self.options["wait_timeout"], self.options["poll_interval"])
        self.result["waited_for"] = [{"id": d["id"], "status": d.get("status")} for d in ended]
        late = [d for d in ended if d["timed_out"]]
        if late:
            self.stop("Nothing was sent: deployment %s of service %s is still %s after wait_timeout=%s s"
                      % (late[0]["id"], target.service["name"], late[0].get("status"), self.options["wait_timeout"]),
                      step="lock")

    def plan_backup(self, the_plan, current_settings):
        """Whether the database is backed up before this release migrates it; the plan names the volume."""
        options, target = self.options, self.target
        if options.get("path") and options.get("migrations_dir"):
            self.migrations_digest = migrations.directory_digest(os.path.join(options["path"], options["migrations_dir"]))
        last = release_record.last(options["record_file"], "released") if options.get("record_file") else None
        command = self.settings.get("pre_deploy_command") or current_settings.get("pre_deploy_command")
        reason = backup_reason(command, bool(the_plan["deploy_reasons"]), self.migrations_digest,
                               (last or {}).get("migrations_digest"), served=the_plan["previous_deployment_id"] is not None)
        the_plan["migrations_digest"] = self.migrations_digest
        if reason is None:
            the_plan["backup"] = None
            return
        database = DatabaseVolume(self.client, target.environment_id, options["database_service"],
                                  timeout=options["wait_timeout"], interval=options["poll_interval"])
        try:
            found = database.find()
        except RailwayError as exc:
            self.stop("Nothing was deployed: step lookup (finding the volume of %s) failed: %s"
                      % (options["database_service"], exc), step="lookup", **exc.details)
        if found is None:
            the_plan["backup"] = {"volume": None, "reason": reason}
            self.notes.append("backup: none, service %s has no volume in environment %s, though %s"
                              % (options["database_service"], target.environment["name"], reason))
            return
        self.database = database
        the_plan["backup"] = {"volume": database.describe(), "reason": reason}
        self.notes.append("backup: %s %s before migrating, because %s" % (
            "would back up" if self.railway.check_mode else "back up", database.describe(), reason))

    def back_up(self):
        """The backup before migrating; its failure ends the release before anything changed."""
        digest = self.migrations_digest
        # Unique, so that the backup is found by its name in the volume's list.
        name = "backendops before migrating %s at %s" % (digest[:12] if digest else "(digest unknown)",
                                                         datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        try:
            self.result["backup"] = self.database.back_up(name)
        except BackupFailed as exc:
            self.stop("Nothing was changed: step backup (backing up the database before migrating) failed: %s" % exc,
                      step="backup")

    def after_failed_migration(self, deployment_id) -> str:
        """What happens to the database after a migration failed: restored (restore_on_migration_failure) or how to."""
        backup = self.result["backup"]
        command = restore_command(self.options["restore_command"], backup["id"])
        if not self.options.get("restore_on_migration_failure"):
            return (" The database may be half migrated: restore backup %s (taken before migrating) with: %s"
                    % (backup["id"], command))
        try:
            backup["restore"] = self.database.restore(backup["id"], "backendops: restore %s after the failed migration "
                                                      "of deployment %s" % (backup["id"], deployment_id))
        except BackupFailed as exc:
            return " The database may be half migrated: %s; restore it with: %s" % (exc, command)
        self.restored = True
        return " The database was restored from backup %s (taken before migrating)." % backup["id"]

    def scope(self, target: RailwayTarget, current: dict, desired: dict) -> dict:
        return variable_scope(self.options.get("sealed_state_dir"), target, current, desired, self.options.get("sealed"))

    def set_scope(self, scope: dict, pending: dict | None = None) -> dict:
        return set_variables(self.railway, scope["target"], scope["current"], scope["desired"],
                             replace=self.options["replace"] and scope["target"].service_id is not None,
                             skip_deploys=True, sealed=scope["sealed"], memory=scope["memory"], pending=pending)

    def plan_shared(self, the_plan: dict) -> dict | None:
        """The shared variables' plan; a change of one the service refers to is a reason to deploy it."""
        if "shared" not in self.scopes:
            return None
        scope = self.scopes["shared"]
        shared = variables_plan(scope["current"], scope["desired"], False, scope["sealed"], scope["remembered"])
        referred = sorted(set(shared["added"] + shared["updated"]) & shared_references(self.desired.values()))
        if referred:
            the_plan["deploy_reasons"].append("the shared variables it refers to change (%s)" % ", ".join(referred))
        return shared

    def deployments_of(self, target, instance):
        """(latest deployment, recent ones): the recent ones only when the latest does not serve."""
        latest = deployment_view(instance.get("latestDeployment"))
        # Rare: the latest deployment failed or still runs; an older one serves, to compare with and roll back to.
        if latest is None or latest["serving"]:
            return latest, []
        return latest, [deployment_view(found) for found in self.client.deployments(
            target.project_id, target.environment_id, target.service_id, first=20)]

    def read_processes(self):
        """Each process's service as Railway has it, or as it will be created when provision_processes is set."""
        options, target = self.options, self.target
        web = target.service["name"]
        try:
            specs = process_specs(options.get("processes"), web, self.settings, options["process_service"],
                                  options["process_draining_seconds"])
        except PlanError as exc:
            self.stop(str(exc), step="lookup")
        # Web's values are stored once, in web: each process refers to them (Railway renders them into its deployments).
        desired = reference_variables(web, self.desired)
        for spec in specs:
            found = named(target.services, spec["service"])
            if found is None and not options["provision_processes"]:
                self.stop("Nothing was deployed: step lookup: service %s of process %s does not exist in project %s: set "
                          "provision_processes=true to create it (from %s's source), or leave it out of processes"
                          % (spec["service"], spec["name"], target.project["name"], web), step="lookup")
            try:
                if found is None:
                    refuse_project_token(self.client, "service %s of process %s" % (spec["service"], spec["name"]))
            except RailwayError as exc:
                self.stop("Nothing was deployed: step lookup: %s" % exc, step="lookup")
            process = dict(spec, desired=desired, created=False, history=[],
                           target=RailwayTarget(target.project, target.environment,
                                                dict(found) if found else {"id": None, "name": spec["service"]}, [], []))
            self.processes.append(process)
            if found is None:
                process.update(current={}, current_settings={option: None for option in SETTING_NAMES}, latest=None)
                continue
            try:
                instance, process["current"] = self.client.service_state(
                    target.project_id, target.environment_id, found["id"], unrendered=True)
                process["latest"], process["history"] = self.deployments_of(process["target"], instance)
                process["current_settings"], volume = current_settings(
                    self.client, target.environment_id, found["id"], spec["settings"], instance)
            except RailwayError as exc:
                self.stop("Nothing was deployed: step lookup (reading service %s of process %s from Railway) failed: %s"
                          % (spec["service"], spec["name"], exc), step="lookup", **exc.details)
            problem = scale_problem(spec["service"], spec["settings"], volume)
            if problem:
                self.stop("Nothing was deployed: %s" % problem, step="settings")
            # Its variables are references, never sealed here; one sealed in the dashboard is compared by digest.
            process["scope"] = self.scope(process["target"], process["current"], process["desired"])

    def creation_spec(self, process):
        """How a missing process service is created: from web's source (repository and branch, or image), or empty."""
        options = self.options
        return ServiceSpec(process["service"], source={"repo": options.get("process_source_repo"),
                                                       "image": options.get("process_source_image")},
                           branch=options.get("process_source_branch"))

    def plan_processes(self, web_plan):
        options = self.options
        # A reference is rendered when a deployment starts: new values of web's variables need a new deployment.
        updated = [name for name in web_plan["variables"]["updated"] if name in self.desired]
        for process in self.processes:
            serving = serving_deployment(process["latest"], process["history"])
            process["plan"] = plan(process["current"], process["desired"], options["replace"], process["current_settings"],
                                   process["settings"], process["latest"], serving, options["source"],
                                   source_digest=self.result.get("source_digest"), commit=options["commit"],
                                   force=options["force"], connection=self.connection,
                                   remembered=(process.get("scope") or {}).get("remembered"))
            if updated:
                process["plan"]["deploy_reasons"].append("the values of %s's variables it refers to change (%s)" % (
                    self.target.service["name"], ", ".join(updated)))
            created_with_source = process["target"].service_id is None and self.creation_spec(process).source
            if options["source"] == "redeploy" and process["latest"] is None and not created_with_source:
                self.stop("Nothing was deployed: service %s of process %s was never deployed, so source="
                          "redeploy has nothing to redeploy there: deploy once with upload or commit"
                          % (process["service"], process["name"]), step="lookup")

    def pack(self):
        options = self.options
        if options["source"] != "upload":
            return None
        try:
            archive = build_archive(options["path"], options["upload_allow"])
        except SourceError as exc:
            self.stop("Nothing was deployed: step upload (packing the source of service %s) failed: %s"
                      % (self.target.service["name"], exc), step="upload")
        self.result.update(source_digest=archive.digest, source_files=len(archive.files), source_withheld=archive.withheld)
        return archive

    def plan_lines(self, the_plan):
        """The plan as the lines the role shows: where, variables (names only), settings, and whether it deploys."""
        target = self.result["target"]
        lines = ["Railway %s / %s / %s (%s)%s" % (target["project"]["name"], target["environment"]["name"],
                                                  target["service"]["name"], target["service"]["id"],
                                                  ", check mode: nothing is sent" if self.railway.check_mode else "")]
        if self.connection and self.connection["change"]:
            lines.append("source: %(before)s -> %(after)s" % self.connection["change"])
        shared = the_plan.get("shared_variables")
        if shared is not None:
            lines.append(self.variable_line(shared, "shared variables "))
        lines += self.change_lines(the_plan, "", len(self.settings)) + self.notes
        for process in self.processes:
            service = process["target"].service
            lines.append(spec_line(process, " (%s)" % service["id"] if service["id"] else
                                   ", to create from %s" % self.creation_spec(process).describe_source()))
            lines += self.change_lines(process["plan"], "process %s " % process["name"], len(process["settings"]),
                                       "references to %s" % self.target.service["name"])
        return lines

    @staticmethod
    def variable_line(variables, prefix, values="values masked"):
        """One line of a scope's variable plan; sealed ones are named as not compared (their values cannot be read)."""
        if variables["differs"]:
            line = "%s(%s): add %s; update %s; remove %s" % ((prefix, values) + tuple(
                ", ".join(variables[kind]) or "-" for kind in ("added", "updated", "removed")))
        else:
            line = "%s: all %d as on Railway" % (prefix.rstrip(), variables["count"])
        if variables.get("sealed"):
            line += "; sealed, compared by the digest of the value sent last: %s" % ", ".join(variables["sealed"])
        return line

    def change_lines(self, the_plan, prefix, managed, values="values masked"):
        lines = [self.variable_line(the_plan["variables"], "%svariables " % prefix, values)]
        lines.append(("%ssettings: " % prefix + "; ".join(the_plan["settings_text"])) if the_plan["settings"]
                     else "%ssettings: all %d as on Railway" % (prefix, managed))
        if the_plan["deploy_reasons"]:
            lines.append("%sdeploy (%s): yes, because %s" % (prefix, self.options["source"],
                                                             "; ".join(the_plan["deploy_reasons"])))
        else:
            lines.append("%sdeploy (%s): no, deployment %s already serves %s with these variables and settings "
                         "(force=true deploys anyway)" % (prefix, self.options["source"],
                                                          the_plan["previous_deployment_id"],
                                                          the_plan["source"]["wanted"]))
        return lines

    def diff(self, current, the_plan):
        """--diff: variables (values masked) and settings before and after, of web and of each process's service."""
        entries = [(current, the_plan, "")]
        entries += [(process["current"], process["plan"], " of %s" % process["service"]) for process in self.processes]
        result = []
        if the_plan.get("shared_variables") is not None:
            result.append(dict(masked_diff(self.scopes["shared"]["current"], *[the_plan["shared_variables"][kind] for kind in (
                "added", "updated", "removed")]), before_header="shared variables (values masked)",
                after_header="shared variables (values masked)"))
        for variables, change, where in entries:
            result.append(dict(masked_diff(variables, *[change["variables"][kind] for kind in ("added", "updated", "removed")]),
                               before_header="variables%s (values masked)" % where,
                               after_header="variables%s (values masked)" % where))
            result.append({"before": {option: item["before"] for option, item in change["settings"].items()},
                           "after": {option: item["after"] for option, item in change["settings"].items()},
                           "before_header": "settings" + where, "after_header": "settings" + where})
        return result

    # --- the release -------------------------------------------------------------------------------------------------

    def run(self):
        options = self.options
        current, current_settings, latest, history = self.read()
        self.read_processes()
        self.health_url = options["health_url"].replace("{domain}", self.domain or "").rstrip("/")
        if options["verify_health"] and self.domain is None:
            self.stop("Service %s has no domain in environment %s, so its health cannot be verified: generate one "
                      "(service Settings -> Networking) or set verify_health=false."
                      % (self.target.service["name"], self.target.environment["name"]), step="lookup")
        if options["config_file"]:
            # Before packing, so that the upload carries the file.
            changed = config_file.write(options["config_file"], self.config_document, self.railway.check_mode)
            self.result["config_file"] = {"path": options["config_file"], "changed": changed,
                                          "msg": "Wrote %s. %s." % (options["config_file"], CONFIG_FILE_NOTE)}
            self.railway.warn(CONFIG_FILE_NOTE)
        archive = self.pack()
        serving = serving_deployment(latest, history)
        service = self.scopes["service"]
        the_plan = plan(current, self.desired, options["replace"], current_settings, self.settings, latest, serving,
                        options["source"], source_digest=self.result.get("source_digest"), commit=options["commit"],
                        force=options["force"], connection=self.connection, sources=self.sources,
                        sealed=service["sealed"], remembered=service["remembered"])
        the_plan["shared_variables"] = self.plan_shared(the_plan)
        self.plan_processes(the_plan)
        self.plan_backup(the_plan, current_settings)
        self.previous_deployment_id = the_plan["previous_deployment_id"]
        self.result.update(plan=the_plan, plan_text=self.plan_lines(the_plan), serving_deployment=serving)
        if self.railway.diff_mode:
            self.result["diff"] = self.diff(current, the_plan)
        if self.railway.check_mode:
            self.check_mode_outcome(the_plan)
            return self.result
        try:
            self.apply(the_plan, current, current_settings, archive)
        except DeployFailed as failure:
            self.recover(failure)
        self.deploy_processes(archive)
        self.publish_processes()
        if self.result["changed"]:
            self.record("released")
        return self.result

    def check_mode_outcome(self, the_plan):
        web = self.target.service["name"]
        shared = (the_plan["shared_variables"] or {}).get("differs")
        if not self.processes:
            self.result["changed"] = bool(the_plan["deploy_reasons"] or shared)
            self.result["msg"] = "Check mode: nothing was sent; a run would %s%s%sdeploy %s" % (
                self.backup_words(the_plan), "set shared variables and " if shared else "",
                "" if the_plan["deploy_reasons"] else "not ", web)
            return
        created = [p["service"] for p in self.processes if p["target"].service_id is None]
        deployed = [web] if the_plan["deploy_reasons"] else []
        deployed += [p["service"] for p in self.processes if p["plan"]["deploy_reasons"]]
        actions = (["set shared variables"] if shared else []) + (["create " + ", ".join(created)] if created else [])
        actions += ["deploy " + ", ".join(deployed)] if deployed else []
        self.result["changed"] = bool(actions)
        self.result["msg"] = "Check mode: nothing was sent; a run would %s%s" % (
            self.backup_words(the_plan), " and ".join(actions) or "deploy neither %s nor its processes" % web)
        self.publish_processes()

    @staticmethod
    def backup_words(the_plan) -> str:
        volume = (the_plan.get("backup") or {}).get("volume")
        return "back up %s before migrating, then " % volume if volume else ""

    def apply(self, the_plan, current, current_settings, archive):
        target = self.target
        variables = settings = None
        pending = {}
        if self.database is not None:
            self.back_up()
        shared_changed = self.apply_shared(the_plan)
        if the_plan["variables"]["differs"]:
            variables = self.step("variables_result", "variables",
                                  lambda: self.set_scope(self.scopes["service"], pending=pending))
        if the_plan["settings"]:
            settings = self.step("settings_result", "settings", lambda: settings_result(
                self.railway, self.settings, *apply_settings(self.railway, target.environment_id, target.service_id,
                                                             self.settings, current_settings, pending=pending)))
        if pending:
            # Variables and settings go in one request: its failure is the configuration's step when both were in it.
            name, step = ("configuration", "configuration") if len(pending) == 2 else \
                ("variables_result", "variables") if "variables" in pending else ("settings_result", "settings")

            def send():
                self.client.configure_service(target.project_id, target.environment_id, target.service_id, **pending)
                return self.result.get(name, {"changed": True})
            self.step(name, step, send)
        if self.connection and self.connection["change"]:
            self.step("source_connection", "source", self.connect)
        web_changed = bool((variables or {}).get("changed") or (settings or {}).get("changed")
                           or (self.connection and self.connection["change"]))
        self.result["changed"] = web_changed or shared_changed
        # Before any deployment: a process deployed later starts with its own settings and web's new values.
        self.configure_processes()
        if not (the_plan["source_reasons"] or web_changed or the_plan["deploy_reasons"]):
            self.result["msg"] = "%s: deployment %s serves %s" % (
                "Shared variables set" if shared_changed else "Nothing changed", the_plan["previous_deployment_id"],
                the_plan["source"]["wanted"])
            # What serves is verified all the same; when it is unhealthy the deployer explains it (no rollback: this
            # run deployed nothing).
            problem = self.health_problem(self.previous_deployment_id, deployed=False)
            if problem:
                Deployer(self.railway, self.deploy_options(target, the_plan), target=target).unhealthy(
                    self.previous_deployment_id, problem, roll_back=False)
            self.say_healthy()
            return
        deployer = Deployer(self.railway, self.deploy_options(target, the_plan), target=target, archive=archive,
                            verify=self.health_problem)
        try:
            deployment = deployer.deploy()
        except RailwayError as exc:
            raise DeployFailed(str(exc), deployer.result)
        self.result.update(changed=True, deployment=deployment, msg=deployment["msg"])
        self.say_healthy()

    def apply_shared(self, the_plan: dict) -> bool:
        """Set the shared variables first (the service's references to them render at its deployment)."""
        if not (the_plan["shared_variables"] or {}).get("differs"):
            return False
        scope = self.scopes["shared"]
        try:
            self.result["shared_variables_result"] = self.set_scope(scope)
        except RailwayError as exc:
            self.stop("Nothing was deployed: step shared variables (setting the shared variables of environment %s) "
                      "failed: %s" % (self.target.environment["name"], exc), step="shared_variables", **exc.details)
        return True

    def deploy_options(self, target, the_plan):
        """railway_deploy's options for deploying this release's source to ``target``."""
        options = self.options
        upload = options["source"] == "upload"
        source = options["source"]
        if source in FOLLOWED_SOURCES:
            # A new connection or commit: the branch's latest commit (or the image); else the serving one, reconfigured.
            source = "latest" if the_plan["source_reasons"] else "redeploy"
        return dict(
            service=target.service["name"], source=source, commit=options["commit"], rollback_to=None,
            path=options["path"] if upload else None, upload_allow=options["upload_allow"] if upload else [],
            deployment_message=the_plan["source"]["wanted"] if upload else None,
            wait=True, wait_via="subscription", wait_timeout=options["wait_timeout"],
            poll_interval=options["poll_interval"], log_lines=options["log_lines"],
            rollback_on_failure=options["rollback_on_failure"])

    def connect(self):
        """Connect the service to the repository's branch (or image) the release follows; Railway deploys nothing yet."""
        target, wanted = self.target, self.connection
        if wanted.get("repo"):
            self.client.connect_repo(target.project_id, target.environment_id, target.service_id, wanted["repo"], wanted["branch"],
                                     trigger_id=wanted.get("trigger_id"))
        else:
            self.client.update_service_instance(target.environment_id, target.service_id, {"source": {"image": wanted["image"]}})
        return {"changed": True, "before": wanted["change"]["before"], "after": wanted["change"]["after"]}

    def configure_processes(self):
        """Create the process services that are missing, then set their variables and settings (only what differs)."""
        for process in self.processes:
            target, step = process["target"], "create"
            try:
                if target.service_id is None:
                    target.service = create_service(self.client, target.project_id, target.environment_id,
                                                    self.creation_spec(process), process["desired"])
                    process.update(created=True, current=dict(process["desired"]))
                    self.result["changed"] = True
                step = "variables"
                variables = set_variables(self.railway, target, process["current"], process["desired"],
                                          replace=self.options["replace"], skip_deploys=True,
                                          memory=(process.get("scope") or {}).get("memory"))
                step = "settings"
                current, changes = apply_settings(self.railway, target.environment_id, target.service_id,
                                                  process["settings"], process["current_settings"])
            except RailwayError as exc:
                self.stop("Nothing was deployed: step %s (%s service %s of process %s) failed: %s; changed variables and "
                          "settings take effect with the next deployment" % (
                              step, {"create": "creating", "variables": "setting the variables of",
                                     "settings": "configuring"}[step], target.service["name"], process["name"], exc),
                          step=step, **exc.details)
            if variables["changed"]:
                process["variables_result"] = variables
            if changes:
                process["settings_result"] = settings_result(self.railway, process["settings"], current, changes)
            self.result["changed"] = self.result["changed"] or variables["changed"] or bool(changes)

    def deploy_processes(self, archive):
        """Deploy the source to every process whose plan says so: all started, then all waited for."""
        started, failed = [], []

        def attempt(process, deployer, step):
            """(went through, ``step()``'s outcome); a failure is recorded as the process's deployment."""
            try:
                return True, step()
            except DeployFailed as failure:
                process["deployment"] = dict(failure.result, failed=True, msg=failure.msg)
            except RailwayError as exc:
                process["deployment"] = dict(deployer.result, failed=True, msg=str(exc))
            failed.append(process)
            return False, None
        for process in [p for p in self.processes if p["plan"]["deploy_reasons"]]:
            deployer = Deployer(self.railway, self.deploy_options(process["target"], process["plan"]),
                                target=process["target"], archive=archive)
            if attempt(process, deployer, deployer.launch)[0]:
                started.append((process, deployer))
        for process, deployer in started:
            self.result["changed"] = True
            went_through, outcome = attempt(process, deployer, deployer.follow)
            if went_through:
                process["deployment"] = outcome
        if failed:
            self.processes_failed(failed)
        notes = ["process %s: %s" % (p["name"], p["deployment"]["msg"] if p.get("deployment") else "unchanged, deployment %s serves %s"
                                     % (p["plan"]["previous_deployment_id"], p["plan"]["source"]["wanted"]))
                 for p in self.processes]
        if notes:
            self.result["msg"] = "; ".join([self.result.get("msg", "")] + notes)

    def processes_failed(self, failed):
        """One line: the process whose deployment failed, its log tail, and what happened to the rest of the release."""
        first = failed[0]
        deployment = first["deployment"]
        failure = {"step": "deploy", "railway_step": (deployment.get("failed_step") or {}).get("step", "")}
        tail = deployment.get("log_tail") or []
        message = "Process %s (service %s) did not deploy: %s." % (first["name"], first["service"],
                                                                   (deployment.get("msg") or "no answer").rstrip("."))
        if len(failed) > 1:
            message += " Nor did %s." % ", ".join("process %s" % process["name"] for process in failed[1:])
        if tail:
            message += " Log tail: %s." % " | ".join(" ".join(str(line).split()) for line in tail[-3:])
        message += " " + self.roll_back_the_rest(failed)
        self.stop(message, failure=dict(failure, step="process", process=first["name"], service=first["service"],
                                        msg=message), log_tail=tail)

    def roll_back_the_rest(self, failed):
        """Roll back what this release made live (web and the processes that deployed) when asked; say what happened."""
        live = []
        web = self.result.get("deployment") or {}
        if web.get("serving"):
            live.append((self.target, self.previous_deployment_id, web["deployment_id"]))
        live += [(p["target"], p["plan"]["previous_deployment_id"], p["deployment"]["deployment_id"])
                 for p in self.processes if p not in failed and (p.get("deployment") or {}).get("serving")]
        if not live:
            return "Nothing else was deployed by this run."
        if not self.options["rollback_on_failure"]:
            return "Rollback is off (rollback_on_failure=false): %s stay%s live." % (
                ", ".join("%s's deployment %s" % (target.service["name"], new) for target, dummy, new in live),
                "s" if len(live) == 1 else "")
        done, rollbacks = [], {}
        for target, previous, new in live:
            name = target.service["name"]
            if previous is None:
                done.append("%s has no earlier deployment to roll back to (%s stays live)" % (name, new))
                continue
            try:
                outcome = Deployer(self.railway, deployment_options_for_rollback(self.options, target, previous),
                                   target=target).deploy()
                done.append("%s rolled back to %s (new deployment %s is %s)" % (
                    name, previous, outcome["deployment_id"], outcome["status"]))
            except DeployFailed as failure:
                outcome = dict(failure.result, failed=True, msg=failure.msg)
                done.append("the rollback of %s to %s failed: %s" % (name, previous, failure.msg))
            except RailwayError as exc:
                outcome = {"failed": True, "msg": str(exc)}
                done.append("the rollback of %s to %s failed: %s" % (name, previous, exc))
            rollbacks[name] = outcome
        self.result["rollbacks"] = rollbacks
        return "Rollback: %s." % "; ".join(done)

    def publish_processes(self):
        """What was read, planned and done for each process, in the result (names, settings and IDs; no value)."""
        if not self.processes:
            return
        keys = ("name", "kind", "service", "settings", "created", "plan", "variables_result", "settings_result", "deployment")
        self.result["processes"] = [{key: process[key] for key in keys if key in process} for process in self.processes]
        for shown, process in zip(self.result["processes"], self.processes):
            shown["target"] = dict(process["target"].as_dict())

    def step(self, name, step, action):
        """Run one step before the deployment; its failure ends the release: nothing was deployed."""
        try:
            outcome = action()
        except RailwayError as exc:
            self.result[name] = {"failed": True, "msg": str(exc)}
            self.fail(step_failure(step, self.target.service["name"], exc), {"step": step})
        self.result[name] = outcome
        return outcome

    def health_problem(self, deployment_id, deployed=True):
        """None when the service answers healthy at its public domain, where users reach it (Railway's own health
        check ran inside its network); else the one line of why not. ``deployed``: the deployment is this run's, so
        the details view (when it names the deployment that answers) must name it."""
        options = self.options
        if not options["verify_health"]:
            return None
        validate_certs = self.railway.params["validate_certs"]
        summary = "answers"
        if options["health_path"]:
            url = self.health_url + options["health_path"]
            answer = health.wait_until_answers(url, options["health_delay"] * (max(options["health_retries"], 1) - 1),
                                               options["health_delay"], validate_certs=validate_certs)
            self.result["health"] = {key: answer[key] for key in ("url", "status", "attempts", "failed", "error")
                                     if key in answer}
            if answer.get("failed"):
                return "Deployment %s is live, but GET %s answered %s after %s attempts" % (
                    deployment_id, url, health.answer_text(answer), answer["attempts"])
        details = options.get("health_details") or {}
        if details.get("path"):
            found = health.read_details(self.health_url + details["path"], details, options["health_token"],
                                        deployment_id if deployed else None, validate_certs=validate_certs)
            if "problem" in found:
                return "Deployment %s is live, but its detailed health check failed: %s" % (deployment_id, found["problem"])
            summary = health.summary(found)
        self.result["health_summary"] = summary
        return None

    def say_healthy(self):
        if not self.options["verify_health"]:
            self.result["msg"] = self.result.get("msg", "") + "; health not verified"
        else:
            self.result["msg"] = "%s; healthy at %s (%s)" % (self.result.get("msg", ""), self.health_url,
                                                             self.result["health_summary"])

    def recover(self, failure):
        """The deployer's failure (a failed or unhealthy deployment, rolled back when asked), told as one line with
        what serves now."""
        options = self.options
        deployment = dict(failure.result, failed=True, msg=failure.msg)
        if deployment.get("deployment_id") or not deployment.get("unhealthy"):
            # This run's deployment (an unhealthy one that served before is only explained).
            self.result["deployment"] = deployment
        if deployment.get("rollback"):
            self.result["rollback"] = deployment["rollback"]
        now = None
        if options["verify_health"] and (deployment.get("deployment_id") or deployment.get("unhealthy")):
            now = health.get(self.health_url + (options["health_path"] or ""),
                             validate_certs=self.railway.params["validate_certs"])
        told = deployment_failure(deployment, self.previous_deployment_id, self.settings, options, now)
        if self.result.get("backup") and told["railway_step"] == "PRE_DEPLOY_COMMAND":
            told["msg"] += self.after_failed_migration(deployment.get("deployment_id"))
        self.result["changed"] = bool(deployment.get("deployment_id")) or self.result["changed"]
        self.fail(told["msg"], told)

    def fail(self, message, failure):
        """End the release with one line; process services waiting for this one keep what they run."""
        waiting = [process["name"] for process in self.processes if process["plan"]["deploy_reasons"]]
        if waiting:
            # They keep what they run: a worker never runs code the database was not migrated for.
            message += " Not deployed, so they keep their deployments: process%s %s." % (
                "es" if len(waiting) > 1 else "", ", ".join(waiting))
        tail = failure.pop("log_tail", None) or []
        self.stop(message, failure=dict(failure, msg=message), log_tail=tail)


def named(services: list[dict], name: str) -> dict | None:
    """The service called ``name`` (case-insensitively when unambiguous, like the client's lookup), else None."""
    exact = [service for service in services if service["name"] == name]
    loose = exact or [service for service in services if service["name"].lower() == name.lower()]
    return loose[0] if len(loose) == 1 else None


def deployment_options_for_rollback(options, target, to_id):
    return dict(service=target.service["name"], source="rollback", rollback_to=to_id, commit=None, path=None,
                upload_allow=[], deployment_message=None, wait=True, wait_via="subscription",
                wait_timeout=options["wait_timeout"], poll_interval=options["poll_interval"],
                log_lines=options["log_lines"], rollback_on_failure=False)


# --- the one line of a failed release ---------------------------------------------------------------------------------

# What each step before the deployment does, and what its failure leaves for the next deployment.
STEP_WHAT = {
    "configuration": ("setting the variables and settings of %s, one request", ""),
    "variables": ("setting the variables of %s", ""),
    "settings": ("configuring service %s", "; changed variables take effect with the next deployment"),
    "source": ("connecting service %s to its repository or image",
               "; changed variables and settings take effect with the next deployment"),
}
# What a step of Railway's deployment means to the user, by the step Railway reports as failed.
RAILWAY_STEP_TEXT = {
    "BUILD_IMAGE": "The build failed",
    "CREATE_CONTAINER": "The new container did not start",
}


def no_dot(text) -> str:
    """The text without one final full stop, so sentences can be joined."""
    text = str(text or "")
    return text[:-1] if text.endswith(".") else text


def step_failure(step: str, service: str, error) -> str:
    what, after = STEP_WHAT[step]
    return "Nothing was deployed: step %s (%s) failed: %s%s" % (step, what % service, no_dot(error), after)


def deployment_failure(deployment: dict, previous: str | None, settings: dict, options: dict, now: dict | None = None) -> dict:
    """{step, railway_step, msg, log_tail} of a release whose deployment failed or went live unhealthy: the deployer's
    line (log tail and rollback included), what it means, and what serves now (``now``: a GET of the health path)."""
    deployment_id = deployment.get("deployment_id")
    tail = deployment.get("log_tail") or []
    step = (deployment.get("failed_step") or {}).get("step", "")
    path = options.get("health_path") or "/"
    answers = " (GET %s answers HTTP %s)" % (path, now["status"]) if now and now.get("status", -1) > 0 else ""
    if deployment.get("unhealthy"):
        message = no_dot(deployment["msg"]) + "."
        if deployment_id is None:
            message += " Nothing was deployed by this run."
        elif not options["rollback_on_failure"]:
            message += " Rollback is off (rollback_on_failure=false): deployment %s stays live." % deployment_id
        elif answers:
            message += " Now GET %s answers HTTP %s." % (path, now["status"])
        return {"step": "health", "railway_step": "", "msg": message, "log_tail": tail}
    if deployment_id is None:
        # Before a deployment existed (lookup, upload, start): the deployer's line names the step.
        return {"step": deployment.get("step", "upload"), "railway_step": "", "msg": deployment["msg"], "log_tail": tail}
    if step == "PRE_DEPLOY_COMMAND":
        what = "The database migration step (pre-deploy command '%s') failed" % " && ".join(
            settings.get("pre_deploy_command") or ["?"])
    elif step == "HEALTHCHECK":
        what = "Railway's health check on %s failed" % settings.get("healthcheck_path")
    else:
        what = RAILWAY_STEP_TEXT.get(step)
    if deployment.get("timed_out"):
        what = ("The deployment is still %s after wait_timeout=%s s; it carries on in Railway and goes live if it "
                "succeeds" % (deployment.get("status", ""), options.get("wait_timeout")))
    elif deployment.get("in_progress"):
        what = "Railway could not be asked about deployment %s (last status %s); it carries on in Railway" % (
            deployment_id, deployment.get("status"))
    elif what is None:
        # Railway's line names the deployment and its status: said once.
        what = "The new deployment did not go live"
    else:
        what += ", so the new deployment did not go live"
    message = "%s. Railway: %s." % (what, no_dot(deployment.get("msg")))
    rollback = deployment.get("rollback") or {}
    healthy_now = not now or now.get("status") == 200
    if rollback.get("action") in ("rolled_back", "failed", "impossible"):
        message += " Rollback: %s." % rollback["action"]
    elif rollback.get("action") == "not_needed" and healthy_now:
        # Railway's line already says that the previous deployment still serves.
        message += " GET %s answers HTTP %s." % (path, now["status"]) if answers else ""
    elif previous and healthy_now:
        message += " The previous deployment %s keeps serving%s." % (rollback.get("active_deployment_id", previous), answers)
    elif previous:
        message += " The previous deployment %s should keep serving, but GET %s answers %s." % (
            rollback.get("active_deployment_id", previous), path, health.answer_text(now))
    return {"step": "deploy", "railway_step": step, "msg": message, "log_tail": tail}


# --- by hand: restore a backup, roll back the last recorded release ---------------------------------------------------

def restore_by_hand(railway, options) -> dict:
    """Restore backup ``backup_id`` into the volume of ``database_service``, wait, commit; record it. One line on failure."""
    target = railway.resolve()
    database = DatabaseVolume(railway.client, target.environment_id, options["database_service"],
                              timeout=options["wait_timeout"], interval=options["poll_interval"])
    if database.find() is None:
        raise ReleaseFailed("Nothing was restored: service %s has no volume in environment %s" % (
            options["database_service"], target.environment["name"]), {"changed": False})
    what = "restore backup %s into %s" % (options["backup_id"], database.describe())
    if railway.check_mode:
        return {"changed": True, "msg": "Check mode: nothing was sent; a run would %s" % what}
    try:
        restored = database.restore(options["backup_id"], "backendops: %s by hand" % what)
    except BackupFailed as exc:
        raise ReleaseFailed(str(exc), {"changed": True}) from None
    result = {"changed": True, "restore": restored, "msg": "Restored backup %s into %s; Railway redeploys %s with it"
              % (options["backup_id"], database.describe(), options["database_service"])}
    record_by_hand(railway, options, target, {}, options["backup_id"], "restored", "restore by hand", result)
    return result


def previous_successful(deployments: list[dict], recorded_id: str) -> dict | None:
    """The deployment that served before ``recorded_id`` (newest first list): the first older one that succeeded."""
    ids = [deployment.get("id") for deployment in deployments]
    older = deployments[ids.index(recorded_id) + 1:] if recorded_id in ids else []
    # REMOVED: replaced by the newer one, which is how a deployment that served before it usually ends.
    return next((d for d in older if d.get("status") in SUCCESS_STATUSES | {"REMOVED"}), None)


def rollback_line(service: str, recorded_id: str, previous: dict | None) -> str | None:
    """Why ``service`` cannot be rolled back to ``previous``, or None when it can."""
    if previous is None:
        return "service %s has no successful deployment before %s to roll back to" % (service, recorded_id)
    if previous.get("status") in SUCCESS_STATUSES:
        return None
    if not previous.get("canRollback"):
        return ("deployment %s of service %s is outside Railway's rollback retention window (canRollback is false)"
                % (previous["id"], service))
    return None


def roll_back_last(railway, options) -> dict:
    """Roll each service of the last recorded release back to the deployment that served before it; record it."""
    path = options.get("record_file")
    last = release_record.last(path, "released") if path else None
    if not last or not last.get("deployments"):
        raise ReleaseFailed("Nothing was rolled back: %s holds no successful release" % (path or "no record_file"),
                            {"changed": False})
    steps, target = [], None
    for service, recorded_id in sorted(last["deployments"].items()):
        target = railway.resolve(service)
        history = railway.client.deployments(target.project_id, target.environment_id, target.service_id, first=20)
        previous = previous_successful(history, recorded_id)
        problem = rollback_line(service, recorded_id, previous)
        if problem:
            raise ReleaseFailed("Nothing was rolled back: %s" % problem, {"changed": False})
        steps.append((service, target, recorded_id, previous))
    if railway.check_mode:
        return {"changed": True, "msg": "Check mode: nothing was sent; a run would roll back %s" % "; ".join(
            "%s from %s to %s" % (service, recorded, previous["id"]) for service, dummy, recorded, previous in steps
            if previous["status"] == "REMOVED")}
    done, deployments = [], {}
    for service, service_target, recorded_id, previous in steps:
        if previous["status"] != "REMOVED":
            done.append("%s: deployment %s already serves" % (service, previous["id"]))
            continue
        try:
            outcome = Deployer(railway, deployment_options_for_rollback(options, service_target, previous["id"]),
                               target=service_target).deploy()
        except (DeployFailed, RailwayError) as exc:
            raise ReleaseFailed("The rollback of %s to %s failed: %s" % (service, previous["id"], getattr(exc, "msg", exc)),
                                {"changed": True}) from None
        deployments[service] = outcome["deployment_id"]
        done.append("%s rolled back to %s (new deployment %s)" % (service, previous["id"], outcome["deployment_id"]))
    result = {"changed": bool(deployments), "rollbacks": deployments, "msg": "Rollback: %s" % "; ".join(done)}
    if deployments:
        record_by_hand(railway, options, target, deployments, None, "rolled back", "rollback of the release of %s" % last.get("time"), result)
    return result


def record_by_hand(railway, options, target, deployments, backup, outcome, detail, result):
    path = options.get("record_file")
    if path and guards.write_record(path, target, railway.warn, deployments=deployments, backup=backup, outcome=outcome,
                                    detail=detail):
        result["record_file"] = path
