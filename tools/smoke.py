"""After `pulumi up`: is what was deployed actually running? Read-only.

    python -m tools.smoke <stack> [--config FILE] [--profile P] [--kubeconfig FILE]

The cluster ACTIVE at the pinned version; each node group ACTIVE with at least its minimum of nodes;
each managed add-on ACTIVE; no CRITICAL finding in the latest scan of each deployed image (HIGH warns);
container logs arriving (the application log group has an event from the last 15 minutes, else warn); each
public API answering through the edge (a status below 500; skipped when unreachable from where it runs); with
a kubeconfig (--kubeconfig or KUBECONFIG), each Deployment's available replicas, and with Karpenter its
controller available and every NodePool Ready.
Exit 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, cast

from botocore.exceptions import ClientError

import settings
from tools.ops import Aws, Report, main_for
from tools.preflight import images, repository


@dataclass
class Clients:
    """One client per concern, so a test can stub exactly the calls moto does not emulate."""

    eks: Any
    addons: Any  # eks: DescribeAddon
    scans: Any  # ecr: DescribeImageScanFindings
    autoscaling: Any
    logs: Any
    apigateway: Any

    @classmethod
    def of(cls, aws: Aws) -> Clients:
        return cls(
            eks=aws.client("eks"),
            addons=aws.client("eks"),
            scans=aws.client("ecr"),
            autoscaling=aws.client("autoscaling"),
            logs=aws.client("logs"),
            apigateway=aws.client("apigatewayv2"),
        )


def check_cluster(report: Report, eks, config: settings.Settings) -> None:
    name, version = config.stack.cluster_name, config.stack.cluster.version
    try:
        cluster = eks.describe_cluster(name=name)["cluster"]
    except ClientError as exc:
        report.add("cluster", "fail", f"{name}: {exc.response['Error']['Code']}")
        return
    ok = cluster["status"] == "ACTIVE" and cluster["version"] == version
    report.add(
        "cluster",
        "pass" if ok else "fail",
        f"{name} is {cluster['status']} at {cluster['version']} (pinned {version})",
    )


def check_node_groups(report: Report, eks, autoscaling, config: settings.Settings) -> None:
    cluster = config.stack.cluster_name
    try:
        names = eks.list_nodegroups(clusterName=cluster)["nodegroups"]
    except ClientError as exc:
        report.add("node groups", "fail", f"{cluster}: {exc.response['Error']['Code']}")
        return
    for group, wanted in sorted(config.stack.node_groups.items()):
        # Node groups are auto-named by Pulumi: "<logical name>-<suffix>".
        matches = [n for n in names if n == group or n.startswith(f"{group}-")]
        if not matches:
            report.add(f"node group {group}", "fail", f"no node group named {group}-* in {cluster}")
            continue
        nodegroup = eks.describe_nodegroup(clusterName=cluster, nodegroupName=matches[0])["nodegroup"]
        if nodegroup["status"] != "ACTIVE":
            report.add(f"node group {group}", "fail", f"{matches[0]} is {nodegroup['status']}")
            continue
        groups = [g["name"] for g in nodegroup.get("resources", {}).get("autoScalingGroups", [])]
        found = (
            autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=groups)["AutoScalingGroups"]
            if groups
            else []
        )
        ready = sum(1 for g in found for i in g["Instances"] if i["LifecycleState"] == "InService")
        report.add(
            f"node group {group}",
            "pass" if ready >= wanted.min_size else "fail",
            f"{matches[0]} ACTIVE, {ready} nodes in service (minimum {wanted.min_size})",
        )


def check_addons(report: Report, eks, config: settings.Settings) -> None:
    """Every EKS managed add-on of settings/addons.py, at the version the stack pins."""
    pinned = config.stack.cluster.addons
    for addon in pinned:
        try:
            found = eks.describe_addon(clusterName=config.stack.cluster_name, addonName=addon)["addon"]
        except ClientError as exc:
            report.add(f"add-on {addon}", "fail", exc.response["Error"]["Code"])
            continue
        if found["status"] != "ACTIVE":
            report.add(f"add-on {addon}", "fail", f"{found['status']} at {found['addonVersion']}")
        elif found["addonVersion"] != pinned[addon]:
            report.add(
                f"add-on {addon}", "warn", f"ACTIVE at {found['addonVersion']}, pinned {pinned[addon]}"
            )
        else:
            report.add(f"add-on {addon}", "pass", f"ACTIVE at {found['addonVersion']}")


def check_scans(report: Report, ecr, config: settings.Settings) -> None:
    for api, tag, digest in images(config):
        image_id = {"imageDigest": digest} if digest else {"imageTag": tag}
        try:
            findings = ecr.describe_image_scan_findings(
                repositoryName=repository(config, api), imageId=image_id
            )
        except ClientError as exc:
            report.add(f"scan {api}:{tag}", "warn", f"no scan result ({exc.response['Error']['Code']})")
            continue
        counts = findings.get("imageScanFindings", {}).get("findingSeverityCounts", {})
        critical, high = counts.get("CRITICAL", 0), counts.get("HIGH", 0)
        status = "fail" if critical else "warn" if high else "pass"
        report.add(f"scan {api}:{tag}", status, f"{critical} CRITICAL, {high} HIGH")


def check_deployments(report: Report, kubeconfig: str | None, config: settings.Settings) -> None:
    if not kubeconfig:
        report.add("deployments", "skip", "no kubeconfig (--kubeconfig or KUBECONFIG): replicas not checked")
        return
    from kubernetes import client
    from kubernetes import config as kube_config
    from kubernetes.client.exceptions import ApiException

    try:
        kube_config.load_kube_config(config_file=kubeconfig)
        apps = client.AppsV1Api()
        for name, api in sorted(config.apis.items()):
            check = f"deployment {api.namespace}/{name}"
            try:
                deployment = apps.read_namespaced_deployment(name, api.namespace)
            except ApiException as exc:  # the API server answered: this Deployment is not readable
                report.add(check, "fail", f"{exc.status} {exc.reason}")
                continue
            available = (deployment.status.available_replicas if deployment.status else None) or 0
            wanted = api.autoscaling.min_replicas
            report.add(
                check, "pass" if available >= wanted else "fail", f"{available} available (minimum {wanted})"
            )
    except Exception as exc:  # noqa: BLE001 - any failure to reach the cluster is a failed check
        report.add("deployments", "fail", f"cannot read Deployments: {type(exc).__name__}: {exc}")


def edge_url(apigateway, config: settings.Settings) -> str | None:
    """Where clients call the stack: its custom domain, else the HTTP API's execute-api endpoint."""
    domain = config.stack.edge.domain
    if domain is not None:
        return f"https://{domain.name}"
    wanted = config.stack.names.http_api
    for page in apigateway.get_paginator("get_apis").paginate():
        for api in page.get("Items", []):
            if api.get("Name") == wanted:
                return str(api["ApiEndpoint"])
    return None


def public_target(api: settings.Api) -> str:
    """The path smoke requests for a public API: its readiness path when a public route serves it (a route
    that calls nothing outside the pod), else its first public path."""
    assert api.spec.public is not None
    readiness = api.spec.probes.readiness.http
    for path in api.spec.public.paths:
        if readiness and (readiness.path == path or readiness.path.startswith(path + "/")):
            return readiness.path
    return api.spec.public.paths[0]


def check_public_routes(report: Report, base_url: str | None, config: settings.Settings) -> None:
    """Each public API through the edge: a status below 500 means API Gateway, the VPC link and the NLB
    reached the pods (5xx: the gateway could not, or the API failed)."""
    public = {name: api for name, api in sorted(config.apis.items()) if api.spec.public is not None}
    if not public:
        return
    if base_url is None:
        report.add("public routes", "fail", f"no HTTP API named {config.stack.names.http_api}")
        return
    jwt = config.stack.edge.jwt is not None
    for name, api in public.items():
        assert api.spec.public is not None
        path = public_target(api)
        check = f"public {name} {path}"
        url = base_url.rstrip("/") + path
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=10) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            report.add(check, "skip", f"{url} is not reachable from here ({reason})")
            continue
        anonymous = any(path == p or path.startswith(p + "/") for p in api.spec.public.anonymous)
        if status in (401, 403) and jwt and not anonymous:
            report.add(check, "skip", f"{status} from the JWT authorizer: the route needs a token")
        elif status >= 500:
            report.add(check, "fail", f"GET {url}: {status}")
        else:
            report.add(check, "pass", f"GET {url}: {status}")


def check_karpenter(report: Report, kubeconfig: str | None, config: settings.Settings) -> None:
    """The controller's Deployment available (two replicas) and every NodePool Ready."""
    karpenter = config.stack.karpenter
    if not karpenter.enabled:
        return
    if not kubeconfig:
        report.add("karpenter", "skip", "no kubeconfig (--kubeconfig or KUBECONFIG): controller not checked")
        return
    from kubernetes import client
    from kubernetes import config as kube_config
    from kubernetes.client.exceptions import ApiException

    try:
        kube_config.load_kube_config(config_file=kubeconfig)
        try:
            deployment = client.AppsV1Api().read_namespaced_deployment("karpenter", "kube-system")
            available = (deployment.status.available_replicas if deployment.status else None) or 0
            status = "pass" if available >= 2 else "warn" if available == 1 else "fail"
            report.add("karpenter controller", status, f"{available} of 2 replicas available")
        except ApiException as exc:
            report.add("karpenter controller", "fail", f"{exc.status} {exc.reason}")
        objects = client.CustomObjectsApi()
        for name in sorted(karpenter.node_pools):
            check = f"nodepool {name}"
            try:
                pool = cast(dict, objects.get_cluster_custom_object("karpenter.sh", "v1", "nodepools", name))
            except ApiException as exc:
                report.add(check, "fail", f"{exc.status} {exc.reason}")
                continue
            conditions = {c.get("type"): c for c in (pool.get("status") or {}).get("conditions") or []}
            ready = conditions.get("Ready", {})
            if ready.get("status") == "True":
                report.add(check, "pass", "Ready")
            else:
                report.add(check, "fail", f"not Ready: {ready.get('reason') or 'no Ready condition'}")
    except Exception as exc:  # noqa: BLE001 - any failure to reach the cluster is a failed check
        report.add("karpenter", "fail", f"cannot read the cluster: {type(exc).__name__}: {exc}")


LOGS_FRESH = dt.timedelta(minutes=15)


def check_container_logs(
    report: Report, logs, config: settings.Settings, now: dt.datetime | None = None
) -> None:
    """Fluent Bit ships every pod's output to the application log group: its newest event should be recent.
    A warning, not a failure: a quiet stack may log nothing for a while."""
    group = config.stack.names.container_insights_log_group("application")
    check = "container logs"
    try:
        streams = logs.describe_log_streams(
            logGroupName=group, orderBy="LastEventTime", descending=True, limit=1
        )["logStreams"]
    except ClientError as exc:
        report.add(check, "fail", f"{group}: {exc.response['Error']['Code']}")
        return
    last = streams[0].get("lastEventTimestamp") if streams else None
    if last is None:
        report.add(check, "warn", f"{group} has received no event yet")
        return
    now = now or dt.datetime.now(dt.UTC)
    age = now - dt.datetime.fromtimestamp(last / 1000, dt.UTC)
    minutes = int(age.total_seconds() // 60)
    report.add(
        check,
        "pass" if age <= LOGS_FRESH else "warn",
        f"{group}: last event {minutes} min ago" + ("" if age <= LOGS_FRESH else " (expected within 15 min)"),
    )


def smoke(
    args: argparse.Namespace, aws: Aws, config: settings.Settings, clients: Clients | None = None
) -> Report:
    clients = clients or Clients.of(aws)
    report = Report(f"smoke {config.stack.stack}")
    check_cluster(report, clients.eks, config)
    check_node_groups(report, clients.eks, clients.autoscaling, config)
    check_addons(report, clients.addons, config)
    check_scans(report, clients.scans, config)
    check_container_logs(report, clients.logs, config)
    check_public_routes(report, args.edge_url or edge_url(clients.apigateway, config), config)
    check_deployments(report, args.kubeconfig or os.environ.get("KUBECONFIG"), config)
    check_karpenter(report, args.kubeconfig or os.environ.get("KUBECONFIG"), config)
    return report


def main(argv: list[str] | None = None) -> int:
    def extra(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--kubeconfig", help="check Deployments' available replicas through this kubeconfig"
        )
        parser.add_argument(
            "--edge-url",
            help="call the public routes at this base URL (default: the stack's domain or HTTP API)",
        )

    return main_for("smoke", __doc__.split("\n")[0], smoke, extra, argv)


if __name__ == "__main__":
    sys.exit(main())
