"""The Kubernetes workloads of the fixture catalog: identity, scaling, placement, isolation, configuration."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import FIXTURE, fixture_config, synth_fixture
from graphq import (
    DEPLOYMENT,
    HELM,
    HPA,
    NAMESPACE,
    NETPOL,
    NODE_GROUP,
    PDB,
    ROLE,
    ROLE_POLICY,
    SERVICE,
    containers,
    inputs,
    k8s,
    selects,
)

# That every Deployment has a Service, a PDB and an HPA, and pins no replicas under an HPA, is checked by the
# policies deployments-have-service-pdb-hpa and hpa-owns-replicas (test_policies.py).


def test_every_pdb_allows_one_disruption_and_evicts_unhealthy_pods(fixture_graph):
    pdbs = inputs(fixture_graph, PDB)
    assert {p["metadata"]["name"] for p in pdbs} == {"greeter", "photos", "thumbs"}
    for pdb in pdbs:
        assert pdb["spec"]["maxUnavailable"] == 1
        assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_hpa_bounds_come_from_the_catalog_and_the_stack_override(fixture_graphs):
    small = {h["metadata"]["name"]: h["spec"] for h in inputs(fixture_graphs["small"], HPA)}
    assert (small["greeter"]["minReplicas"], small["greeter"]["maxReplicas"]) == (2, 6)
    assert small["greeter"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    # thumbs declares no autoscaling: the defaults, 2..10 at 70 %.
    assert (small["thumbs"]["minReplicas"], small["thumbs"]["maxReplicas"]) == (2, 10)
    assert small["thumbs"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    large = {h["metadata"]["name"]: h["spec"] for h in inputs(fixture_graphs["large"], HPA)}
    assert (large["greeter"]["minReplicas"], large["greeter"]["maxReplicas"]) == (
        3,
        12,
    )  # the stack's override


def test_only_exposed_apis_get_an_internal_nlb_targeting_pod_ips(fixture_graph):
    # Internal scheme and NLB class: policy load-balancers-internal (test_policies.py).
    balancers = {
        s["metadata"]["name"]: s
        for s in inputs(fixture_graph, SERVICE)
        if s["spec"]["type"] == "LoadBalancer"
    }
    assert set(balancers) == {"greeter-lb", "photos-lb"}
    for service in balancers.values():
        assert (
            service["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"]
            == "ip"
        )


def test_the_releases_wait_for_nodes_and_cluster_dns_and_load_balancers_for_the_controller(fixture_graph):
    releases = {r["inputs"]["name"]: r for r in fixture_graph.of_type(HELM)}
    release = releases["aws-load-balancer-controller"]
    groups = {g["urn"] for g in fixture_graph.of_type(NODE_GROUP)}
    (coredns,) = [a["urn"] for a in fixture_graph.of_type("aws:eks/addon:Addon") if a["name"] == "coredns"]
    for chart in ("aws-load-balancer-controller", "metrics-server"):
        assert groups | {coredns} <= set(releases[chart]["dependencies"]), chart
    for service in fixture_graph.of_type(SERVICE):
        if service["inputs"]["spec"]["type"] == "LoadBalancer":
            assert release["urn"] in service["dependencies"]


def test_pods_behind_an_nlb_get_readiness_gates_and_drain_before_they_stop(fixture_graph):
    # The rule itself (gate label, preStop >= deregistration delay < grace): policy
    # graceful-target-deregistration.
    labels = {n["metadata"]["name"]: n["metadata"]["labels"] for n in inputs(fixture_graph, NAMESPACE)}
    assert labels["front"]["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"
    assert labels["media"]["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"
    service = k8s(fixture_graph, SERVICE, "photos-lb", "media")
    assert (
        service["metadata"]["annotations"][
            "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"
        ]
        == "deregistration_delay.timeout_seconds=30"
    )
    pod = k8s(fixture_graph, DEPLOYMENT, "photos")["spec"]["template"]["spec"]
    assert pod["containers"][0]["lifecycle"] == {"preStop": {"sleep": {"seconds": 40}}}
    assert pod["terminationGracePeriodSeconds"] == 60


def test_a_namespace_without_load_balancers_asks_for_no_readiness_gates(project_copy):
    from tools.offline import synthesize

    catalog = yaml.safe_load((FIXTURE / "workloads/catalog.yaml").read_text())
    catalog["apis"]["greeter"]["exposed"] = False
    del catalog["apis"]["greeter"]["public"]  # public routes need the NLB
    graph = synthesize("small", root=project_copy(catalog=catalog))
    assert (
        "elbv2.k8s.aws/pod-readiness-gate-inject" not in k8s(graph, NAMESPACE, "front")["metadata"]["labels"]
    )


def test_every_namespace_enforces_the_restricted_pod_security_standard(fixture_graph):
    # Default-deny traffic per namespace: policy namespaces-default-deny (test_policies.py).
    namespaces = {n["metadata"]["name"]: n for n in inputs(fixture_graph, NAMESPACE)}
    assert set(namespaces) == {"front", "media"}
    for namespace in namespaces.values():
        for mode in ("enforce", "audit", "warn"):
            assert namespace["metadata"]["labels"][f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_pods_mount_no_token_and_write_only_to_tmp(fixture_graph):
    # The restricted profile, requests, limits and probes: policy pods-restricted-profile (test_policies.py).
    for deployment in inputs(fixture_graph, DEPLOYMENT):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]


def test_images_are_the_stacks_repositories_with_the_configured_tag_and_digest(fixture_graphs):
    images = {name: c["image"] for name, c in containers(fixture_graphs["large"]).items()}
    registry = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/picturesocial-large"
    assert images == {
        "greeter": f"{registry}/greeter:2.0.0",
        "photos": f"{registry}/photos:3.1.0",
        "photos-canary": f"{registry}/photos:3.2.0-rc.1",
        "thumbs": f"{registry}/thumbs:0.9.0@sha256:" + "1" * 64,
    }
    # A digest needs no checkov skip annotation; a bare tag carries the documented one.
    thumbs = k8s(fixture_graphs["large"], DEPLOYMENT, "thumbs")
    assert "annotations" not in thumbs["metadata"]


def test_pods_spread_across_zones_and_roll_without_losing_capacity(fixture_graph):
    for deployment in inputs(fixture_graph, DEPLOYMENT):
        spec = deployment["spec"]
        assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
        (spread,) = spec["template"]["spec"]["topologySpreadConstraints"]
        assert spread["topologyKey"] == "topology.kubernetes.io/zone"
        anti = spec["template"]["spec"]["affinity"]["podAntiAffinity"]
        assert (
            anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"]
            == "kubernetes.io/hostname"
        )


def test_every_role_of_a_service_account_trusts_exactly_that_account(fixture_graph):
    roles = [r for r in fixture_graph.of_type(ROLE) if "IRSA" in r["inputs"].get("description", "")]
    trusted = set()
    for role in roles:
        (statement,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"]["Federated"] == fixture_graph.outputs["oidcProviderArn"]
        conditions = statement["Condition"]["StringEquals"]
        (sub,) = [v for k, v in conditions.items() if k.endswith(":sub")]
        (aud,) = [v for k, v in conditions.items() if k.endswith(":aud")]
        assert aud == "sts.amazonaws.com"
        trusted.add(sub)
    # photos calls AWS; greeter and thumbs do not and get no role at all. Add-ons have theirs.
    assert trusted == {
        "system:serviceaccount:media:photos",
        "system:serviceaccount:kube-system:aws-load-balancer-controller",
        "system:serviceaccount:amazon-cloudwatch:cloudwatch-agent",
        "system:serviceaccount:kube-system:karpenter",
    }


def test_an_api_role_grants_exactly_the_declared_actions_on_the_declared_resources(fixture_graphs):
    graph = fixture_graphs["large"]
    (policy,) = [p for p in graph.of_type(ROLE_POLICY) if p["name"] == "photos"]
    granted = {
        (action, statement["Resource"])
        for statement in json.loads(policy["inputs"]["policy"])["Statement"]
        for action in statement["Action"]
    }
    table = "arn:aws:dynamodb:eu-west-1:210987654321:table/picturesocial-large-photos"
    assert granted == {
        ("rekognition:DetectLabels", "*"),
        ("s3:GetObject", "arn:aws:s3:::picturesocial-large-photos/*"),
        ("dynamodb:GetItem", table),
        ("dynamodb:Query", table),
    }


def test_runtime_configuration_comes_from_the_stack(fixture_graphs):
    config = k8s(fixture_graphs["large"], "kubernetes:core/v1:ConfigMap", "photos-config", "media")
    assert config["data"] == {
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "ASPNETCORE_URLS": "http://+:5200",
        "PHOTOS_BUCKET": "picturesocial-large-photos",
        "PHOTOS_TABLE": "picturesocial-large-photos",
    }


@pytest.mark.parametrize("stack, protected", [("small", False), ("large", True)])
def test_data_stores_are_versioned_tls_only_and_protected_where_configured(fixture_graphs, stack, protected):
    graph = fixture_graphs[stack]
    # Public access block, encryption and PITR: policies s3-*, dynamodb-pitr (test_policies.py).
    (versioning,) = graph.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning["inputs"]["versioningConfiguration"]["status"] == "Enabled"
    (policy,) = graph.of_type("aws:s3/bucketPolicy:BucketPolicy")
    (statement,) = json.loads(policy["inputs"]["policy"])["Statement"]
    assert (statement["Effect"], statement["Condition"]) == (
        "Deny",
        {"Bool": {"aws:SecureTransport": "false"}},
    )
    (table,) = graph.of_type("aws:dynamodb/table:Table")
    assert table["inputs"]["hashKey"] == "id" and table["inputs"]["billingMode"] == "PAY_PER_REQUEST"
    assert table["inputs"]["deletionProtectionEnabled"] is protected and table["protect"] is protected
    (bucket,) = graph.of_type("aws:s3/bucket:Bucket")
    assert bucket["protect"] is protected and bucket["inputs"]["forceDestroy"] is (not protected)


def test_canary_runs_beside_stable_behind_the_same_service(fixture_graphs):
    graph = fixture_graphs["large"]
    canary, stable = k8s(graph, DEPLOYMENT, "photos-canary"), k8s(graph, DEPLOYMENT, "photos")
    assert canary["spec"]["replicas"] == 1 and "replicas" not in stable["spec"]
    service = k8s(graph, SERVICE, "photos", "media")
    for deployment in (stable, canary):
        assert selects(service["spec"]["selector"], deployment["spec"]["template"]["metadata"]["labels"])
    # Only the stable track is scaled by the HPA.
    assert {h["spec"]["scaleTargetRef"]["name"] for h in inputs(graph, HPA)} == {
        "greeter",
        "photos",
        "thumbs",
    }


def test_a_caller_namespace_may_reach_exactly_the_apis_that_allow_it(fixture_graphs):
    graph = fixture_graphs["small"]
    egress = k8s(graph, NETPOL, "allow-api-calls", "front")["spec"]["egress"]
    assert egress == [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "media"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "picturesocial"}},
                }
            ],
            "ports": [{"protocol": "TCP", "port": 5200}],
        }
    ]
    names = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in inputs(graph, NETPOL)}
    assert ("media", "allow-api-calls") not in names  # nobody in media calls out to another namespace


def test_adding_an_api_to_the_catalog_needs_no_code_change(fixture_graphs, project_copy):
    catalog = yaml.safe_load((FIXTURE / "workloads/catalog.yaml").read_text())
    catalog["apis"]["comments"] = {
        **catalog["apis"]["thumbs"],
        "namespace": "social",
        "port": 5400,
        "allowFrom": ["front"],
        "aws": {"dynamodb": {"photos": ["Query"]}},
    }
    config = fixture_config("small")
    config["picturesocial:apis"]["comments"] = {"tag": "0.1.0"}
    from tools.offline import synthesize

    after = synthesize("small", root=project_copy(catalog=catalog, stacks={"small": config}))
    before = fixture_graphs["small"]
    added = {(r["type"], r["name"]) for r in after.resources} - {
        (r["type"], r["name"]) for r in before.resources
    }
    assert (NAMESPACE, "social") in added and ("aws:ecr/repository:Repository", "comments") in added
    for typ in (DEPLOYMENT, SERVICE, HPA, PDB, NETPOL, ROLE, "kubernetes:core/v1:ServiceAccount"):
        assert (typ, "comments") in added, typ
    assert (SERVICE, "comments-lb") not in added  # not exposed: no load balancer
    assert (NETPOL, "front-allow-api-calls") not in added  # front already had egress rules: they grow instead


def test_every_kubernetes_object_uses_the_clusters_provider(fixture_graph):
    provider = [
        r["urn"] for r in fixture_graph.of_type("pulumi:providers:kubernetes") if r["name"] == "cluster"
    ]
    objects = [r for r in fixture_graph.resources if r["type"].startswith("kubernetes:") and r["custom"]]
    assert objects and all([r["provider"]] == provider for r in objects)


def test_a_tag_bump_changes_the_image_only(fixture_graphs):
    config = fixture_config("small")["picturesocial:apis"]
    graph = synth_fixture("small", apis={**config, "photos": {"tag": "3.1.1"}})
    assert containers(graph)["photos"]["image"].endswith("/photos:3.1.1")


def test_every_deployment_of_an_exposed_api_waits_for_its_load_balancer_service(fixture_graphs):
    """The controller injects the NLB readiness gate only into pods created after the LoadBalancer Service
    (aws-load-balancer-controller docs/deploy/pod_readiness_gate.md): stable and canary tracks alike."""
    checked = 0
    for stack, graph in fixture_graphs.items():
        services = {
            (r["inputs"]["metadata"]["namespace"], r["inputs"]["metadata"]["name"]): r["urn"]
            for r in graph.of_type(SERVICE)
            if r["inputs"]["spec"].get("type") == "LoadBalancer"
        }
        for deployment in graph.of_type(DEPLOYMENT):
            meta = deployment["inputs"]["metadata"]
            api = meta["labels"]["app.kubernetes.io/name"]
            service = services.get((meta["namespace"], f"{api}-lb"))
            if service is None:  # an internal API (thumbs): nothing to wait for
                assert api == "thumbs", (stack, meta["name"])
                continue
            assert service in deployment["dependencies"], (stack, meta["name"])
            checked += 1
    assert checked >= 5  # greeter and photos in both stacks, photos-canary in large
