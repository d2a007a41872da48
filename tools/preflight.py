"""Before `pulumi up`: the deploy identity, account and region, the AWS CLI, the Kubernetes version's support
(the calendar, and EKS's own dates) and every pinned add-on offered for it, every image pushed (a pinned
digest present in this account's repository, replicated there, and its scan free of findings at or above
picturesocial:registry.scanBlockSeverity), quota headroom (Elastic IPs and NAT gateways; and every adjustable
quota of settings/data/aws_quotas.yaml against the stack's count in its offline synth), the API Gateway route
metrics the alarms watch, the CloudWatch add-on's configuration against the add-on's own schema, and the
prices `make cost` uses against the Price List API. Read-only.

    python -m tools.preflight <stack> [--config FILE] [--profile P] [--pin]

--pin resolves each API's tag to its digest in ECR and writes the digests into Pulumi.<stack>.yaml
(comments and order kept), so the deployment runs exactly the image that was scanned.
Exit 0 when nothing failed, 1 otherwise (and without credentials: one line).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from botocore.exceptions import ClientError
from ruamel.yaml import YAML

import settings
from settings import addons, kubernetes
from settings.aws_quotas import Quota
from tools import cost
from tools.offline import Graph, synthesize
from tools.offline.quotas import Count, counts
from tools.ops import RETRIES, Aws, Report, main_for

# EC2 and VPC defaults, used when the Service Quotas API cannot be asked (EC2 user guide: 5 Elastic IPs
# per region; VPC user guide: 5 NAT gateways per Availability Zone).
EIP_QUOTA = ("ec2", "L-0263D0A3", 5)
NAT_QUOTA = ("vpc", "L-FE5A380F", 5)


def images(config: settings.Settings) -> list[tuple[str, str, str | None]]:
    """(api, tag, digest) of every image the stack deploys, canaries included."""
    out = []
    for name, api in sorted(config.apis.items()):
        out.append((name, api.tag, api.digest))
        if api.canary:
            out.append((name, api.canary.tag, api.canary.digest))
    return out


def repository(config: settings.Settings, api: str) -> str:
    return config.stack.image_repository(api)


def find_image(ecr, repo: str, tag: str) -> str | None:
    """The digest of repo:tag; None when the tag is not there. Raises RepositoryNotFoundException."""
    try:
        details = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": tag}])["imageDetails"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ImageNotFoundException":
            return None
        raise
    return details[0]["imageDigest"] if details else None


def quota(quotas, code: tuple[str, str, int]) -> tuple[float, str]:
    service, quota_code, default = code
    try:
        return quotas.get_service_quota(ServiceCode=service, QuotaCode=quota_code)["Quota"][
            "Value"
        ], "Service Quotas"
    except ClientError as exc:
        return default, f"the EC2 default ({exc.response['Error']['Code']} from Service Quotas)"


def headroom(needed: float, quota: float, source: str) -> str:
    """fail beyond the quota; within it, warn when the quota is only the documented default."""
    if needed > quota:
        return "fail"
    return "pass" if source == "Service Quotas" else "warn"


def ours(tags: list[dict] | None, config: settings.Settings) -> bool:
    """Tagged by this stack's provider default tags: already counted in what the stack needs."""
    values = {t["Key"]: t["Value"] for t in tags or []}
    return values.get("project") == config.stack.project and values.get("environment") == config.stack.stack


def role_of(caller_arn: str) -> str | None:
    """arn:aws:sts::<account>:assumed-role/<name>/<session> -> arn:aws:iam::<account>:role/<name>."""
    parts = caller_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("assumed-role/"):
        return None
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{parts[5].split('/')[1]}"


def check_identity(report: Report, aws: Aws, config: settings.Settings) -> None:
    identity = aws.client("sts").get_caller_identity()
    report.add("credentials", "pass", identity["Arn"])
    # EKS makes whoever creates the cluster its admin, for good (pulumi-eks sets
    # bootstrapClusterCreatorAdminPermissions): only the configured deploy role may run `pulumi up`.
    wanted, role = config.stack.ci.deploy_role_arn, role_of(identity["Arn"])
    report.add(
        "deploy identity",
        "pass" if role == wanted else "fail",
        f"running as {role or identity['Arn']}"
        + ("" if role == wanted else f"; `pulumi up` must run as {wanted} (picturesocial:ci.deployRoleArn)"),
    )
    account, allowed = identity["Account"], config.stack.allowed_account_ids
    report.add(
        "account",
        "pass" if account in allowed else "fail",
        f"{account} is {'' if account in allowed else 'not '}in aws:allowedAccountIds {allowed}",
    )
    session_region = aws.session.region_name
    if session_region is None:
        report.add("region", "warn", f"the session has no region; every call uses the stack's {aws.region}")
    else:
        report.add(
            "region",
            "pass" if session_region == aws.region else "fail",
            f"session region {session_region}, stack region {aws.region}",
        )


def check_placeholders(report: Report, config: settings.Settings) -> None:
    """A fresh clone's stack files hold example accounts (tools/configure.py): refused before a deploy, here
    and not in the settings layer, whose offline tests and snapshots run on those examples."""
    from tools.configure import PLACEHOLDER_ACCOUNTS

    stack = config.stack
    found = sorted(
        {
            account
            for account in PLACEHOLDER_ACCOUNTS
            for value in (*stack.allowed_account_ids, stack.ci.deploy_role_arn)
            if account in value
        }
    )
    report.add(
        "placeholders",
        "fail" if found else "pass",
        f"Pulumi.{stack.stack}.yaml holds the example account {', '.join(found)}: run make configure ORG=... "
        'REPO=... DEV=... STAGING=... PROD=... (README, "One-time setup")'
        if found
        else "no example account in the stack file",
    )


def check_runner_address(report: Report, aws: Aws, config: settings.Settings) -> None:
    """The API endpoint admits the bootstrap runner's Elastic IP, which the program finds by its Name tag
    (infra/cluster.py): exactly one must exist, or the preview fails on the lookup."""
    tag = f"{config.stack.ci.runner}-egress"
    addresses = aws.client("ec2").describe_addresses(Filters=[{"Name": "tag:Name", "Values": [tag]}])[
        "Addresses"
    ]
    if len(addresses) == 1:
        report.add("runner address", "pass", f"{addresses[0]['PublicIp']} (Elastic IP {tag})")
    else:
        found = "no Elastic IP" if not addresses else f"{len(addresses)} Elastic IPs"
        report.add(
            "runner address",
            "fail",
            f"{found} tagged Name={tag}: the API endpoint admits exactly one; bootstrap this account first "
            '(bootstrap/, README "One-time setup") or fix picturesocial:ci.runner',
        )


def check_aws_cli(report: Report) -> None:
    """Every kubeconfig of the stack runs `aws eks get-token`; pulumi-eks checks for the CLI as well."""
    path = shutil.which("aws")
    if path is None:
        report.add(
            "AWS CLI",
            "fail",
            "`aws` is not on the PATH: the Kubernetes provider cannot get a token "
            "(install AWS CLI v2: .github/actions/setup-aws-cli pins the version)",
        )
        return
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()
    major_two = version.startswith("aws-cli/2.")
    report.add(
        "AWS CLI",
        "pass" if major_two else "fail",
        f"{path}: {version or 'no version'}" + ("" if major_two else "; AWS CLI v2 is required"),
    )


def _unreachable(exc: ClientError) -> str:
    return f"{exc.response['Error']['Code']}: {exc.response['Error'].get('Message', '')}".rstrip(": ")


def check_kubernetes(report: Report, eks, config: settings.Settings, today: dt.date | None = None) -> None:
    """The version against the support calendar (fail past its end, warn within 60 days), the calendar against
    EKS's DescribeClusterVersions, and each pinned add-on against DescribeAddonVersions for that version: a
    pin EKS does not offer would fail `pulumi up` halfway, after the control plane."""
    cluster = config.stack.cluster
    version, support_type = cluster.version, cluster.support_type
    row = kubernetes.calendar()[version]
    try:
        on = today or kubernetes.today()
    except kubernetes.TodayError as exc:
        report.add("kubernetes support", "fail", str(exc))
        on = None
    if on is None:
        report.add("kubernetes support", "skip", f"{kubernetes.SKIP_VARIABLE} is set")
    else:
        problem, warning = kubernetes.support(version, support_type, on, addons.kubernetes_versions())
        report.add(
            "kubernetes support",
            "fail" if problem else "warn" if warning else "pass",
            problem
            or warning
            or f"{version} is in {support_type.lower()} support until {row.end_of(support_type)}",
        )
    try:
        found = eks.describe_cluster_versions(clusterVersions=[version])["clusterVersions"]
    except ClientError as exc:
        report.add("kubernetes calendar", "warn", f"cannot ask EKS ({_unreachable(exc)})")
    else:
        theirs = found[0].get("endOfStandardSupportDate") if found else None
        theirs_date = theirs.date() if isinstance(theirs, dt.datetime) else theirs
        if theirs_date is None:
            report.add("kubernetes calendar", "fail", f"EKS does not offer Kubernetes {version}")
        elif theirs_date != row.end_of_standard_support:
            report.add(
                "kubernetes calendar",
                "warn",
                f"EKS ends {version}'s standard support on {theirs_date}, settings/data/eks_versions.yaml "
                f"says {row.end_of_standard_support}: correct the file",
            )
        else:
            report.add("kubernetes calendar", "pass", f"EKS agrees: standard support ends {theirs_date}")
    for name, pinned in sorted(cluster.addons.items()):
        check = f"add-on {name} {pinned}"
        try:
            offered = {
                v["addonVersion"]
                for page in eks.get_paginator("describe_addon_versions").paginate(
                    addonName=name, kubernetesVersion=version
                )
                for addon in page["addons"]
                for v in addon["addonVersions"]
            }
        except ClientError as exc:
            report.add(check, "warn", f"cannot ask EKS ({_unreachable(exc)})")
            continue
        if pinned in offered:
            report.add(check, "pass", f"offered for Kubernetes {version}")
        else:
            newest = sorted(offered, key=lambda v: [int(n) for n in re.findall(r"\d+", v)], reverse=True)[:3]
            report.add(
                check,
                "fail",
                f"EKS does not offer it for Kubernetes {version} (offered: {', '.join(newest) or 'none'}); "
                "correct settings/addons.py or picturesocial:cluster.addonVersions",
            )


SPOT_ROLE = "AWSServiceRoleForEC2Spot"
ARCHITECTURES = {"amd64": "x86_64", "arm64": "arm64"}


def ami_parameter(alias: str, kubernetes_version: str, architecture: str) -> str:
    """The SSM parameter Karpenter resolves an AMI alias through (aws/karpenter-provider-aws,
    pkg/providers/amifamily): the image of that release for this Kubernetes version and architecture."""
    family, version = alias.split("@", 1)
    arch = ARCHITECTURES[architecture]
    if family == "al2023":
        return (
            f"/aws/service/eks/optimized-ami/{kubernetes_version}/amazon-linux-2023/{arch}/standard/"
            f"amazon-eks-node-al2023-{arch}-standard-{kubernetes_version}-{version}/image_id"
        )
    return (
        f"/aws/service/bottlerocket/aws-k8s-{kubernetes_version}/{arch}/{version.removeprefix('v')}/image_id"
    )


def check_karpenter(report: Report, iam, ssm, config: settings.Settings) -> None:
    """Spot capacity needs the account's EC2 Spot service-linked role (Karpenter cannot create it); every
    pinned AMI alias a pool uses must have an image for the cluster's version and the pool's architectures."""
    karpenter = config.stack.karpenter
    if not karpenter.enabled:
        return
    pools = karpenter.node_pools.values()
    if any("spot" in pool.capacity_types for pool in pools):
        try:
            iam.get_role(RoleName=SPOT_ROLE)
            report.add("spot service-linked role", "pass", SPOT_ROLE)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchEntity":
                raise
            report.add(
                "spot service-linked role",
                "fail",
                f"{SPOT_ROLE} is missing; create it once per account: "
                "aws iam create-service-linked-role --aws-service-name spot.amazonaws.com",
            )
    version = config.stack.cluster.version
    wanted = sorted({(pool.ami_family, arch) for pool in pools for arch in pool.architectures})
    for family, arch in wanted:
        alias = karpenter.ami_aliases[family]
        name = ami_parameter(alias, version, arch)
        try:
            image = ssm.get_parameter(Name=name)["Parameter"]["Value"]
            report.add(f"ami {alias} {arch}", "pass", image)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code != "ParameterNotFound":
                raise
            report.add(f"ami {alias} {arch}", "fail", f"no image for Kubernetes {version}: {name} not found")


def check_images(report: Report, aws: Aws, config: settings.Settings) -> None:
    ecr = aws.client("ecr")
    for api, tag, digest in images(config):
        name, repo = f"image {api}:{tag}", repository(config, api)
        try:
            found = find_image(ecr, repo, tag)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "RepositoryNotFoundException":
                raise
            report.add(
                name,
                "warn",
                f"repository {repo} is created by this deployment; the image is missing "
                "and must be pushed before the pods can start",
            )
            continue
        if digest is not None:
            check_pinned(report, ecr, config, api, tag, digest)
            continue
        if found is None:
            report.add(name, "fail", f"{repo}:{tag} was never pushed: pods would sit in ImagePullBackOff")
        else:
            report.add(name, "pass", found)


# ECR's severities, most severe first (DescribeImageScanFindings findingSeverityCounts keys).
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")


def blocking(counts: dict[str, int], threshold: str) -> dict[str, int]:
    """The findings at or above ``threshold``."""
    worst = SEVERITIES[: SEVERITIES.index(threshold) + 1]
    return {severity: counts[severity] for severity in worst if counts.get(severity)}


def check_pinned(report: Report, ecr, config: settings.Settings, api: str, tag: str, digest: str) -> None:
    """A pinned image: that digest in this account's repository (pushed here, or replicated from the source
    registry), under the stack's tag, and its scan with nothing at or above scanBlockSeverity."""
    name, repo = f"image {api}:{tag}", repository(config, api)
    account = config.stack.account_id
    try:
        details = ecr.describe_images(repositoryName=repo, imageIds=[{"imageDigest": digest}])["imageDetails"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ImageNotFoundException":
            raise
        details = []
    if not details:
        source = config.stack.registry.replicated_from
        how = f"not replicated from {source.account_id} yet" if source else "never pushed"
        report.add(name, "fail", f"{digest} is not in {repo} of account {account}: {how}")
        return
    if tag not in details[0].get("imageTags", []):
        report.add(name, "fail", f"the stack pins {digest} but {repo}:{tag} names another image")
        return
    report.add(name, "pass", f"{digest} in {repo}")
    threshold = config.stack.registry.scan_block_severity
    check = f"scan {api}:{tag}"
    try:
        findings = ecr.describe_image_scan_findings(repositoryName=repo, imageId={"imageDigest": digest})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ScanNotFoundException":
            raise
        report.add(
            check,
            "fail",
            f"{repo}@{digest} has no scan result: nothing vouches for it "
            f"(aws ecr start-image-scan --repository-name {repo} --image-id imageDigest={digest})",
        )
        return
    counts = findings.get("imageScanFindings", {}).get("findingSeverityCounts", {})
    found = blocking(counts, threshold)
    if found:
        listed = ", ".join(f"{n} {severity}" for severity, n in found.items())
        report.add(
            check, "fail", f"{listed} at or above {threshold} (picturesocial:registry.scanBlockSeverity)"
        )
    else:
        report.add(check, "pass", f"nothing at or above {threshold}")


def check_quotas(report: Report, aws: Aws, config: settings.Settings) -> None:
    ec2, quotas = aws.client("ec2"), aws.client("service-quotas")
    network = config.stack.network
    nats_needed = network.availability_zones if network.nat_gateways == "perAz" else 1

    eip_quota, source = quota(quotas, EIP_QUOTA)
    used = [a for a in ec2.describe_addresses()["Addresses"] if not ours(a.get("Tags"), config)]
    report.add(
        "quota: Elastic IPs",
        headroom(len(used) + nats_needed, eip_quota, source),
        f"{len(used)} in use by others + {nats_needed} for NAT <= {eip_quota:g}? (quota from {source})",
    )

    nat_quota, source = quota(quotas, NAT_QUOTA)
    subnets = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2.describe_subnets()["Subnets"]}
    per_zone: dict[str, int] = {}
    for nat in ec2.describe_nat_gateways(Filters=[{"Name": "state", "Values": ["pending", "available"]}])[
        "NatGateways"
    ]:
        if not ours(nat.get("Tags"), config):
            zone = subnets.get(nat["SubnetId"], "?")
            per_zone[zone] = per_zone.get(zone, 0) + 1
    busiest = max(per_zone.values(), default=0)
    report.add(
        "quota: NAT gateways per AZ",
        headroom(busiest + 1, nat_quota, source),
        f"at most {busiest} in a zone by others + 1 <= {nat_quota:g}? (quota from {source})",
    )


def stack_graph(args: argparse.Namespace, config: settings.Settings) -> Graph:
    """The stack's desired state, synthesized offline (what `make synth` writes): the counts to compare."""
    return synthesize(config.stack.stack, config_file=args.config, root=args.project.absolute())


def applied_quota(quotas, quota: Quota) -> tuple[float, str]:
    """The account's applied value of an adjustable quota: by its code when the data pins one, else by its
    name among the service's quotas ("If the applied quota value is not available for a quota, the quota
    is not retrieved": ListServiceQuotas, botocore's service-quotas model), else its documented default."""
    try:
        if quota.quota_code:
            found = quotas.get_service_quota(ServiceCode=quota.service_code, QuotaCode=quota.quota_code)
            return found["Quota"]["Value"], "Service Quotas"
        page: dict = {}
        while True:
            token = {"NextToken": page["NextToken"]} if page.get("NextToken") else {}
            page = quotas.list_service_quotas(ServiceCode=quota.service_code, **token)
            for item in page.get("Quotas", []):
                if item["QuotaName"] == quota.quota_name:
                    return item["Value"], "Service Quotas"
            if not page.get("NextToken"):
                break
        return quota.limit, "the documented default (not listed by Service Quotas)"
    except ClientError as exc:
        return quota.limit, f"the documented default ({exc.response['Error']['Code']} from Service Quotas)"


def check_stack_quotas(report: Report, quotas, found: list[Count]) -> None:
    """Each adjustable quota against the stack's count: fail beyond the account's value. The counts are this
    stack's alone; an account- or Region-wide quota is shared with whatever else the account runs."""
    seen: set[str] = set()
    for count in found:
        q = count.quota
        if q.refused or q.key in seen:  # the synth refuses those; one row per quota (the highest count)
            continue
        seen.add(q.key)
        value, source = applied_quota(quotas, q)
        report.add(
            f"quota: {q.quota_name}",
            headroom(count.count, value, source),
            f"this stack needs {count.count} ({count.where}, {q.scope}) <= {value:g}? (quota from {source})",
        )


def check_route_metrics(report: Report, apigateway, cloudwatch, config: settings.Settings) -> None:
    """The public alarms watch AWS/ApiGateway metrics by ApiId, Stage and Route (infra/observability.py):
    ask CloudWatch which dimensions the stack's HTTP API really publishes. ListMetrics returns only metrics
    that received data (CloudWatch API reference, ListMetrics: within the past two weeks), so before the API
    has served traffic the answer is empty and the check can only say so."""
    name = config.stack.names.http_api
    apis = [a for a in apigateway.get_apis().get("Items", []) if a.get("Name") == name]
    if not apis:
        report.add("route metrics", "warn", f"no HTTP API {name} yet: checked after the first deployment")
        return
    api_id = apis[0]["ApiId"]
    metrics = cloudwatch.list_metrics(
        Namespace="AWS/ApiGateway", MetricName="Count", Dimensions=[{"Name": "ApiId", "Value": api_id}]
    ).get("Metrics", [])
    wanted = {"ApiId", "Stage", "Route"}
    shapes = {frozenset(d["Name"] for d in m.get("Dimensions", [])) for m in metrics}
    if not shapes:
        report.add(
            "route metrics",
            "warn",
            f"{name} ({api_id}) has published no Count metric yet: ListMetrics is empty before traffic, "
            "so the alarms' dimensions (ApiId, Stage, Route) are unconfirmed",
        )
    elif wanted in shapes:
        report.add("route metrics", "pass", f"{name} publishes Count by ApiId, Stage and Route")
    else:
        seen = "; ".join(sorted(", ".join(sorted(s)) for s in shapes))
        report.add(
            "route metrics",
            "fail",
            f"{name} publishes Count by [{seen}], never by ApiId, Stage and Route: the public alarms "
            "would watch series that do not exist (is detailed metrics on, on the $default stage?)",
        )


def check_addon_configuration(report: Report, eks, config: settings.Settings) -> None:
    """The CloudWatch add-on's configurationValues against the JSON schema EKS publishes for the pinned
    version (DescribeAddonConfiguration): EKS would refuse values the schema does not allow."""
    import jsonschema

    from infra.observability import ADDON_CONFIGURATION

    addon = addons.CLOUDWATCH_OBSERVABILITY.name
    version = config.stack.cluster.addons[addon]
    check = f"add-on configuration {addon}"
    try:
        schema = json.loads(
            eks.describe_addon_configuration(addonName=addon, addonVersion=version)["configurationSchema"]
        )
    except ClientError as exc:
        report.add(
            check, "fail", f"{version}: {exc.response['Error']['Code']} from DescribeAddonConfiguration"
        )
        return
    errors = sorted(
        jsonschema.validators.validator_for(schema)(schema).iter_errors(ADDON_CONFIGURATION),
        key=lambda e: [str(p) for p in e.path],
    )
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top)"
        report.add(check, "fail", f"{version}: {where}: {errors[0].message} ({len(errors)} problem(s))")
    else:
        report.add(check, "pass", f"{version}: configurationValues match the add-on's schema")


def check_prices(report: Report, pricing, region: str) -> None:
    """The prices `make cost` uses for the stack's region (settings/data/prices.yaml) against the Price List
    API (``pricing``: a client of its endpoint): a price that moved is a warning (the estimate is stale, the
    deployment is not at risk)."""
    try:
        checks = cost.check_prices(pricing, region)
    except ClientError as exc:
        report.add("prices", "warn", f"the Price List API cannot be read: {exc.response['Error']['Code']}")
        return
    if not checks:
        report.add(
            "prices", "warn", f"settings/data/prices.yaml has no prices for {region}: make cost lists none"
        )
        return
    for check in checks:
        if check.status == "moved":
            report.add(
                f"price {check.key}",
                "warn",
                f"moved: committed ${check.committed:g}, Price List ${check.listed:g}; update "
                "settings/data/prices.yaml (value, source, read date)",
            )
        elif check.status == "missing":
            report.add(f"price {check.key}", "warn", check.detail)
    same = sum(c.status == "same" for c in checks)
    unchecked = sum(c.status == "unchecked" for c in checks)
    report.add(
        "prices",
        "pass" if all(c.status in ("same", "unchecked") for c in checks) else "warn",
        f"{same} as listed by the Price List API in {region}; {unchecked} without a Price List product "
        "recorded",
    )


def preflight(args: argparse.Namespace, aws: Aws, config: settings.Settings) -> Report:
    report = Report(f"preflight {config.stack.stack}")
    check_placeholders(report, config)
    check_identity(report, aws, config)
    check_aws_cli(report)
    check_runner_address(report, aws, config)
    check_kubernetes(report, aws.client("eks"), config)
    check_karpenter(report, aws.client("iam"), aws.client("ssm"), config)
    check_images(report, aws, config)
    check_quotas(report, aws, config)
    check_stack_quotas(report, aws.client("service-quotas"), counts(stack_graph(args, config)))
    check_route_metrics(report, aws.client("apigatewayv2"), aws.client("cloudwatch"), config)
    check_addon_configuration(report, aws.client("eks"), config)
    check_prices(
        report,
        aws.session.client("pricing", region_name=cost.PRICE_LIST_REGION, config=RETRIES),
        config.stack.region,
    )
    if args.pin:
        pin(report, aws, config, args.config or args.project / f"Pulumi.{config.stack.stack}.yaml")
    return report


def pin(report: Report, aws: Aws, config: settings.Settings, stack_file: Path) -> None:
    """Writes each API's digest next to its tag, keeping the file's comments, order and quoting."""
    yaml = YAML()  # round-trip
    yaml.preserve_quotes = True
    yaml.width = 4096  # keep `name: {tag: ..., digest: ...}` on its line instead of folding it
    document = yaml.load(stack_file.read_text())
    entries = document["config"]["picturesocial:apis"]
    ecr = aws.client("ecr")
    changed = 0
    for name, api in sorted(config.apis.items()):
        try:
            digest = find_image(ecr, repository(config, name), api.tag)
        except ClientError:
            digest = None
        if digest is None:
            report.add(f"pin {name}", "fail", f"{name}:{api.tag} is not in ECR: nothing to pin")
            continue
        if entries[name].get("digest") != digest:
            entries[name]["digest"] = digest
            changed += 1
        report.add(f"pin {name}", "pass", f"{api.tag} -> {digest}")
    if changed:
        with stack_file.open("w") as handle:
            yaml.dump(document, handle)
    report.add("pin", "pass", f"{changed} digest(s) written to {stack_file.name}")


def main(argv: list[str] | None = None) -> int:
    def extra(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--pin", action="store_true", help="write each API's digest into the stack file")

    return main_for("preflight", __doc__.split("\n")[0], preflight, extra, argv)


if __name__ == "__main__":
    sys.exit(main())
