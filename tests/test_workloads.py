"""Graph-wide invariants of the Kubernetes workloads, per stack."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import stack_file, with_extra_api
from tools.offline import synthesize

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def objects(graph, typ):
    return [r["inputs"] for r in graph.of_type(typ)]


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# That every Deployment has a Service, a PDB and an HPA, and pins no replicas under an HPA, is checked by
# the policies deployments-have-service-pdb-hpa and hpa-owns-replicas (test_policies.py).


def test_every_pdb_allows_one_disruption_and_evicts_unhealthy_pods(graph):
    pdbs = objects(graph, PDB)
    assert len(pdbs) == len(objects(graph, DEPLOYMENT))
    for pdb in pdbs:
        assert pdb["spec"]["maxUnavailable"] == 1
        assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_hpas_scale_from_two_replicas_at_70_percent_cpu(graph):
    for hpa in objects(graph, HPA):
        assert hpa["spec"]["minReplicas"] >= 2
        assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70


def test_every_load_balancer_targets_pod_ips_and_is_named_lb(graph):
    # Internal scheme and NLB class: policy load-balancers-internal (test_policies.py).
    balancers = [s for s in objects(graph, SERVICE) if s["spec"]["type"] == "LoadBalancer"]
    assert balancers
    for service in balancers:
        annotations = service["metadata"]["annotations"]
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
        assert service["metadata"]["name"].endswith("-lb")


def test_load_balancer_services_wait_for_the_controller(graph):
    (release,) = [r for r in graph.of_type("kubernetes:helm.sh/v3:Release")
                  if r["inputs"]["name"] == "aws-load-balancer-controller"]
    groups = {g["urn"] for g in graph.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert groups <= set(release["dependencies"])
    for service in graph.of_type(SERVICE):
        if service["inputs"]["spec"]["type"] == "LoadBalancer":
            assert release["urn"] in service["dependencies"]


def test_every_namespace_enforces_the_restricted_pod_security_standard(graph):
    # Default-deny traffic per namespace: policy namespaces-default-deny (test_policies.py).
    for namespace in objects(graph, NAMESPACE):
        labels = namespace["metadata"]["labels"]
        for mode in ("enforce", "audit", "warn"):
            assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_pods_mount_no_token_probe_differently_and_write_only_to_tmp(graph):
    # The restricted profile, requests, limits and probes: policy pods-restricted-profile (test_policies.py).
    for deployment in objects(graph, DEPLOYMENT):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            assert container["readinessProbe"] != container["livenessProbe"]
            assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]


def test_every_image_is_the_stacks_own_repository_with_the_configured_tag(graph):
    urls = graph.outputs["repositoryUrls"]
    tags = {name: values["tag"] for name, values in stack_file(graph.stack)["picturesocial:apis"].items()}
    for deployment in objects(graph, DEPLOYMENT):
        name = deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"{urls[name]}:{tags[name]}"
        assert f"picturesocial-{graph.stack}/" in container["image"]


def test_pods_spread_across_zones_and_roll_without_losing_capacity(graph):
    for deployment in objects(graph, DEPLOYMENT):
        spec = deployment["spec"]
        assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        (spread,) = spec["template"]["spec"]["topologySpreadConstraints"]
        assert spread["topologyKey"] == "topology.kubernetes.io/zone"
        anti = spec["template"]["spec"]["affinity"]["podAntiAffinity"]
        assert anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"] \
            == "kubernetes.io/hostname"


def test_every_api_role_trusts_exactly_its_own_service_account(graph):
    roles = [r for r in graph.of_type(ROLE) if "IRSA" in r["inputs"].get("description", "")]
    assert roles
    accounts = {(sa["metadata"]["namespace"], sa["metadata"]["name"])
                for sa in objects(graph, "kubernetes:core/v1:ServiceAccount")}
    for role in roles:
        (statement,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"]["Federated"] == graph.outputs["oidcProviderArn"]
        conditions = statement["Condition"]["StringEquals"]
        (sub,) = [v for k, v in conditions.items() if k.endswith(":sub")]
        (aud,) = [v for k, v in conditions.items() if k.endswith(":aud")]
        assert aud == "sts.amazonaws.com"
        _, _, ns, name = sub.split(":")
        assert (ns, name) in accounts or (ns, name) == ("kube-system", "aws-load-balancer-controller")


def test_pictures_can_read_its_bucket_objects_and_scan_its_table_and_nothing_else(graph):
    (policy,) = [p for p in graph.of_type(ROLE_POLICY) if p["name"] == "pictures"]
    granted = {(action, statement["Resource"]) for statement in json.loads(policy["inputs"]["policy"])["Statement"]
               for action in statement["Action"]}
    bucket = graph.outputs["buckets"]["pictures"]
    table = f"arn:aws:dynamodb:us-east-1:{stack_file(graph.stack)['aws:allowedAccountIds'][0]}:table/" \
            f"{graph.outputs['tables']['pictures']}"
    assert granted == {
        ("rekognition:DetectLabels", "*"), ("rekognition:DetectText", "*"),
        ("s3:GetObject", f"arn:aws:s3:::{bucket}/*"),
        *{(f"dynamodb:{a}", table) for a in ("GetItem", "PutItem", "DeleteItem", "Scan")},
    }
    # helloworld calls no AWS API: no role, no token for one.
    assert not [p for p in graph.of_type(ROLE_POLICY) if p["name"] == "helloworld"]


def test_runtime_configuration_comes_from_the_stack(graph):
    (config,) = [c for c in objects(graph, "kubernetes:core/v1:ConfigMap") if c["metadata"]["name"] == "pictures-config"]
    assert config["data"]["PICTURES_BUCKET"] == f"picturesocial-{graph.stack}-pictures"
    assert config["data"]["PICTURES_TABLE"] == f"picturesocial-{graph.stack}-pictures"
    assert config["data"]["AWS_REGION"] == "us-east-1"


def test_data_stores_are_versioned_tls_only_and_deletion_protected_outside_dev(graphs):
    for stack, graph in graphs.items():
        # Public access block, encryption and PITR: policies s3-*, dynamodb-pitr (test_policies.py).
        assert len(graph.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")) == 1
        (versioning,) = graph.of_type("aws:s3/bucketVersioning:BucketVersioning")
        assert versioning["inputs"]["versioningConfiguration"]["status"] == "Enabled"
        (policy,) = graph.of_type("aws:s3/bucketPolicy:BucketPolicy")
        assert json.loads(policy["inputs"]["policy"])["Statement"][0]["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}}
        (table,) = graph.of_type("aws:dynamodb/table:Table")
        assert table["inputs"]["hashKey"] == "id" and table["inputs"]["billingMode"] == "PAY_PER_REQUEST"
        assert table["inputs"]["deletionProtectionEnabled"] is (stack != "dev")
        assert table["protect"] is (stack != "dev")


def test_canary_runs_beside_stable_behind_the_same_service(graphs):
    apis = {**stack_file("dev")["picturesocial:apis"],
            "pictures": {"tag": "1.0.0", "canary": {"tag": "1.1.0", "replicas": 1}}}
    graph = synthesize("dev", config_overrides={"picturesocial:apis": apis})
    deployments = {d["metadata"]["name"]: d for d in objects(graph, DEPLOYMENT)}
    canary = deployments["pictures-canary"]
    assert canary["spec"]["replicas"] == 1
    assert canary["spec"]["template"]["spec"]["containers"][0]["image"].endswith("/pictures:1.1.0")
    (service,) = [s for s in objects(graph, SERVICE) if s["metadata"]["name"] == "pictures"]
    for name in ("pictures", "pictures-canary"):
        assert selects(service["spec"]["selector"], deployments[name]["spec"]["template"]["metadata"]["labels"])
    assert {h["spec"]["scaleTargetRef"]["name"] for h in objects(graph, HPA)} == {"helloworld", "pictures"}


def test_a_digest_pins_the_image(graphs):
    digest = "sha256:" + "ab" * 32
    apis = {**stack_file("prod")["picturesocial:apis"], "helloworld": {"tag": "1.0.0", "digest": digest}}
    graph = synthesize("prod", config_overrides={"picturesocial:apis": apis})
    (deployment,) = [d for d in objects(graph, DEPLOYMENT) if d["metadata"]["name"] == "helloworld"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f":1.0.0@{digest}")
    assert "annotations" not in deployment["metadata"]  # no digest skip needed


def test_adding_an_api_to_the_catalog_needs_no_code_change(tmp_path: Path):
    before = synthesize("dev")
    after = synthesize("dev", config_overrides=with_extra_api(tmp_path))
    added = {(r["type"], r["name"]) for r in after.resources} - {(r["type"], r["name"]) for r in before.resources}
    assert (NAMESPACE, "social") in added
    assert ("aws:ecr/repository:Repository", "comments") in added
    assert (ROLE, "comments") in added
    for typ in (DEPLOYMENT, SERVICE, HPA, PDB, NETPOL, "kubernetes:core/v1:ServiceAccount"):
        assert (typ, "comments") in added, typ
    # Not exposed: no load balancer; callers' namespace may now reach it.
    assert (SERVICE, "comments-lb") not in added
    assert (NETPOL, "pictures-allow-api-calls") in added


def test_every_kubernetes_object_uses_the_clusters_provider(graph):
    (provider,) = [r["urn"] for r in graph.of_type("pulumi:providers:kubernetes") if r["name"] == "cluster"]
    objects_ = [r for r in graph.resources if r["type"].startswith("kubernetes:") and r["custom"]]
    assert objects_ and all(r["provider"] == provider for r in objects_)
