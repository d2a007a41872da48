"""The Picturesocial security and reliability baseline (EKS Best Practices Guide, CIS Amazon EKS Benchmark) as
CrossGuard policies, one module per concern. The rules live here once: `pulumi preview --policy-pack policy`
runs them on the real plan and the tests run them on the offline graph of every stack
(tools/offline/policy_run.py).

A package of its own on purpose (imports only pulumi_policy and the standard library): the CLI loads it as
`baseline` from policy/, the tests as `policy.baseline`; the modules import each other relatively.

The EKS rules check the cluster pulumi-eks creates (aws:eks/cluster:Cluster), the shape a real preview's
analyzer sees; the offline policy run hands them that shape too (tools/offline/remote.py).
"""

from . import cluster, data, iam, network, observability, pipeline, workloads
from ._common import STATEFUL

POLICIES = [
    *cluster.POLICIES,
    *network.POLICIES,
    *iam.POLICIES,
    *workloads.POLICIES,
    *data.POLICIES,
    *observability.POLICIES,
    *pipeline.POLICIES,
]

__all__ = ["POLICIES", "STATEFUL"]
