"""The AWS Load Balancer Controller: provisions the internal NLBs of LoadBalancer Services."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from infra.irsa import service_account_role

# Controller v3.5.0, the newest release (kubernetes-sigs/aws-load-balancer-controller tag v3.5.0, 2026-08-03;
# aws/eks-charts stable/aws-load-balancer-controller 3.5.0). Its docs/install/iam_policy.json is the one v2.13.0
# shipped: infra/policies/load-balancer-controller-nlb.json is compared with it in docs/decisions/0008.
CHART_VERSION = "3.5.0"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
# The controller's permissions for NLB Services only (no ALB Ingress: no WAF, Shield, Cognito, ACM, listener
# rules); docs/decisions/0008.
POLICY_FILE = Path(__file__).parent / "policies" / "load-balancer-controller-nlb.json"


class LoadBalancerController(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(self, name: str, *, cluster_name: str, region: str, vpc_id: pulumi.Input[str],
                 oidc_provider_arn: pulumi.Input[str], oidc_provider_url: pulumi.Input[str],
                 k8s_provider: k8s.Provider, needs: list[pulumi.Resource],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("picturesocial:infra:LoadBalancerController", name, None, opts)
        role = service_account_role(
            "load-balancer-controller", oidc_provider_arn=oidc_provider_arn, oidc_provider_url=oidc_provider_url,
            namespace=NAMESPACE, service_account=SERVICE_ACCOUNT, policy=POLICY_FILE.read_text(), parent=self)
        self.release = k8s.helm.v3.Release(
            "aws-load-balancer-controller",
            name="aws-load-balancer-controller",
            chart="aws-load-balancer-controller",
            version=CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://aws.github.io/eks-charts"),
            namespace=NAMESPACE,
            values={
                # Passed explicitly: with IMDS hop limit 1 the pods cannot look them up themselves.
                "clusterName": cluster_name,
                "region": region,
                "vpcId": vpc_id,
                "replicaCount": 2,
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT,
                                   "annotations": {"eks.amazonaws.com/role-arn": role.arn}},
                "podDisruptionBudget": {"maxUnavailable": 1},
                # The webhook gives every new LoadBalancer Service without a class this controller's class
                # (service.k8s.aws/nlb, internal by default). Without it such a Service falls to the in-tree cloud
                # provider, which makes an internet-facing classic ELB in the public subnets. The policy
                # load-balancer-services-nlb-class refuses a class-less Service before it gets that far.
                "enableServiceMutatorWebhook": True,
                # Gateway API support is on by default since v3.2.0; this platform installs no Gateway API
                # CRDs and exposes Services only.
                "controllerConfig": {"featureGates": {"NLBGatewayAPI": False, "ALBGatewayAPI": False}},
            },
            atomic=True,
            # Its pods need nodes and cluster DNS (its webhooks and the AWS SDK resolve names); on destroy the load
            # balancers (which depend on this) go first.
            opts=pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=needs))
        self.register_outputs({"roleArn": role.arn})
