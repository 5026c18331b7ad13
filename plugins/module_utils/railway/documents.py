# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every GraphQL document the collection sends to Railway, in one place.

The client refuses documents that are not registered here, so
tests/unit/test_graphql_documents.py can validate the complete set against Railway's published schema.
"""

from __future__ import annotations

DOCUMENTS = {}


class GraphQLDocument:
    """A named GraphQL operation.

    ``retry_safe`` says whether the operation may be sent again after an ambiguous failure (connection lost after
    sending, 502, 504): queries and idempotent writes may; operations that create deployments or delete things may
    not, because a repeat could deploy twice or fail on the already-deleted object. Queries (reads) are also
    repeated after an HTTP 500 and Railway's "Problem processing request"; writes are not, as they may have been
    applied.
    """

    __slots__ = ("name", "text", "retry_safe")

    def __init__(self, name, text, retry_safe=True):
        self.name = name
        self.text = text.strip() + "\n"
        self.retry_safe = retry_safe

    @property
    def is_mutation(self):
        return self.text.startswith("mutation")

    @property
    def is_subscription(self):
        return self.text.startswith("subscription")

    def __repr__(self):
        return "GraphQLDocument(%r)" % self.name


def _register(name, text, retry_safe=True):
    if name in DOCUMENTS:
        raise ValueError("GraphQL document %s registered twice" % name)
    document = GraphQLDocument(name, text, retry_safe=retry_safe)
    DOCUMENTS[name] = document
    return document


# Fragments are plain text pasted into the documents that use them, so every document is self-contained.
_NAMED_NODES = """
fragment NamedEnvironments on Project {
  environments { edges { node { id name } } }
}
fragment NamedServices on Project {
  services { edges { node { id name } } }
}
"""

_DEPLOYMENT_FIELDS = """
fragment DeploymentFields on Deployment {
  id
  status
  createdAt
  statusUpdatedAt
  url
  staticUrl
  meta
  canRedeploy
  canRollback
}
"""

_SERVICE_INSTANCE_SETTINGS = """
fragment ServiceInstanceSettings on ServiceInstance {
  id
  serviceId
  serviceName
  environmentId
  buildCommand
  builder
  dockerfilePath
  rootDirectory
  startCommand
  preDeployCommand
  healthcheckPath
  healthcheckTimeout
  restartPolicyType
  restartPolicyMaxRetries
  numReplicas
  overlapSeconds
  drainingSeconds
  sleepApplication
  region
  cronSchedule
  watchPatterns
}
"""

# --- Name resolution -------------------------------------------------------------------------------------------------

# A project token knows its own project and environment; one request also lists the project's environments
# and services.
PROJECT_TOKEN_QUERY = _register("ProjectToken", """
query ProjectToken {
  projectToken {
    project { id name ...NamedEnvironments ...NamedServices }
    environment { id name }
  }
}
""" + _NAMED_NODES)

# Account tokens: the projects of every workspace the user belongs to, with their environments and services, so
# that a project found by name needs no second request.
USER_PROJECTS_QUERY = _register("UserProjects", """
query UserProjects {
  me {
    workspaces {
      id
      name
      projects(first: 500) { edges { node { id name ...NamedEnvironments ...NamedServices } } }
    }
  }
}
""" + _NAMED_NODES)

# Workspace tokens have no user, so `me` fails; `projects` lists what the token can see. Any failure of `me` falls
# back to this.
PROJECTS_QUERY = _register("Projects", """
query Projects {
  projects(first: 500) { edges { node { id name ...NamedEnvironments ...NamedServices } } }
}
""" + _NAMED_NODES)

PROJECT_QUERY = _register("Project", """
query Project($id: String!) {
  project(id: $id) { id name ...NamedEnvironments ...NamedServices }
}
""" + _NAMED_NODES)

# --- Reading state ---------------------------------------------------------------------------------------------------

# What both service reads select of a service instance: settings, latest deployment, domains.
_SERVICE_INSTANCE_STATE = """
  serviceInstance(environmentId: $environmentId, serviceId: $serviceId) {
    ...ServiceInstanceSettings
    source { repo image }
    latestDeployment { ...DeploymentFields }
    domains {
      serviceDomains { id domain targetPort }
      customDomains { id domain targetPort }
    }
  }"""

SERVICE_INSTANCE_QUERY = _register("ServiceInstance", """
query ServiceInstance($environmentId: String!, $serviceId: String!) {""" + _SERVICE_INSTANCE_STATE + """
}
""" + _SERVICE_INSTANCE_SETTINGS + _DEPLOYMENT_FIELDS)

# The same and the service's variables in one request (railway_info, once per service).
SERVICE_STATE_QUERY = _register("ServiceState", """
query ServiceState($projectId: String!, $environmentId: String!, $serviceId: String!, $unrendered: Boolean) {""" + _SERVICE_INSTANCE_STATE + """
  variables(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId, unrendered: $unrendered)
  deploymentTriggers(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId) {
    edges { node { id repository branch } }
  }
}
""" + _SERVICE_INSTANCE_SETTINGS + _DEPLOYMENT_FIELDS)

VARIABLES_QUERY = _register("Variables", """
query Variables($projectId: String!, $environmentId: String!, $serviceId: String, $unrendered: Boolean) {
  variables(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId, unrendered: $unrendered)
}
""")

DEPLOYMENT_QUERY = _register("Deployment", """
query Deployment($id: String!) {
  deployment(id: $id) { ...DeploymentFields }
}
""" + _DEPLOYMENT_FIELDS)

DEPLOYMENTS_QUERY = _register("Deployments", """
query Deployments($input: DeploymentListInput!, $first: Int) {
  deployments(input: $input, first: $first) {
    edges { node { ...DeploymentFields } }
  }
}
""" + _DEPLOYMENT_FIELDS)

# A release's lock: the service's deployments still under way, with who or what started them.
ACTIVE_DEPLOYMENTS_QUERY = _register("ActiveDeployments", """
query ActiveDeployments($input: DeploymentListInput!, $first: Int) {
  deployments(input: $input, first: $first) {
    edges { node { id status createdAt meta creator { name email } } }
  }
}
""")

# The wait for a deployment: Railway pushes every change over WebSocket (graphql-transport-ws), like its CLI does;
# polling DEPLOYMENT_QUERY takes over when the socket cannot be opened or drops.
DEPLOYMENT_SUBSCRIPTION = _register("DeploymentUpdates", """
subscription DeploymentUpdates($id: String!) {
  deployment(id: $id) { ...DeploymentFields }
}
""" + _DEPLOYMENT_FIELDS)

DEPLOYMENT_EVENTS_QUERY = _register("DeploymentEvents", """
query DeploymentEvents($id: String!, $first: Int) {
  deploymentEvents(id: $id, first: $first) {
    edges {
      node {
        step
        createdAt
        completedAt
        payload { error reason detail attempt maxAttempts }
      }
    }
  }
}
""")

BUILD_LOGS_QUERY = _register("BuildLogs", """
query BuildLogs($deploymentId: String!, $limit: Int) {
  buildLogs(deploymentId: $deploymentId, limit: $limit) { timestamp message severity }
}
""")

DEPLOYMENT_LOGS_QUERY = _register("DeploymentLogs", """
query DeploymentLogs($deploymentId: String!, $limit: Int) {
  deploymentLogs(deploymentId: $deploymentId, limit: $limit) { timestamp message severity }
}
""")

# --- Changing state --------------------------------------------------------------------------------------------------

# Upserting the same collection twice leaves the same state, so a retry after a lost answer is harmless.
VARIABLE_COLLECTION_UPSERT_MUTATION = _register("VariableCollectionUpsert", """
mutation VariableCollectionUpsert($input: VariableCollectionUpsertInput!) {
  variableCollectionUpsert(input: $input)
}
""")

# A release's variables and settings in one request (the fields run in order): deploys skipped, the release deploys.
SERVICE_CONFIGURE_MUTATION = _register("ServiceConfigure", """
mutation ServiceConfigure($variables: VariableCollectionUpsertInput!, $environmentId: String, $serviceId: String!,
                          $settings: ServiceInstanceUpdateInput!) {
  variableCollectionUpsert(input: $variables)
  serviceInstanceUpdate(environmentId: $environmentId, serviceId: $serviceId, input: $settings)
}
""")

# Railway's variable upserts cannot seal a variable; an environment patch with isSealed can. Staging it merges into
# the staged patch (the same again changes nothing); committing the staged patch can skip the deploys, which
# environmentPatchCommit cannot. A second commit after a lost answer would commit nothing new, but is not sent.
ENVIRONMENT_STAGE_CHANGES_MUTATION = _register("EnvironmentStageChanges", """
mutation EnvironmentStageChanges($environmentId: String!, $input: EnvironmentConfig!) {
  environmentStageChanges(environmentId: $environmentId, input: $input, merge: true) { id }
}
""")

ENVIRONMENT_PATCH_COMMIT_STAGED_MUTATION = _register("EnvironmentPatchCommitStaged", """
mutation EnvironmentPatchCommitStaged($environmentId: String!, $skipDeploys: Boolean, $commitMessage: String) {
  environmentPatchCommitStaged(environmentId: $environmentId, skipDeploys: $skipDeploys, commitMessage: $commitMessage)
}
""", retry_safe=False)

VARIABLE_DELETE_MUTATION = _register("VariableDelete", """
mutation VariableDelete($input: VariableDeleteInput!) {
  variableDelete(input: $input)
}
""", retry_safe=False)

SERVICE_INSTANCE_UPDATE_MUTATION = _register("ServiceInstanceUpdate", """
mutation ServiceInstanceUpdate($environmentId: String, $serviceId: String!, $input: ServiceInstanceUpdateInput!) {
  serviceInstanceUpdate(environmentId: $environmentId, serviceId: $serviceId, input: $input)
}
""")

# Resource limits, the service's regions (ServiceInstance has no multiRegionConfig; the environment's config holds
# it) and whether a volume is mounted (Railway runs one replica with a volume); read only when those are managed.
SERVICE_SCALE_QUERY = _register("ServiceScale", """
query ServiceScale($environmentId: String!, $serviceId: String!) {
  serviceInstanceLimitOverride(environmentId: $environmentId, serviceId: $serviceId)
  environment(id: $environmentId) {
    config(decryptVariables: false)
    volumeInstances { edges { node { serviceId } } }
  }
}
""")

SERVICE_INSTANCE_LIMITS_UPDATE_MUTATION = _register("ServiceInstanceLimitsUpdate", """
mutation ServiceInstanceLimitsUpdate($input: ServiceInstanceLimitsUpdateInput!) {
  serviceInstanceLimitsUpdate(input: $input)
}
""")

SERVICE_INSTANCE_DEPLOY_MUTATION = _register("ServiceInstanceDeployV2", """
mutation ServiceInstanceDeployV2($environmentId: String!, $serviceId: String!, $commitSha: String) {
  serviceInstanceDeployV2(environmentId: $environmentId, serviceId: $serviceId, commitSha: $commitSha)
}
""", retry_safe=False)

# A repository's branch, connected without a deployment: the release sets variables and settings first, then deploys
# the branch's latest commit once (serviceInstanceDeployV2 without a commit).
SERVICE_REPO_CONNECT_MUTATION = _register("ServiceRepoConnect", """
mutation ServiceRepoConnect($environmentId: String!, $serviceId: String!, $source: ServiceInstanceUpdateInput!,
                            $trigger: DeploymentTriggerCreateInput!) {
  serviceInstanceUpdate(environmentId: $environmentId, serviceId: $serviceId, input: $source)
  deploymentTriggerCreate(input: $trigger) { id branch repository }
}
""", retry_safe=False)

DEPLOYMENT_TRIGGER_UPDATE_MUTATION = _register("DeploymentTriggerUpdate", """
mutation DeploymentTriggerUpdate($id: String!, $input: DeploymentTriggerUpdateInput!) {
  deploymentTriggerUpdate(id: $id, input: $input) { id branch repository }
}
""")

DEPLOYMENT_REDEPLOY_MUTATION = _register("DeploymentRedeploy", """
mutation DeploymentRedeploy($id: String!) {
  deploymentRedeploy(id: $id) { id status }
}
""", retry_safe=False)

DEPLOYMENT_ROLLBACK_MUTATION = _register("DeploymentRollback", """
mutation DeploymentRollback($id: String!) {
  deploymentRollback(id: $id)
}
""", retry_safe=False)

# --- Provisioning ----------------------------------------------------------------------------------------------------

# A workspace token has no user; with a workspace ID it reads that workspace's projects (Not Authorized for others).
WORKSPACE_PROJECTS_QUERY = _register("WorkspaceProjects", """
query WorkspaceProjects($workspaceId: String!) {
  workspace(workspaceId: $workspaceId) {
    id
    name
    projects(first: 500) { edges { node { id name ...NamedEnvironments ...NamedServices } } }
  }
}
""" + _NAMED_NODES)

# What provisioning compares in one environment: each service's source, start command and domains, and the volumes.
ENVIRONMENT_RESOURCES_QUERY = _register("EnvironmentResources", """
query EnvironmentResources($id: String!) {
  environment(id: $id) {
    id
    name
    serviceInstances {
      edges {
        node {
          serviceId
          serviceName
          startCommand
          source { repo image }
          domains { serviceDomains { id domain targetPort } }
        }
      }
    }
    volumeInstances { edges { node { id mountPath serviceId volume { id name } } } }
    variables { edges { node { name serviceId } } }
    deploymentTriggers { edges { node { id serviceId repository branch } } }
  }
}
""")

# Creating twice would make two projects (names need not be unique on Railway), so no blind repeat.
PROJECT_CREATE_MUTATION = _register("ProjectCreate", """
mutation ProjectCreate($input: ProjectCreateInput!) {
  projectCreate(input: $input) { id name workspaceId ...NamedEnvironments ...NamedServices }
}
""" + _NAMED_NODES, retry_safe=False)

SERVICE_CREATE_MUTATION = _register("ServiceCreate", """
mutation ServiceCreate($input: ServiceCreateInput!) {
  serviceCreate(input: $input) { id name }
}
""", retry_safe=False)

SERVICE_DELETE_MUTATION = _register("ServiceDelete", """
mutation ServiceDelete($id: String!, $environmentId: String) {
  serviceDelete(id: $id, environmentId: $environmentId)
}
""", retry_safe=False)

VOLUME_CREATE_MUTATION = _register("VolumeCreate", """
mutation VolumeCreate($input: VolumeCreateInput!) {
  volumeCreate(input: $input) { id name }
}
""", retry_safe=False)

# A service that keeps state (a database) is created without a source, so nothing runs yet; then one request gives
# it its volume and settings and starts it once, with everything in place. The fields run in order (GraphQL runs a
# mutation's fields one after the other); without a volume to create, the second document does the rest.
SERVICE_FIRST_START_WITH_VOLUME_MUTATION = _register("ServiceFirstStartWithVolume", """
mutation ServiceFirstStartWithVolume($volume: VolumeCreateInput!, $environmentId: String!, $serviceId: String!,
                                     $settings: ServiceInstanceUpdateInput!) {
  volumeCreate(input: $volume) { id name }
  serviceInstanceUpdate(environmentId: $environmentId, serviceId: $serviceId, input: $settings)
  serviceInstanceDeployV2(environmentId: $environmentId, serviceId: $serviceId)
}
""", retry_safe=False)

SERVICE_FIRST_START_MUTATION = _register("ServiceFirstStart", """
mutation ServiceFirstStart($environmentId: String!, $serviceId: String!, $settings: ServiceInstanceUpdateInput!) {
  serviceInstanceUpdate(environmentId: $environmentId, serviceId: $serviceId, input: $settings)
  serviceInstanceDeployV2(environmentId: $environmentId, serviceId: $serviceId)
}
""", retry_safe=False)

SERVICE_DOMAIN_CREATE_MUTATION = _register("ServiceDomainCreate", """
mutation ServiceDomainCreate($input: ServiceDomainCreateInput!) {
  serviceDomainCreate(input: $input) { id domain targetPort }
}
""", retry_safe=False)

ENVIRONMENT_CREATE_MUTATION = _register("EnvironmentCreate", """
mutation EnvironmentCreate($input: EnvironmentCreateInput!) {
  environmentCreate(input: $input) { id name }
}
""", retry_safe=False)

ENVIRONMENT_DELETE_MUTATION = _register("EnvironmentDelete", """
mutation EnvironmentDelete($id: String!) {
  environmentDelete(id: $id)
}
""", retry_safe=False)

# --- Volume backups ----------------------------------------------------------------------------------------------------

# The volume instances of an environment: which service mounts which (the database's volume is backed up).
VOLUME_INSTANCES_QUERY = _register("VolumeInstances", """
query VolumeInstances($id: String!) {
  environment(id: $id) {
    volumeInstances { edges { node { id mountPath service { id name } volume { id name } } } }
  }
}
""")

# A second request would take a second backup: no blind repeat.
VOLUME_BACKUP_CREATE_MUTATION = _register("VolumeInstanceBackupCreate", """
mutation VolumeInstanceBackupCreate($volumeInstanceId: String!, $name: String) {
  volumeInstanceBackupCreate(volumeInstanceId: $volumeInstanceId, name: $name) { workflowId }
}
""", retry_safe=False)

VOLUME_BACKUP_LIST_QUERY = _register("VolumeInstanceBackupList", """
query VolumeInstanceBackupList($volumeInstanceId: String!) {
  volumeInstanceBackupList(volumeInstanceId: $volumeInstanceId) { id name createdAt }
}
""")

VOLUME_BACKUP_RESTORE_MUTATION = _register("VolumeInstanceBackupRestore", """
mutation VolumeInstanceBackupRestore($volumeInstanceId: String!, $volumeInstanceBackupId: String!) {
  volumeInstanceBackupRestore(volumeInstanceId: $volumeInstanceId, volumeInstanceBackupId: $volumeInstanceBackupId) {
    workflowId
  }
}
""", retry_safe=False)

WORKFLOW_STATUS_QUERY = _register("WorkflowStatus", """
query WorkflowStatus($workflowId: String!) {
  workflowStatus(workflowId: $workflowId) { status error }
}
""")

# Setting the same kinds again changes nothing: safe to repeat.
VOLUME_BACKUP_SCHEDULE_UPDATE_MUTATION = _register("VolumeInstanceBackupScheduleUpdate", """
mutation VolumeInstanceBackupScheduleUpdate($volumeInstanceId: String!, $kinds: [VolumeInstanceBackupScheduleKind!]!) {
  volumeInstanceBackupScheduleUpdate(volumeInstanceId: $volumeInstanceId, kinds: $kinds)
}
""")

VOLUME_BACKUP_SCHEDULE_LIST_QUERY = _register("VolumeInstanceBackupScheduleList", """
query VolumeInstanceBackupScheduleList($volumeInstanceId: String!) {
  volumeInstanceBackupScheduleList(volumeInstanceId: $volumeInstanceId) { kind }
}
""")
