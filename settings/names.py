"""Physical names, derived once from the stack's settings: what AWS will call each thing.

Components, the operational tools and the name-limit checks all ask here, so a name is spelled in one place.
Names carry the cluster name (``<project>-<stack>`` unless the stack sets ``picturesocial:cluster.name``) so
several stacks can share one account.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PhysicalNames:
    cluster: str

    @property
    def control_plane_log_group(self) -> str:
        # EKS writes control-plane logs to exactly this group.
        return f"/aws/eks/{self.cluster}/cluster"

    @property
    def secrets_key_alias(self) -> str:
        return f"alias/{self.cluster}-eks-secrets"

    def container_insights_log_group(self, kind: str) -> str:
        # The amazon-cloudwatch-observability add-on writes to exactly these groups (its Fluent Bit outputs
        # and the agent's EMF exporter): application, dataplane, host, performance.
        return f"/aws/containerinsights/{self.cluster}/{kind}"

    @property
    def alarm_topic(self) -> str:
        return f"{self.cluster}-alarms"

    @property
    def budget(self) -> str:
        return f"{self.cluster}-monthly"

    @property
    def alarm_key_alias(self) -> str:
        return f"alias/{self.cluster}-alarms"

    @property
    def dashboard(self) -> str:
        return self.cluster

    def load_balancer(self, api: str) -> str:
        # The internal NLB of an exposed API (the controller's aws-load-balancer-name annotation): known in
        # advance, so API Gateway's integration can look its listener up by name.
        return f"{self.cluster}-{api}"

    @property
    def http_api(self) -> str:
        return self.cluster

    @property
    def access_log_group(self) -> str:
        return f"/aws/apigateway/{self.cluster}/access"

    @property
    def karpenter_node_role(self) -> str:
        # Named, not auto-named: the controller's policy and the EC2NodeClass refer to it before it exists.
        return f"{self.cluster}-karpenter-node"

    @property
    def karpenter_queue(self) -> str:
        # Karpenter's interruption queue (settings.interruptionQueue takes the name).
        return f"{self.cluster}-karpenter"

    def repository(self, api: str) -> str:
        return f"{self.cluster}/{api}"

    def bucket(self, key: str) -> str:
        return f"{self.cluster}-{key}"

    def table(self, key: str) -> str:
        return f"{self.cluster}-{key}"
