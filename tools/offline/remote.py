"""What a remote (multi-language) component registers under a real deployment, for the policy run.

Under mocks a component such as pulumi-eks's Cluster is one resource holding the inputs the program passes
(pulumi #15731, #12553: by design); under a real preview the analyzer also sees the children it creates. The
policy run hands the pack the child the rules check, so that every rule has one shape to check: the one the
real analyzer checks. Only the fields the rules read are mapped, as pulumi-eks builds them
(nodejs/eks/cluster/ cluster.ts createCore, checked at v4.3.0; the 4.4.0 schema has the same inputs).
"""

from __future__ import annotations

from typing import Any


def _eks_cluster(component: dict[str, Any]) -> dict[str, Any]:
    inputs = component["inputs"]
    child: dict[str, Any] = {
        "name": inputs.get("name"),
        "version": inputs.get("version"),
        "enabledClusterLogTypes": inputs.get("enabledClusterLogTypes"),
        "deletionProtection": inputs.get("deletionProtection"),
        "upgradePolicy": inputs.get("upgradePolicy"),
        "bootstrapSelfManagedAddons": inputs.get("bootstrapSelfManagedAddons", True),
        "vpcConfig": {
            "endpointPrivateAccess": inputs.get("endpointPrivateAccess"),
            "endpointPublicAccess": inputs.get("endpointPublicAccess"),
            "publicAccessCidrs": inputs.get("publicAccessCidrs"),
            "subnetIds": [*(inputs.get("privateSubnetIds") or []), *(inputs.get("publicSubnetIds") or [])],
        },
    }
    if inputs.get("encryptionConfigKeyArn"):
        child["encryptionConfig"] = {
            "provider": {"keyArn": inputs["encryptionConfigKeyArn"]},
            "resources": ["secrets"],
        }
    if inputs.get("authenticationMode"):
        child["accessConfig"] = {
            "authenticationMode": inputs["authenticationMode"],
            "bootstrapClusterCreatorAdminPermissions": True,
        }
    name = f"{component['name']}-eksCluster"
    prefix, _ = component["urn"].rsplit("::", 1)
    return {
        **component,
        "urn": f"{prefix}$aws:eks/cluster:Cluster::{name}",
        "type": "aws:eks/cluster:Cluster",
        "name": name,
        "parent": component["urn"],
        "custom": True,
        "remote": False,
        "inputs": child,
        "dependencies": [],
    }


CHILDREN = {"eks:index:Cluster": [_eks_cluster]}


def analyzer_view(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources as a real preview's analyzer sees them: each remote component followed by the children
    the rules check (protect is inherited from the component, as Pulumi passes it to a component's
    children)."""
    out = []
    for resource in resources:
        out.append(resource)
        out.extend(child(resource) for child in CHILDREN.get(resource["type"], []))
    return out
