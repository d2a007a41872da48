"""What a stack costs a month, estimated offline from its desired-state graph.

    python -m tools.cost <stack> [--project DIR] [--json] [--today YYYY-MM-DD]

One line per priced resource (component, resource, unit, quantity, $/month), fixed charges (what runs with
zero traffic: hourly and monthly) apart from usage (from ``picturesocial:cost.usage``, settings/cost.py),
totals per component and for the stack, then the source of every price used (settings/data/prices.yaml). An
AWS resource type with no price (or a region without prices) is listed "not priced" and counted, never
skipped. Karpenter pools start no node by themselves (no minimum in Karpenter v1); their limits give the
ceiling, shown apart from the total. ``--json`` prints the same as one object. Exit 2 with one line per
problem when the stack's config (its cost settings included) is invalid.

``tools.diff`` ends each stack's section with ``section_line``: the monthly cost before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from settings import kubernetes, strict_yaml
from settings.cost import CostSettings
from settings.errors import SettingsError, from_validation_error
from tools import ROOT

PRICES = ROOT / "settings" / "data" / "prices.yaml"
COST_KEY = "picturesocial:cost"


# -- the price book ------------------------------------------------------------------------------------------


class PriceListProduct(BaseModel):
    """The Price List API product a price is checked against (``pricing:GetProducts``, TERM_MATCH filters)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    service: str
    filters: dict[str, str]


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    usd: float = Field(ge=0)
    unit: str
    source: str = Field(min_length=10)
    read: dt.date
    vcpus: int | None = Field(None, ge=1)
    price_list: PriceListProduct | None = Field(None, alias="priceList")


class Region(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    location: str
    prices: dict[str, Price]


class PriceBook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    hours_per_month: float = Field(alias="hoursPerMonth", gt=0)
    regions: dict[str, Region]
    free: dict[str, str]


def load_prices(path: Path = PRICES) -> PriceBook:
    try:
        return PriceBook.model_validate(strict_yaml.load(path.read_text()))
    except ValidationError as exc:
        raise SettingsError(
            [f"{path.name}: {line}" for line in from_validation_error(exc, model=PriceBook).lines]
        ) from None


@cache
def price_book() -> PriceBook:
    return load_prices()


def cost_settings(config: Mapping[str, Any]) -> CostSettings:
    """``picturesocial:cost`` of a stack config (values as the CLI passes them: objects as JSON text)."""
    raw = config.get(COST_KEY)
    if isinstance(raw, str):
        with contextlib.suppress(ValueError):  # a plain string stays a string: the model says what is wrong
            raw = json.loads(raw)
    try:
        return CostSettings.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        raise from_validation_error(exc, (COST_KEY,), model=CostSettings) from None


# -- the estimate --------------------------------------------------------------------------------------------


@dataclass
class Item:
    urn: str
    type: str
    component: str
    resource: str
    description: str
    kind: str  # fixed | usage
    unit: str
    quantity: float
    price: str  # the key in prices.yaml
    unit_price: float
    monthly: float


@dataclass
class NotPriced:
    urn: str
    type: str
    component: str
    resource: str
    reason: str


@dataclass
class Estimate:
    project: str
    stack: str
    region: str
    items: list[Item] = field(default_factory=list)
    not_priced: list[NotPriced] = field(default_factory=list)
    ceilings: list[str] = field(default_factory=list)
    sources: dict[str, Price] = field(default_factory=dict)

    def total(self, kind: str | None = None) -> float:
        return round(sum(i.monthly for i in self.items if kind in (None, i.kind)), 2)

    def components(self) -> dict[str, dict[str, float]]:
        totals: dict[str, dict[str, float]] = {}
        for item in self.items:
            entry = totals.setdefault(item.component, {"fixed": 0.0, "usage": 0.0})
            entry[item.kind] += item.monthly
        return {name: {k: round(v, 2) for k, v in entry.items()} for name, entry in sorted(totals.items())}

    def as_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "region": self.region,
            "currency": "USD",
            "fixedMonthly": self.total("fixed"),
            "usageMonthly": self.total("usage"),
            "totalMonthly": self.total(),
            "components": self.components(),
            "items": [
                {
                    "urn": i.urn,
                    "type": i.type,
                    "component": i.component,
                    "resource": i.resource,
                    "description": i.description,
                    "kind": i.kind,
                    "unit": i.unit,
                    "quantity": i.quantity,
                    "price": i.price,
                    "unitPrice": i.unit_price,
                    "monthly": round(i.monthly, 2),
                }
                for i in self.items
            ],
            "notPriced": [asdict(n) for n in self.not_priced],
            "ceilings": self.ceilings,
            "sources": {
                key: {"usd": p.usd, "unit": p.unit, "source": p.source, "read": p.read.isoformat()}
                for key, p in sorted(self.sources.items())
            },
        }


# Types that are no AWS charge of their own: the engine's bookkeeping, Kubernetes objects (they run on the
# priced nodes) and this program's components.
def _not_billed(typ: str) -> bool:
    return typ.startswith(("pulumi:", "kubernetes:", "picturesocial:")) or (
        typ.startswith("eks:") and typ != "eks:index:Cluster"
    )


class _Pricer:
    def __init__(self, body: Mapping[str, Any], config: Mapping[str, Any], today: dt.date, book: PriceBook):
        self.resources = body["resources"]
        self.by_urn = {r["urn"]: r for r in self.resources}
        self.by_id = {r.get("id"): r for r in self.resources if r.get("id")}
        region = str(config.get("aws:region", ""))
        self.estimate = Estimate(body.get("project", ""), body.get("stack", ""), region)
        self.region = book.regions.get(region)
        self.hours = book.hours_per_month
        self.settings = cost_settings(config)
        self.usage = self.settings.usage
        self.today = today
        self.of_type: dict[str, list[dict[str, Any]]] = {}
        for r in self.resources:
            self.of_type.setdefault(r["type"], []).append(r)

    # where a resource belongs: its outermost component below the stack
    def component(self, resource: Mapping[str, Any]) -> str:
        node: Mapping[str, Any] = resource
        outermost = resource
        while node.get("parent") and node["parent"] in self.by_urn:
            node = self.by_urn[node["parent"]]
            if node["type"] != "pulumi:pulumi:Stack":
                outermost = node
        return str(outermost["name"])

    def add(
        self, resource: Mapping[str, Any], kind: str, key: str, quantity: float, description: str
    ) -> None:
        price = self.region.prices.get(key) if self.region else None
        if price is None:
            reason = (
                f"no prices for region {self.estimate.region or '?'} in settings/data/prices.yaml"
                if self.region is None
                else f"no price {key} in settings/data/prices.yaml"
            )
            self.not_priced(resource, f"{description}: {reason}")
            return
        self.estimate.sources[key] = price
        self.estimate.items.append(
            Item(
                urn=resource["urn"],
                type=resource["type"],
                component=self.component(resource),
                resource=str(resource["name"]),
                description=description,
                kind=kind,
                unit=price.unit,
                quantity=round(quantity, 4),
                price=key,
                unit_price=price.usd,
                monthly=round(quantity * price.usd, 2),  # cents: the lines add up to the totals
            )
        )

    def not_priced(self, resource: Mapping[str, Any], reason: str) -> None:
        self.estimate.not_priced.append(
            NotPriced(
                resource["urn"], resource["type"], self.component(resource), str(resource["name"]), reason
            )
        )

    def share(self, total: float, typ: str | tuple[str, ...]) -> float:
        """A usage assumption given for the whole stack, spread evenly over the resources of a type."""
        types = (typ,) if isinstance(typ, str) else typ
        count = sum(len(self.of_type.get(t, [])) for t in types)
        return total / count if count else 0.0

    def run(self) -> Estimate:
        for resource in self.resources:
            typ = resource["type"]
            if _not_billed(typ) and typ not in RULES_FOR_KUBERNETES:
                continue
            rule = RULES.get(typ) or RULES_FOR_KUBERNETES.get(typ)
            if rule is not None:
                rule(self, resource, resource.get("inputs") or {})
            elif typ not in price_book().free:
                self.not_priced(resource, f"{typ} has no pricing rule in tools/cost.py")
        return self.estimate


def _cluster(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    if r["type"] == "aws:eks/cluster:Cluster" and p.by_urn.get(r.get("parent") or "", {}).get("type") == (
        "eks:index:Cluster"
    ):
        return  # pulumi-eks's own child: the control plane is priced once, on its component
    version = str(inputs.get("version") or "")
    support = str((inputs.get("upgradePolicy") or {}).get("supportType") or "EXTENDED")
    release = kubernetes.calendar().get(version)
    # EKS charges the extended rate once a version passes its end of standard support, unless the upgrade
    # policy is STANDARD (then EKS upgrades the cluster instead; settings refuse such a version anyway). With
    # no upgrade policy EKS defaults to EXTENDED (EKS user guide, "Cluster upgrade policy").
    extended = release is not None and support == "EXTENDED" and p.today > release.end_of("STANDARD")
    if release is None:
        note = f"Kubernetes {version or '?'} is not in settings/data/eks_versions.yaml; standard rate"
    elif extended:
        note = f"Kubernetes {version} past standard support ({release.end_of('STANDARD')}): extended support"
    else:
        note = f"Kubernetes {version}, standard support until {release.end_of('STANDARD')} ({support} policy)"
    key = "eksClusterExtended" if extended else "eksClusterStandard"
    p.add(r, "fixed", key, p.hours, f"EKS control plane: {note}")


def _nat_gateway(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    p.add(r, "fixed", "natGatewayHour", p.hours, "NAT gateway, every hour it exists")
    share = p.share(p.usage.nat_gb_processed, r["type"])
    p.add(r, "usage", "natGatewayGB", share, "NAT data processed (its share of usage.natGBProcessed)")


def _elastic_ip(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    p.add(r, "fixed", "publicIPv4Hour", p.hours, "public IPv4 address (Elastic IP), in use or idle")


def _vpc_endpoint(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    if inputs.get("vpcEndpointType") != "Interface":
        return  # gateway endpoints (S3, DynamoDB) carry no charge (AWS PrivateLink pricing)
    zones = len(inputs.get("subnetIds") or []) or 1
    service = str(inputs.get("serviceName", "")).split(".", 3)[-1] or "?"  # com.amazonaws.<region>.ecr.api
    p.add(
        r,
        "fixed",
        "interfaceEndpointHour",
        zones * p.hours,
        f"interface endpoint {service} in {zones} zone(s)",
    )
    interface = [
        e for e in p.of_type[r["type"]] if (e.get("inputs") or {}).get("vpcEndpointType") == "Interface"
    ]
    p.add(
        r,
        "usage",
        "interfaceEndpointGB",
        p.usage.endpoint_gb_processed / len(interface),
        "endpoint data processed (its share of usage.endpointGBProcessed)",
    )


def _launch_template_disk(p: _Pricer, inputs: Mapping[str, Any]) -> float | None:
    if inputs.get("diskSize"):
        return float(inputs["diskSize"])
    template = p.by_id.get(str((inputs.get("launchTemplate") or {}).get("id", "")))
    for mapping in (template or {}).get("inputs", {}).get("blockDeviceMappings") or []:
        ebs = mapping.get("ebs") or {}
        if ebs.get("volumeSize"):
            return float(ebs["volumeSize"])
    return None


def _node_group(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    scaling = inputs.get("scalingConfig") or {}
    nodes = int(scaling.get("desiredSize", scaling.get("minSize", 0)) or 0)
    types = inputs.get("instanceTypes") or ["?"]
    # On-demand groups launch the first instance type (EKS: "prioritized" allocation); spot groups spread over
    # the list (capacity-optimized): the first type's price stands for them, less the assumed spot discount.
    instance = types[0]
    spot = inputs.get("capacityType") == "SPOT"
    price = p.region.prices.get(f"instance:{instance}") if p.region else None
    if spot and price is not None:
        factor = 1 - p.settings.spot_discount_percent / 100
        p.estimate.sources[f"instance:{instance}"] = price
        p.estimate.items.append(
            Item(
                urn=r["urn"],
                type=r["type"],
                component=p.component(r),
                resource=str(r["name"]),
                description=f"{nodes} x {instance} spot (on-demand less "
                f"{p.settings.spot_discount_percent:g}%, "
                "cost.spotDiscountPercent), desiredSize",
                kind="fixed",
                unit=price.unit,
                quantity=nodes * p.hours,
                price=f"instance:{instance}",
                unit_price=round(price.usd * factor, 6),
                monthly=round(nodes * p.hours * price.usd * factor, 2),
            )
        )
    else:
        p.add(
            r,
            "fixed",
            f"instance:{instance}",
            nodes * p.hours,
            f"{nodes} x {instance} on-demand, desiredSize",
        )
    disk = _launch_template_disk(p, inputs)
    if disk is not None:
        p.add(r, "fixed", "ebsGp3GBMonth", nodes * disk, f"{nodes} x {disk:g} GiB gp3 root volume")


def _node_pool(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    limits = ((inputs.get("spec") or {}).get("limits")) or {}
    name = (inputs.get("metadata") or {}).get("name", r["name"])
    reference = p.region.prices.get("instance:m6i.large") if p.region else None
    try:
        cpu = float(str(limits.get("cpu", "")).removesuffix("m")) / (
            1000 if str(limits.get("cpu")).endswith("m") else 1
        )
    except ValueError:
        cpu = 0.0
    if reference is None or not reference.vcpus or not cpu:
        p.estimate.ceilings.append(f"Karpenter pool {name}: no ceiling (no cpu limit or no reference price)")
        return
    ceiling = cpu / reference.vcpus * reference.usd * p.hours
    p.estimate.sources["instance:m6i.large"] = reference
    p.estimate.ceilings.append(
        f"Karpenter pool {name}: $0.00 at rest (no minimum), at most ${ceiling:,.2f} a month at its limit of "
        f"{cpu:g} vCPU, priced as on-demand m6i.large (${reference.usd}/h for {reference.vcpus} vCPU)"
    )


def _load_balancer_service(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    if (inputs.get("spec") or {}).get("type") != "LoadBalancer":
        return
    # The AWS Load Balancer Controller makes one NLB per LoadBalancer Service (infra/addons.py).
    p.add(r, "fixed", "networkLoadBalancerHour", p.hours, "internal NLB of an exposed API")
    p.add(
        r,
        "usage",
        "networkLoadBalancerNLCU",
        p.usage.load_balancer_nlcu * p.hours,
        "NLB capacity units (usage.loadBalancerNLCU per hour)",
    )


def _kms_key(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    p.add(r, "fixed", "kmsKeyMonth", 1, "customer managed KMS key")
    p.add(
        r,
        "usage",
        "kmsRequests10k",
        p.share(p.usage.kms_requests_ten_thousands, r["type"]),
        "KMS requests (its share of usage.kmsRequestsTenThousands)",
    )


def _alarm(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    queries = inputs.get("metricQueries") or []
    metrics = 1 if inputs.get("metricName") else sum(1 for q in queries if q.get("metric"))
    p.add(r, "fixed", "cloudwatchAlarmMetric", metrics, f"alarm on {metrics} metric(s)")


def _dashboard(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    p.add(r, "fixed", "cloudwatchDashboardMonth", 1, "CloudWatch dashboard")


def _log_group(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    ingested = p.share(p.usage.log_ingested_gb, r["type"])
    days = inputs.get("retentionInDays")
    p.add(
        r, "usage", "cloudwatchLogsIngestedGB", ingested, "log ingestion (its share of usage.logIngestedGB)"
    )
    # Steady state: the group holds `retention` days of what it takes in; one that never expires is priced at
    # a year's worth and says so.
    kept = (float(days) if days else 365.0) / (p.hours / 24)
    note = f"{days} days retained" if days else "never expires: a year's worth priced"
    p.add(r, "usage", "cloudwatchLogsStoredGBMonth", ingested * kept, f"log storage ({note})")


def _http_api(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    if inputs.get("protocolType", "HTTP") != "HTTP":
        p.not_priced(r, f"API Gateway {inputs.get('protocolType')} API")
        return
    share = p.share(p.usage.api_requests_millions, r["type"])
    p.add(r, "usage", "httpApiMillionRequests", share, "HTTP API requests (usage.apiRequestsMillions)")


def _table(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    if inputs.get("billingMode", "PROVISIONED") != "PAY_PER_REQUEST":
        p.not_priced(r, "DynamoDB provisioned capacity")
        return
    u, t = p.usage, r["type"]
    p.add(r, "usage", "dynamodbWriteMillion", p.share(u.dynamodb_write_millions, t), "on-demand writes")
    p.add(r, "usage", "dynamodbReadMillion", p.share(u.dynamodb_read_millions, t), "on-demand reads")
    p.add(r, "usage", "dynamodbStoredGBMonth", p.share(u.dynamodb_stored_gb, t), "table storage")


BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")


def _bucket(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    u = p.usage
    p.add(r, "usage", "s3StandardGBMonth", p.share(u.s3_stored_gb, BUCKETS), "S3 Standard storage")
    p.add(r, "usage", "s3Put1k", p.share(u.s3_put_thousands, BUCKETS), "S3 PUT/COPY/POST/LIST requests")
    p.add(r, "usage", "s3Get1k", p.share(u.s3_get_thousands, BUCKETS), "S3 GET requests")


def _repository(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    gb = p.usage.ecr_stored_gb_per_repository
    p.add(r, "usage", "ecrStoredGBMonth", gb, "image storage (usage.ecrStoredGBPerRepository)")


def _budget(p: _Pricer, r: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    p.add(r, "fixed", "budgetDay", p.hours / 24, "AWS Budget, per day active")


RULES = {
    "eks:index:Cluster": _cluster,
    "aws:eks/cluster:Cluster": _cluster,
    "aws:ec2/natGateway:NatGateway": _nat_gateway,
    "aws:ec2/eip:Eip": _elastic_ip,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:kms/key:Key": _kms_key,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:apigatewayv2/api:Api": _http_api,
    "aws:dynamodb/table:Table": _table,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:ecr/repository:Repository": _repository,
    "aws:budgets/budget:Budget": _budget,
}
RULES_FOR_KUBERNETES = {
    "kubernetes:core/v1:Service": _load_balancer_service,
    "kubernetes:karpenter.sh/v1:NodePool": _node_pool,
}


def estimate(
    body: Mapping[str, Any],
    config: Mapping[str, Any],
    today: dt.date | None = None,
    book: PriceBook | None = None,
) -> Estimate:
    """The monthly estimate of a graph (a graph.json body) under a stack config (``aws:region``,
    ``picturesocial:cost``). ``today`` decides standard or extended support (default: settings' today)."""
    when = today or kubernetes.today() or dt.datetime.now(dt.UTC).date()
    return _Pricer(body, config, when, book or price_book()).run()


# -- output --------------------------------------------------------------------------------------------------


def money(value: float) -> str:
    return f"${value:,.2f}"


def render(e: Estimate) -> str:
    lines = [f"{e.project} / {e.stack} ({e.region or '?'}): estimated monthly cost in USD"]
    header = f"  {'component':<20} {'resource':<28} {'unit':<26} {'quantity':>10} {'$/month':>11}  what"
    for kind, title in (
        ("fixed", "fixed: charged with zero traffic"),
        ("usage", "usage: from picturesocial:cost.usage"),
    ):
        lines += ["", title, header]
        for i in sorted(
            (i for i in e.items if i.kind == kind), key=lambda i: (i.component, i.resource, i.price)
        ):
            lines.append(
                f"  {i.component:<20} {i.resource[:28]:<28} {i.unit[:26]:<26} {i.quantity:>10,.2f} "
                f"{money(i.monthly):>11}  {i.description}"
            )
        lines.append(f"  {kind} total: {money(e.total(kind))}")
    lines += ["", "per component (fixed + usage):"]
    for name, totals in e.components().items():
        lines.append(
            f"  {name:<20} {money(totals['fixed'] + totals['usage']):>11}  "
            f"(fixed {money(totals['fixed'])}, usage {money(totals['usage'])})"
        )
    lines.append(
        f"total: {money(e.total())} a month "
        f"(fixed {money(e.total('fixed'))}, usage {money(e.total('usage'))})"
    )
    for ceiling in e.ceilings:
        lines.append(f"ceiling: {ceiling}")
    if e.not_priced:
        lines += ["", f"not priced: {len(e.not_priced)} resource(s), not in the total:"]
        lines += [f"  {n.component}/{n.resource} ({n.type}): {n.reason}" for n in e.not_priced]
    lines += ["", "prices (settings/data/prices.yaml):"]
    for key, price in sorted(e.sources.items()):
        lines.append(f"  {key}: ${price.usd:g} per {price.unit}; source: {price.source} (read {price.read})")
    return "\n".join(lines)


# -- the diff's line -----------------------------------------------------------------------------------------


def stack_config(project_dir: Path, stack: str) -> dict[str, Any]:
    """A stack file's config as the CLI passes it; empty when the stack does not exist there."""
    from tools.offline.stack_config import StackConfigError, load_stack_config

    try:
        return load_stack_config(project_dir, stack, None)[1]
    except (StackConfigError, FileNotFoundError):
        return {}


def _delta(before: float, after: float) -> str:
    change = after - before
    return f"{'+' if change >= 0 else '-'}{money(abs(change))}"


def change_line(old: Estimate, new: Estimate) -> str:
    """``cost: $<before> -> $<after> per month (<+/-delta>)``; fixed and usage apart when both changed."""
    before, after = old.total(), new.total()
    line = f"cost: {money(before)} -> {money(after)} per month ({_delta(before, after)})"
    parts = {kind: (old.total(kind), new.total(kind)) for kind in ("fixed", "usage")}
    if all(b != a for b, a in parts.values()):
        line += "; " + ", ".join(
            f"{kind} {money(b)} -> {money(a)} ({_delta(b, a)})" for kind, (b, a) in parts.items()
        )
    return line


def section_line(
    old_body: Mapping[str, Any], new_body: Mapping[str, Any], old_root: Path, new_root: Path, stack: str
) -> str:
    """The last line of a stack's section in ``make diff``: each side priced with its own stack file."""
    try:
        old = estimate(old_body, stack_config(old_root, stack))
        new = estimate(new_body, stack_config(new_root, stack))
    except SettingsError as exc:
        return f"cost: not estimated ({exc.lines[0]})"
    return change_line(old, new)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cost", description=__doc__.split("\n")[0])
    parser.add_argument("stack", help="stack name: dev, staging, prod, ...")
    parser.add_argument(
        "--project", type=Path, default=ROOT, help="the project directory (bootstrap for the bootstrap)"
    )
    parser.add_argument("--json", action="store_true", help="print the estimate as one JSON object")
    parser.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        help="price the EKS support status on this date, YYYY-MM-DD (default: the clock, or "
        "PICTURESOCIAL_TODAY)",
    )
    args = parser.parse_args(argv)
    from tools.offline import SynthError, synthesize

    try:
        graph = synthesize(args.stack, root=args.project.absolute(), today=args.today)
        result = estimate(json.loads(graph.to_json()), graph.config, today=args.today)
    except (SynthError, SettingsError) as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    print(json.dumps(result.as_json(), indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())


# -- the live check (tools/preflight.py) ---------------------------------------------------------------------

# The Price List API answers in us-east-1 (also eu-central-1 and ap-south-1), whatever the priced region
# (AWS Price List user guide, "Using the AWS Price List Query API").
PRICE_LIST_REGION = "us-east-1"


def listed_usd(document: Mapping[str, Any]) -> float | None:
    """The on-demand USD price of one Price List product (``GetProducts`` PriceList entry): its first tier."""
    for term in (document.get("terms") or {}).get("OnDemand", {}).values():
        dimensions = sorted(
            (term.get("priceDimensions") or {}).values(), key=lambda d: float(d.get("beginRange", "0") or 0)
        )
        for dimension in dimensions:
            usd = (dimension.get("pricePerUnit") or {}).get("USD")
            if usd is not None:
                return float(usd)
    return None


@dataclass
class PriceCheck:
    key: str
    status: str  # same | moved | missing | unchecked
    committed: float
    listed: float | None = None
    detail: str = ""


def check_prices(pricing: Any, region: str, book: PriceBook | None = None) -> list[PriceCheck]:
    """Each committed price of ``region`` with a Price List product, compared with what the API lists now."""
    book = book or price_book()
    prices = book.regions.get(region)
    if prices is None:
        return []
    checks = []
    for key, price in sorted(prices.prices.items()):
        if price.price_list is None:
            checks.append(PriceCheck(key, "unchecked", price.usd))
            continue
        filters = [
            {"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in price.price_list.filters.items()
        ]
        answer = pricing.get_products(
            ServiceCode=price.price_list.service, Filters=filters, FormatVersion="aws_v1", MaxResults=10
        )
        listed = {listed_usd(json.loads(doc)) for doc in answer.get("PriceList", [])} - {None}
        if not listed:
            checks.append(PriceCheck(key, "missing", price.usd, detail=f"no product matches {filters}"))
        elif len(listed) > 1:
            shown = ", ".join(f"${v:g}" for v in sorted(v for v in listed if v is not None))
            checks.append(
                PriceCheck(key, "missing", price.usd, detail=f"the filters match several prices: {shown}")
            )
        else:
            value = listed.pop()
            assert value is not None
            status = "same" if abs(value - price.usd) < 1e-9 else "moved"
            checks.append(PriceCheck(key, status, price.usd, value))
    return checks
