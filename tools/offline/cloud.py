"""The fake cloud: what AWS (and the EKS component) would answer, deterministically.

It returns ids, ARNs, URLs and the few computed outputs the program reads. Every answer is a pure function of
the resource's type, logical name and replace-forcing inputs (tools/data/replacement_inputs.yaml), so two runs
give byte-identical graphs, and a resource whose replace-forcing inputs change gets new ids, which then change
the inputs of whatever depends on it, as a real replacement does. Every value it makes up is remembered in
``fakes`` so the synth can say which values shown to a reader are fake.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pulumi

from tools.offline.replacement import identity_inputs

ZONE_LETTERS = "abcdef"
# How a real account maps zone names to zone IDs differs per account; this is one such mapping, with the
# zone EKS refuses for control-plane subnets in us-east-1 (use1-az3) among them, as in a real account.
ZONE_NUMBERS = {"a": 4, "b": 6, "c": 1, "d": 2, "e": 3, "f": 5}
DIRECTIONS = {"north": "n", "south": "s", "central": "c", "east": "e", "west": "w"}


def _digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _stable(value: Any) -> str:
    """A JSON stand-in for an input that is not data: a resource passed by reference (pulumi-eks'
    ``serviceRole``) is named by its type and name, never by its object's address (it changes every run)."""
    if isinstance(value, pulumi.Resource):
        return f"{getattr(value, '_type', type(value).__name__)}::{getattr(value, '_name', '')}"
    return str(value)


def zone_id_prefix(region: str) -> str:
    """us-east-1 -> use1, ap-southeast-2 -> apse2, eu-central-1 -> euc1 (AWS's zone ID scheme)."""
    area, middle, number = region.split("-", 2)
    return area + "".join(short for word, short in DIRECTIONS.items() if word in middle) + number


# Resource id prefixes AWS uses, so a reader of graph.json recognises what an id points at.
ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
}
# pulumi-aws auto-names these within AWS's limit (provider/resources.go: tfbridge.AutoName(name, max, "-")).
AUTONAME_MAX = {"aws:iam/role:Role": 64, "aws:cloudwatch/eventRule:EventRule": 64}


class FakeCloud(pulumi.runtime.Mocks):
    def __init__(self, *, region: str, account: str):
        self.region = region
        self.account = account
        self.fakes: set[str] = set()

    def _fake(self, value: str) -> str:
        self.fakes.add(value)
        return value

    # -- invokes -------------------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs):
        token = args.token
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{letter}" for letter in ZONE_LETTERS]
            prefix = zone_id_prefix(self.region)
            return {
                "id": self.region,
                "names": names,
                "state": "available",
                "zoneIds": [f"{prefix}-az{ZONE_NUMBERS[n[-1]]}" for n in names],
                "groupNames": [self.region],
            }
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "id": self.account,
                "accountId": self.account,
                "userId": "AROAOFFLINE:synth",
                "arn": f"arn:aws:sts::{self.account}:assumed-role/offline/synth",
            }
        if token == "aws:index/getRegion:getRegion":
            return {
                "id": self.region,
                "name": self.region,
                "region": self.region,
                "endpoint": f"ec2.{self.region}.amazonaws.com",
            }
        if token == "aws:index/getPartition:getPartition":
            return {
                "id": "aws",
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws",
            }
        if token == "aws:lb/getLoadBalancer:getLoadBalancer":
            # The NLB the load balancer controller creates under the Service's name annotation.
            name = args.args.get("name") or "unnamed"
            suffix = _digest("nlb", name, length=16)
            arn = self._fake(
                f"arn:aws:elasticloadbalancing:{self.region}:{self.account}:loadbalancer/net/{name}/{suffix}"
            )
            return {
                "id": arn,
                "arn": arn,
                "name": name,
                "loadBalancerType": "network",
                "internal": True,
                "dnsName": self._fake(f"{name}-{suffix[:10]}.elb.{self.region}.amazonaws.com"),
            }
        if token == "aws:lb/getListener:getListener":
            load_balancer = str(args.args.get("loadBalancerArn") or "")
            port = int(args.args.get("port") or 0)
            arn = self._fake(
                load_balancer.replace(":loadbalancer/", ":listener/")
                + f"/{_digest('listener', load_balancer, str(port))}"
            )
            return {"id": arn, "arn": arn, "loadBalancerArn": load_balancer, "port": port, "protocol": "TCP"}
        if token == "aws:ec2/getElasticIp:getElasticIp":
            # The bootstrap runner's egress address, looked up by its Name tag (infra/cluster.py).
            key = json.dumps(args.args.get("tags") or {}, sort_keys=True)
            octets = [int(_digest(f"eip{i}", key, length=2), 16) for i in range(3)]
            address = self._fake("3.{}.{}.{}".format(*octets))
            allocation = self._fake(f"eipalloc-{_digest('eipalloc', key)}")
            return {
                "id": allocation,
                "publicIp": address,
                "domain": "vpc",
                "tags": args.args.get("tags") or {},
            }
        # An invoke the fake cloud does not know must fail loudly, never return an empty answer.
        raise NotImplementedError(
            f"the offline engine has no answer for invoke {token}; add it to tools/offline/cloud.py"
        )

    # -- resources -----------------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        typ, name, inputs = args.typ, args.name, dict(args.inputs)
        # What identifies this instance of the resource: a replacement (new forcing inputs) is a new identity.
        identity = json.dumps([typ, name, identity_inputs(typ, inputs)], sort_keys=True, default=_stable)
        if typ.startswith("pulumi:providers:"):
            return self._fake(f"{_digest(identity, length=8)}-provider-{name}"), inputs
        if typ.startswith("kubernetes:"):
            return self._kubernetes(typ, name, inputs)
        if typ == "eks:index:Cluster":
            return self._eks_cluster(name, inputs, identity)
        if typ.startswith("aws:"):
            return self._aws(typ, name, inputs, identity)
        if typ.startswith("github:"):
            # GitHub's ids are the names it was given (repository:environment, repository:variable, ...).
            return self._fake(f"{name}-{_digest(identity, length=8)}"), inputs
        # Component resources (ours and remote ones) have no id.
        return "", inputs

    def _aws(self, typ: str, name: str, inputs: dict[str, Any], identity: str) -> tuple[str, dict[str, Any]]:
        service = typ.split(":")[1].split("/")[0]
        suffix = _digest(identity, length=7)
        auto = f"{name[: AUTONAME_MAX.get(typ, 255) - len(suffix) - 1]}-{suffix}"
        physical = inputs.get("name") or self._fake(auto)
        rid = self._fake(f"{ID_PREFIXES[typ]}-{_digest(identity)}") if typ in ID_PREFIXES else physical
        arn = f"arn:aws:{service}:{self.region}:{self.account}:{typ.split(':')[-1].lower()}/{rid}"
        out = {**inputs, "name": physical}
        if typ == "aws:kms/key:Key":
            rid = str(uuid.UUID(hex=_digest(identity, length=32)))
            arn = f"arn:aws:kms:{self.region}:{self.account}:key/{rid}"
            out.update(keyId=rid)
        elif typ == "aws:iam/role:Role":
            arn = f"arn:aws:iam::{self.account}:role/{physical}"
            out.update(uniqueId=self._fake(f"AROA{_digest(identity).upper()}"))
            rid = physical
        elif typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":  # its id is its ARN
            url = str(inputs.get("url", "")).removeprefix("https://")
            arn = rid = f"arn:aws:iam::{self.account}:oidc-provider/{url}"
        elif typ == "aws:iam/policy:Policy":  # its id is its ARN
            arn = rid = f"arn:aws:iam::{self.account}:policy{inputs.get('path') or '/'}{physical}"
        elif typ == "aws:ecr/repository:Repository":
            arn = f"arn:aws:ecr:{self.region}:{self.account}:repository/{physical}"
            out.update(
                registryId=self.account,
                repositoryUrl=f"{self.account}.dkr.ecr.{self.region}.amazonaws.com/{physical}",
            )
            rid = physical
        elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
            out.update(latestVersion=1, defaultVersion=1)
        elif typ == "aws:eks/nodeGroup:NodeGroup":
            rid = f"{inputs.get('clusterName')}:{physical}"
            out.update(status="ACTIVE", nodeGroupName=physical)
        elif typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or physical
            rid, arn = bucket, f"arn:aws:s3:::{bucket}"
            out.update(bucket=bucket, bucketRegionalDomainName=f"{bucket}.s3.{self.region}.amazonaws.com")
        elif typ == "aws:dynamodb/table:Table":
            arn = f"arn:aws:dynamodb:{self.region}:{self.account}:table/{physical}"
            rid = physical
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            arn = f"arn:aws:logs:{self.region}:{self.account}:log-group:{physical}"
            rid = physical
        elif typ == "aws:apigatewayv2/api:Api":
            rid = self._fake(_digest(identity, length=10))
            arn = f"arn:aws:apigateway:{self.region}::/apis/{rid}"
            out.update(
                apiEndpoint=self._fake(f"https://{rid}.execute-api.{self.region}.amazonaws.com"),
                executionArn=f"arn:aws:execute-api:{self.region}:{self.account}:{rid}",
            )
        elif typ in (
            "aws:apigatewayv2/vpcLink:VpcLink",
            "aws:apigatewayv2/integration:Integration",
            "aws:apigatewayv2/authorizer:Authorizer",
            "aws:apigatewayv2/route:Route",
        ):
            rid = self._fake(_digest(identity, length=7))
        elif typ == "aws:apigatewayv2/stage:Stage":
            rid = str(inputs.get("name"))
        elif typ == "aws:apigatewayv2/domainName:DomainName":
            rid = str(inputs.get("domainName"))
            configuration = dict(inputs.get("domainNameConfiguration") or {})
            configuration.update(
                targetDomainName=self._fake(
                    f"d-{_digest(identity, length=10)}.execute-api.{self.region}.amazonaws.com"
                ),
                hostedZoneId=self._fake("Z" + _digest("zone", self.region, length=13).upper()),
            )
            out.update(domainNameConfiguration=configuration)
        elif typ == "aws:ec2/eip:Eip":
            # An address from Amazon's pool (3.0.0.0/8), the same for the same identity.
            octets = [int(_digest("eip", identity, str(i), length=2), 16) for i in range(3)]
            out.update(
                publicIp=self._fake(f"3.{octets[0]}.{octets[1]}.{max(octets[2], 1)}"), allocationId=rid
            )
        elif typ == "aws:sqs/queue:Queue":  # a queue's id is its URL
            arn = f"arn:aws:sqs:{self.region}:{self.account}:{physical}"
            rid = self._fake(f"https://sqs.{self.region}.amazonaws.com/{self.account}/{physical}")
            out.update(url=rid)
        elif typ == "aws:sns/topic:Topic":  # a topic's id is its ARN
            arn = rid = f"arn:aws:sns:{self.region}:{self.account}:{physical}"
        elif typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            arn, rid = f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{physical}", physical
        out.update(id=rid, arn=self._fake(arn))
        return rid, out

    def _eks_cluster(self, name: str, inputs: dict[str, Any], identity: str) -> tuple[str, dict[str, Any]]:
        cluster_name = inputs.get("name") or name
        # A new cluster (replaced) has a new OIDC issuer and endpoint, even under the same name.
        issuer_id = _digest("oidc", identity, length=32).upper()
        oidc_url = self._fake(f"oidc.eks.{self.region}.amazonaws.com/id/{issuer_id}")
        endpoint = self._fake(
            f"https://{_digest('endpoint', identity, length=32).upper()}.gr7.{self.region}.eks.amazonaws.com"
        )
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "aws",
            "clusters": [
                {
                    "name": "kubernetes",
                    "cluster": {"server": endpoint, "certificate-authority-data": "T0ZGTElORS1DQQ=="},
                }
            ],
            "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
            "users": [
                {
                    "name": "aws",
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--output", "json"],
                        }
                    },
                }
            ],
        }
        security_group = self._fake(f"sg-{_digest('eks-cluster-sg', identity)}")
        return "", {
            **inputs,
            "kubeconfig": kubeconfig,
            "kubeconfigJson": json.dumps(kubeconfig),
            "oidcProviderArn": self._fake(f"arn:aws:iam::{self.account}:oidc-provider/{oidc_url}"),
            "oidcProviderUrl": oidc_url,
            "oidcIssuer": f"https://{oidc_url}",
            # With skip_default_security_groups both are the EKS-managed cluster security group (pulumi-eks).
            "clusterSecurityGroupId": security_group,
            "nodeSecurityGroupId": security_group,
        }

    def _kubernetes(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        metadata = dict(inputs.get("metadata") or {})
        # pulumi-kubernetes auto-names objects without metadata.name (logical name plus a suffix).
        metadata.setdefault("name", f"{name}-{_digest(typ, name, length=8)}")
        namespace = metadata.get("namespace")
        rid = f"{namespace}/{metadata['name']}" if namespace else metadata["name"]
        return rid, {**inputs, "metadata": metadata}
