"""The fake cloud: what AWS (and the EKS component) would answer, deterministically.

It returns ids, ARNs, URLs and the few computed outputs the program reads. Every answer is a pure
function of the resource's type, name and inputs, so two runs give byte-identical graphs.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pulumi

ZONE_LETTERS = "abcdef"


def _digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


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
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
}


class FakeCloud(pulumi.runtime.Mocks):
    def __init__(self, *, region: str, account: str):
        self.region = region
        self.account = account

    # -- invokes -------------------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs):
        token = args.token
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{letter}" for letter in ZONE_LETTERS]
            return {"id": self.region, "names": names, "state": "available",
                    "zoneIds": [f"use1-az{i + 1}" for i in range(len(names))], "groupNames": [self.region]}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"id": self.account, "accountId": self.account, "userId": "AROAOFFLINE:synth",
                    "arn": f"arn:aws:sts::{self.account}:assumed-role/offline/synth"}
        if token == "aws:index/getRegion:getRegion":
            return {"id": self.region, "name": self.region, "region": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com"}
        if token == "aws:index/getPartition:getPartition":
            return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com",
                    "reverseDnsPrefix": "com.amazonaws"}
        # An invoke the fake cloud does not know must fail loudly, never return an empty answer.
        raise NotImplementedError(f"the offline engine has no answer for invoke {token}; add it to "
                                  "tools/offline/cloud.py")

    # -- resources -----------------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        typ, name, inputs = args.typ, args.name, dict(args.inputs)
        if typ.startswith("pulumi:providers:"):
            return f"{name}-provider-id", inputs
        if typ.startswith("kubernetes:"):
            return self._kubernetes(typ, name, inputs)
        if typ == "eks:index:Cluster":
            return self._eks_cluster(name, inputs)
        if typ.startswith("aws:"):
            return self._aws(typ, name, inputs)
        # Component resources (ours and remote ones) have no id.
        return "", inputs

    def _aws(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        service = typ.split(":")[1].split("/")[0]
        physical = inputs.get("name") or f"{name}-{_digest(typ, name, length=7)}"
        rid = f"{ID_PREFIXES[typ]}-{_digest(typ, name)}" if typ in ID_PREFIXES else physical
        out = {**inputs, "id": rid, "name": physical,
               "arn": f"arn:aws:{service}:{self.region}:{self.account}:{typ.split(':')[-1].lower()}/{rid}"}
        if typ == "aws:kms/key:Key":
            key_id = str(uuid.UUID(hex=_digest(typ, name, length=32)))
            rid = key_id
            out.update(id=key_id, keyId=key_id, arn=f"arn:aws:kms:{self.region}:{self.account}:key/{key_id}")
        elif typ == "aws:iam/role:Role":
            out.update(arn=f"arn:aws:iam::{self.account}:role/{physical}", uniqueId=f"AROA{_digest(name).upper()}")
            rid = physical
        elif typ == "aws:iam/policy:Policy":
            out.update(arn=f"arn:aws:iam::{self.account}:policy/{physical}")
            rid = out["arn"]
        elif typ == "aws:ecr/repository:Repository":
            out.update(arn=f"arn:aws:ecr:{self.region}:{self.account}:repository/{physical}",
                       registryId=self.account,
                       repositoryUrl=f"{self.account}.dkr.ecr.{self.region}.amazonaws.com/{physical}")
            rid = physical
        elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
            out.update(latestVersion=1, defaultVersion=1)
        elif typ == "aws:eks/nodeGroup:NodeGroup":
            rid = f"{inputs.get('clusterName')}:{physical}"
            out.update(status="ACTIVE", nodeGroupName=physical)
        elif typ == "aws:s3/bucket:Bucket" or typ == "aws:s3/bucketV2:BucketV2":
            bucket = inputs.get("bucket") or physical
            rid = bucket
            out.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}",
                       bucketRegionalDomainName=f"{bucket}.s3.{self.region}.amazonaws.com")
        elif typ == "aws:dynamodb/table:Table":
            out.update(arn=f"arn:aws:dynamodb:{self.region}:{self.account}:table/{physical}")
            rid = physical
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            out.update(arn=f"arn:aws:logs:{self.region}:{self.account}:log-group:{physical}")
            rid = physical
        out["id"] = rid
        return rid, out

    def _eks_cluster(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        cluster_name = inputs.get("name") or name
        issuer_id = _digest("oidc", cluster_name, length=32).upper()
        oidc_url = f"oidc.eks.{self.region}.amazonaws.com/id/{issuer_id}"
        endpoint = f"https://{_digest('endpoint', cluster_name, length=32).upper()}.gr7.{self.region}.eks.amazonaws.com"
        kubeconfig = {
            "apiVersion": "v1", "kind": "Config", "current-context": "aws",
            "clusters": [{"name": "kubernetes", "cluster": {
                "server": endpoint, "certificate-authority-data": "T0ZGTElORS1DQQ=="}}],
            "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
            "users": [{"name": "aws", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                "args": ["eks", "get-token", "--cluster-name", cluster_name, "--output", "json"]}}}],
        }
        return "", {
            **inputs,
            "kubeconfig": kubeconfig,
            "kubeconfigJson": json.dumps(kubeconfig),
            "oidcProviderArn": f"arn:aws:iam::{self.account}:oidc-provider/{oidc_url}",
            "oidcProviderUrl": oidc_url,
            "oidcIssuer": f"https://{oidc_url}",
            "clusterSecurityGroupId": f"sg-{_digest('eks-cluster-sg', cluster_name)}",
        }

    def _kubernetes(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        metadata = dict(inputs.get("metadata") or {})
        # pulumi-kubernetes auto-names objects without metadata.name (logical name plus a suffix).
        metadata.setdefault("name", f"{name}-{_digest(typ, name, length=8)}")
        namespace = metadata.get("namespace")
        rid = f"{namespace}/{metadata['name']}" if namespace else metadata["name"]
        return rid, {**inputs, "metadata": metadata}
