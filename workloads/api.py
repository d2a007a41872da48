"""One Picturesocial API in its namespace: identity, configuration, pods, Services, scaling, isolation."""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s

from infra.context import ClusterContext
from infra.data_stores import DataAccess
from infra.irsa import service_account_role
from settings import Api
from settings.catalog import Probe
from workloads.namespace import PART_OF

RUN_AS = 10001  # a high, image-independent UID (checkov CKV_K8S_40)
# Taking a pod out of an NLB without dropping requests (AWS Load Balancer Controller docs, "Pod readiness
# gate" and target group attributes): on termination the controller deregisters the pod's IP, the NLB takes a
# while to stop sending new connections and then drains open ones for the deregistration delay. The pod keeps
# serving through both (preStop sleep longer than the delay), and Kubernetes waits for that (grace period
# longer still). With readiness gates (workloads/namespace.py) a new pod counts as ready only once the NLB
# sees it healthy, so a rolling update never leaves the target group without a healthy target.
DEREGISTRATION_DELAY_SECONDS = 30
PRE_STOP_SLEEP_SECONDS = 40
TERMINATION_GRACE_SECONDS = 60
INTERNAL_NLB = {
    # AWS Load Balancer Controller annotations: NLB with pod IPs as targets, never internet-facing.
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes": (
        f"deregistration_delay.timeout_seconds={DEREGISTRATION_DELAY_SECONDS}"
    ),
}
NLB_CLASS = "service.k8s.aws/nlb"


# Timing per probe kind when the catalog gives none. Readiness reacts fast (a pod leaves the Service within
# 15 s); liveness restarts only after 30 s without a listener; a startup probe, when declared, holds both
# back until the process has started once, so liveness needs no initial delay of its own.
PROBE_TIMING = {
    "readiness": {"period_seconds": 5, "timeout_seconds": 2, "failure_threshold": 3},
    "liveness": {"period_seconds": 10, "timeout_seconds": 2, "failure_threshold": 3},
    "startup": {"period_seconds": 5, "timeout_seconds": 2, "failure_threshold": 24},
}
LIVENESS_DELAY_WITHOUT_STARTUP = 10


def probe(spec: Probe, kind: str, has_startup: bool) -> k8s.core.v1.ProbeArgs:
    """A catalog probe as Kubernetes takes it, always on the container's named ``http`` port."""
    timing = dict(PROBE_TIMING[kind])
    if kind == "liveness" and not has_startup:
        timing["initial_delay_seconds"] = LIVENESS_DELAY_WITHOUT_STARTUP
    timing.update(spec.timing)
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=spec.http.path, port="http") if spec.http else None,
        tcp_socket=None if spec.http else k8s.core.v1.TCPSocketActionArgs(port="http"),
        initial_delay_seconds=timing.get("initial_delay_seconds"),
        period_seconds=timing.get("period_seconds"),
        timeout_seconds=timing.get("timeout_seconds"),
        failure_threshold=timing.get("failure_threshold"),
    )


def access_policy(api: Api, bucket_arns: dict[str, str], table_arns: dict[str, str]) -> str:
    """Exactly the AWS actions the catalog declares, on exactly the declared resources."""
    access = api.spec.aws
    statements = []
    if access.rekognition:
        # Rekognition's image APIs have no resource-level permissions: "*" is the only resource.
        statements.append(
            {
                "Sid": "Rekognition",
                "Effect": "Allow",
                "Action": [f"rekognition:{a}" for a in access.rekognition],
                "Resource": "*",
            }
        )
    for bucket in access.s3_read:
        statements.append(
            {
                "Sid": f"ReadObjects{bucket.title().replace('-', '')}",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": f"{bucket_arns[bucket]}/*",
            }
        )
    for table, actions in sorted(access.dynamodb.items()):
        statements.append(
            {
                "Sid": f"Table{table.title().replace('-', '')}",
                "Effect": "Allow",
                "Action": [f"dynamodb:{a}" for a in actions],
                "Resource": table_arns[table],
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def image(repository_url: pulumi.Input[str], tag: str, digest: str | None) -> pulumi.Output[str]:
    return pulumi.Output.concat(repository_url, ":", tag, f"@{digest}" if digest else "")


class InternalLoadBalancerService(pulumi.ComponentResource):
    """``<api>-lb``: an internal NLB in front of the API's pods, named ``<cluster>-<api>``; for a public API,
    behind the frontend security group the edge gives it (infra/edge.py)."""

    def __init__(
        self,
        name: str,
        *,
        namespace: str,
        selector: dict[str, str],
        labels: dict[str, str],
        load_balancer_name: str,
        frontend_security_group: pulumi.Input[str] | None,
        controller: pulumi.Resource | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("picturesocial:workloads:InternalLoadBalancerService", name, None, opts)
        annotations: dict[str, pulumi.Input[str]] = {
            **INTERNAL_NLB,
            # Known in advance, so API Gateway's integration can find the NLB. The controller reads it when it
            # creates the NLB only; at most 32 characters (checked by the settings).
            "service.beta.kubernetes.io/aws-load-balancer-name": load_balancer_name,
        }
        if frontend_security_group is not None:
            # Our security group instead of the controller's (which admits the whole VPC): port 80 from the
            # VPC link only. With it, the controller manages the rules that let the NLB reach the pods only
            # when told to (AWS Load Balancer Controller v3.5 annotations; docs/decisions/0015).
            annotations["service.beta.kubernetes.io/aws-load-balancer-security-groups"] = (
                frontend_security_group
            )
            annotations[
                "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules"
            ] = "true"
        self.service = k8s.core.v1.Service(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name, namespace=namespace, labels=labels, annotations=annotations
            ),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="LoadBalancer",
                load_balancer_class=NLB_CLASS,
                selector=selector,
                ports=[k8s.core.v1.ServicePortArgs(name="http", port=80, target_port="http", protocol="TCP")],
            ),
            # On the Service itself: a component's depends_on does not reach its children. The
            # controller's webhook must exist when the Service is created, and on destroy the NLB must
            # go before the controller and the nodes.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[controller] if controller else None),
        )
        self.register_outputs({})


class ApiWorkload(pulumi.ComponentResource):
    """One API in its namespace: identity, configuration, pods, Services, scaling, isolation."""

    def __init__(
        self,
        name: str,
        api: Api,
        context: ClusterContext,
        *,
        repository_url: pulumi.Input[str],
        data: DataAccess,
        frontend_security_group: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("picturesocial:workloads:Api", name, None, opts)
        ns, port = api.namespace, api.spec.port
        region, vpc_cidr = context.environment.region, context.vpc_cidr
        child = pulumi.ResourceOptions(parent=self)
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": PART_OF}
        # Selectors are immutable: the track label is part of them from the first deployment.
        meta = lambda object_name, **extra: k8s.meta.v1.ObjectMetaArgs(  # noqa: E731
            name=object_name, namespace=ns, labels=labels, **extra
        )

        # -- identity: a dedicated service account, with an IAM role only when the API calls AWS --
        annotations: dict[str, pulumi.Input[str]] = {}
        if api.spec.aws.any:
            policy = pulumi.Output.all(data.bucket_arns, data.table_arns).apply(
                lambda arns: access_policy(api, arns[0], arns[1])
            )
            role, _ = service_account_role(
                name,
                oidc_provider_arn=context.oidc_provider_arn,
                oidc_provider_url=context.oidc_provider_url,
                namespace=ns,
                service_account=name,
                policy=policy,
                permissions_boundary=context.environment.permissions_boundary,
                parent=self,
            )
            annotations["eks.amazonaws.com/role-arn"] = role.arn
            # IMDS is out of reach (hop limit 1): the SDK must use the regional STS endpoint.
            annotations["eks.amazonaws.com/sts-regional-endpoints"] = "true"
        service_account = k8s.core.v1.ServiceAccount(
            name,
            metadata=meta(name, annotations=annotations or None),
            automount_service_account_token=False,
            opts=child,
        )

        # -- configuration: everything environment-specific, none of it baked into the image --
        env: dict[str, pulumi.Input[str]] = {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "ASPNETCORE_URLS": f"http://+:{port}",
        }
        env.update(
            {f"{b.upper().replace('-', '_')}_BUCKET": data.bucket_names[b] for b in api.spec.aws.s3_read}
        )
        env.update(
            {f"{t.upper().replace('-', '_')}_TABLE": data.table_names[t] for t in api.spec.aws.dynamodb}
        )
        config = k8s.core.v1.ConfigMap(
            f"{name}-config", metadata=meta(f"{name}-config"), data=env, opts=child
        )

        probes = api.spec.probes
        has_startup = probes.startup is not None

        def pod_template(track: str, tag: str, digest: str | None) -> k8s.core.v1.PodTemplateSpecArgs:
            pod_labels = {**labels, "track": track, "app.kubernetes.io/version": tag}
            return k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=pod_labels),
                spec=k8s.core.v1.PodSpecArgs(
                    service_account_name=service_account.metadata.name,
                    automount_service_account_token=False,
                    security_context=k8s.core.v1.PodSecurityContextArgs(
                        run_as_non_root=True,
                        run_as_user=RUN_AS,
                        run_as_group=RUN_AS,
                        fs_group=RUN_AS,
                        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                    ),
                    containers=[
                        k8s.core.v1.ContainerArgs(
                            name=name,
                            image=image(repository_url, tag, digest),
                            image_pull_policy="Always",
                            ports=[
                                k8s.core.v1.ContainerPortArgs(
                                    name="http", container_port=port, protocol="TCP"
                                )
                            ],
                            env_from=[
                                k8s.core.v1.EnvFromSourceArgs(
                                    config_map_ref=k8s.core.v1.ConfigMapEnvSourceArgs(
                                        name=config.metadata.name
                                    )
                                )
                            ],
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests=api.resources.requests.model_dump(),
                                limits=api.resources.limits.model_dump(),
                            ),
                            readiness_probe=probe(probes.readiness, "readiness", has_startup),
                            liveness_probe=probe(probes.liveness, "liveness", has_startup),
                            startup_probe=probe(probes.startup, "startup", has_startup)
                            if probes.startup
                            else None,
                            security_context=k8s.core.v1.SecurityContextArgs(
                                allow_privilege_escalation=False,
                                read_only_root_filesystem=True,
                                run_as_non_root=True,
                                run_as_user=RUN_AS,
                                capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                                seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                            ),
                            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
                            # A sleep action needs no shell or binary in the image (Kubernetes 1.30+).
                            lifecycle=k8s.core.v1.LifecycleArgs(
                                pre_stop=k8s.core.v1.LifecycleHandlerArgs(
                                    sleep=k8s.core.v1.SleepActionArgs(seconds=PRE_STOP_SLEEP_SECONDS)
                                )
                            ),
                        )
                    ],
                    volumes=[
                        k8s.core.v1.VolumeArgs(
                            name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="64Mi")
                        )
                    ],
                    topology_spread_constraints=[
                        k8s.core.v1.TopologySpreadConstraintArgs(
                            max_skew=1,
                            topology_key="topology.kubernetes.io/zone",
                            when_unsatisfiable="ScheduleAnyway",
                            label_selector=k8s.meta.v1.LabelSelectorArgs(
                                match_labels={"app.kubernetes.io/name": name, "track": track}
                            ),
                        )
                    ],
                    affinity=k8s.core.v1.AffinityArgs(
                        pod_anti_affinity=k8s.core.v1.PodAntiAffinityArgs(
                            preferred_during_scheduling_ignored_during_execution=[
                                k8s.core.v1.WeightedPodAffinityTermArgs(
                                    weight=100,
                                    pod_affinity_term=k8s.core.v1.PodAffinityTermArgs(
                                        topology_key="kubernetes.io/hostname",
                                        label_selector=k8s.meta.v1.LabelSelectorArgs(
                                            match_labels={"app.kubernetes.io/name": name}
                                        ),
                                    ),
                                )
                            ]
                        )
                    ),
                    termination_grace_period_seconds=TERMINATION_GRACE_SECONDS,
                ),
            )

        selector = {"app.kubernetes.io/name": name}  # both tracks
        # The LoadBalancer Service first, its pods after: the controller injects the readiness gate only into
        # pods created once the Service exists (AWS Load Balancer Controller
        # docs/deploy/pod_readiness_gate.md, tip "create ingress or service before pod"). Pods of a Deployment
        # created alongside would count as ready before the NLB sees them healthy.
        self.load_balancer: k8s.core.v1.Service | None = None
        if api.spec.exposed:
            self.load_balancer = InternalLoadBalancerService(
                f"{name}-lb",
                namespace=ns,
                selector=selector,
                labels=labels,
                load_balancer_name=context.names.load_balancer(name),
                frontend_security_group=frontend_security_group,
                controller=context.load_balancer_controller,
                opts=child,
            ).service
        after_load_balancer = pulumi.ResourceOptions(
            parent=self, depends_on=[self.load_balancer] if self.load_balancer else None
        )

        def deployment(
            object_name: str, track: str, tag: str, digest: str | None, replicas: int | None
        ) -> k8s.apps.v1.Deployment:
            return k8s.apps.v1.Deployment(
                object_name,
                metadata=meta(object_name),
                spec=k8s.apps.v1.DeploymentSpecArgs(
                    # None for the stable track: the HPA owns the replica count.
                    replicas=replicas,
                    revision_history_limit=5,
                    selector=k8s.meta.v1.LabelSelectorArgs(
                        match_labels={"app.kubernetes.io/name": name, "track": track}
                    ),
                    strategy=k8s.apps.v1.DeploymentStrategyArgs(
                        type="RollingUpdate",
                        rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                            max_unavailable=0, max_surge=1
                        ),
                    ),
                    template=pod_template(track, tag, digest),
                ),
                opts=after_load_balancer,
            )

        self.deployment = deployment(name, "stable", api.tag, api.digest, None)
        if api.canary is not None:
            # Same Service, second Deployment: traffic splits by replica count (canary / blue-green).
            deployment(f"{name}-canary", "canary", api.canary.tag, api.canary.digest, api.canary.replicas)

        k8s.core.v1.Service(
            name,
            metadata=meta(name),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[k8s.core.v1.ServicePortArgs(name="http", port=80, target_port="http", protocol="TCP")],
            ),
            opts=child,
        )

        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            name,
            metadata=meta(name),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1", kind="Deployment", name=self.deployment.metadata.name
                ),
                min_replicas=api.autoscaling.min_replicas,
                max_replicas=api.autoscaling.max_replicas,
                metrics=[
                    k8s.autoscaling.v2.MetricSpecArgs(
                        type="Resource",
                        resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                            name="cpu",
                            target=k8s.autoscaling.v2.MetricTargetArgs(
                                type="Utilization", average_utilization=api.autoscaling.cpu_utilization
                            ),
                        ),
                    )
                ],
            ),
            opts=child,
        )
        k8s.policy.v1.PodDisruptionBudget(
            name,
            metadata=meta(name),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1,
                unhealthy_pod_eviction_policy="AlwaysAllow",
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            ),
            opts=child,
        )

        # -- isolation: who may call this API, and where it may call out to --
        # Every peer names its namespace and its pods (the platform's API pods there): an empty selector
        # would also admit whatever else runs in the namespace (policy network-policy-peers-named).
        sources = [
            k8s.networking.v1.NetworkPolicyPeerArgs(
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels={"kubernetes.io/metadata.name": caller}
                ),
                pod_selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels={"app.kubernetes.io/part-of": PART_OF}
                ),
            )
            for caller in [ns, *api.spec.allow_from]  # its own namespace first
        ]
        if api.spec.exposed:
            # NLB IP targets: the load balancer's nodes connect from addresses inside the VPC.
            sources.append(
                k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=vpc_cidr))
            )
        egress = []
        if api.spec.aws.any:
            egress.append(
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=443)]
                )
            )
        k8s.networking.v1.NetworkPolicy(
            name,
            metadata=meta(name),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                policy_types=["Ingress", "Egress"] if egress else ["Ingress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=sources,
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port="http")],
                    )
                ],
                egress=egress or None,
            ),
            opts=child,
        )
        self.register_outputs({"deployment": self.deployment.metadata.name})
