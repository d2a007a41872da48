"""Images promoted by digest: one way in (the source registry replicates to the others), digests required
where the stack says so, promotion as a rewrite of two scalars per API, and preflight vouching for each
pinned digest in the target account (docs/decisions/0033, 0034)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from conftest import FIXTURE, fixture_config, synth_fixture
from iam_eval import allowed

from tools import ROOT
from tools.diff import diff
from tools.offline import synthesize
from tools.promote import main as promote
from tools.synth import main as synth

SOURCE, DESTINATION, STRANGER = "123456789012", "210987654321", "999999999999"
DIGESTS = {api: "sha256:" + c * 64 for api, c in (("greeter", "a"), ("photos", "b"), ("thumbs", "c"))}


# -- requireDigest ---------------------------------------------------------------------------------


def with_digests(apis, **changes):
    out = {name: {**values, "digest": DIGESTS[name]} for name, values in apis.items()}
    for name, values in changes.items():
        out[name] = values
    return out


SMALL_APIS = fixture_config("small")["picturesocial:apis"]
REQUIRE = {"forceDelete": True, "keepTaggedImages": 5, "requireDigest": True}
DIGEST_CASES = [
    (
        "one-api-of-three-without-a-digest",
        with_digests(SMALL_APIS, photos={"tag": "3.1.0"}),
        "Pulumi.small.yaml: picturesocial:apis.photos.digest: is required: "
        "picturesocial:registry.requireDigest is on",
    ),
    (
        "a-malformed-digest",
        with_digests(SMALL_APIS, thumbs={"tag": "0.9.0", "digest": "sha256:abc"}),
        'Pulumi.small.yaml: picturesocial:apis.thumbs.digest: "sha256:abc" must be an image digest: '
        "sha256: and 64 hex digits",
    ),
    (
        "a-canary-without-a-digest",
        with_digests(
            SMALL_APIS,
            photos={"tag": "3.1.0", "digest": DIGESTS["photos"], "canary": {"tag": "3.2.0"}},
        ),
        "Pulumi.small.yaml: picturesocial:apis.photos.canary.digest: is required",
    ),
]


@pytest.mark.parametrize("apis, expected", [c[1:] for c in DIGEST_CASES], ids=[c[0] for c in DIGEST_CASES])
def test_require_digest_stops_an_api_without_a_valid_digest_with_one_line(
    write_stack, capsys, apis, expected
):
    config = write_stack({"picturesocial:registry": REQUIRE, "picturesocial:apis": apis})
    assert synth(["small", "--project", str(FIXTURE), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: {expected}"), line


# -- replication: the source and a destination ------------------------------------------------------


@pytest.fixture(scope="module")
def source():
    registry = {**fixture_config("small")["picturesocial:registry"], "replicateTo": [DESTINATION]}
    return synth_fixture("small", registry=registry)


@pytest.fixture(scope="module")
def destination():
    registry = {
        **fixture_config("large")["picturesocial:registry"],
        "requireDigest": True,
        "replicatedFrom": {"accountId": SOURCE, "repositoryPrefix": "picturesocial-small"},
    }
    apis = fixture_config("large")["picturesocial:apis"]
    apis = with_digests(apis)
    apis["photos"]["canary"] = {**apis["photos"]["canary"], "digest": "sha256:" + "d" * 64}
    return synth_fixture("large", registry=registry, apis=apis)


def test_the_source_replicates_its_repositories_to_each_destination(source):
    (replication,) = source.of_type("aws:ecr/replicationConfiguration:ReplicationConfiguration")
    (rule,) = replication["inputs"]["replicationConfiguration"]["rules"]
    assert rule["destinations"] == [{"region": "us-east-1", "registryId": DESTINATION}]
    assert rule["repositoryFilters"] == [{"filter": "picturesocial-small/", "filterType": "PREFIX_MATCH"}]
    assert source.of_type("aws:ecr/registryPolicy:RegistryPolicy") == []


def test_the_fixture_stacks_replicate_nothing(fixture_graph):
    for typ in ("replicationConfiguration:ReplicationConfiguration", "registryPolicy:RegistryPolicy"):
        assert fixture_graph.of_type(f"aws:ecr/{typ}") == []


def as_principal(policy, account):
    """The statements of a resource policy that name ``account`` as their principal."""
    statements = [
        s for s in policy["Statement"] if s.get("Principal", {}).get("AWS") == f"arn:aws:iam::{account}:root"
    ]
    return {"Statement": statements}


def test_a_destination_admits_only_the_source_to_replicate_into_the_replica_repositories(destination):
    (registry_policy,) = destination.of_type("aws:ecr/registryPolicy:RegistryPolicy")
    policy = json.loads(registry_policy["inputs"]["policy"])
    replica = f"arn:aws:ecr:eu-west-1:{DESTINATION}:repository/picturesocial-small/photos"
    assert allowed(as_principal(policy, SOURCE), "ecr:ReplicateImage", replica)
    assert not allowed(as_principal(policy, STRANGER), "ecr:ReplicateImage", replica)
    # Never the power to create a repository with ECR's defaults, nor to write outside the replicas.
    assert not allowed(as_principal(policy, SOURCE), "ecr:CreateRepository", replica)
    other = f"arn:aws:ecr:eu-west-1:{DESTINATION}:repository/picturesocial-large/photos"
    assert not allowed(as_principal(policy, SOURCE), "ecr:ReplicateImage", other)
    assert {s["Principal"]["AWS"] for s in policy["Statement"]} == {f"arn:aws:iam::{SOURCE}:root"}


def test_a_destination_creates_each_replica_repository_with_the_platform_settings(destination):
    repositories = {r["inputs"]["name"]: r for r in destination.of_type("aws:ecr/repository:Repository")}
    for api in ("greeter", "photos", "thumbs"):
        replica = repositories[f"picturesocial-small/{api}"]["inputs"]
        assert replica["imageTagMutability"] == "IMMUTABLE"
        assert replica["imageScanningConfiguration"] == {"scanOnPush": True}
        assert replica["encryptionConfigurations"] == [{"encryptionType": "KMS"}]
        # its own repository stays: protected state
        assert f"picturesocial-large/{api}" in repositories
    policies = {
        p["inputs"]["repository"] for p in destination.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    }
    assert {f"picturesocial-small/{api}" for api in ("greeter", "photos", "thumbs")} <= policies


def test_a_destination_runs_every_image_by_digest_from_its_replicas(destination):
    registry = f"{DESTINATION}.dkr.ecr.eu-west-1.amazonaws.com/picturesocial-small"
    images = {
        d["inputs"]["metadata"]["name"]: d["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in destination.of_type("kubernetes:apps/v1:Deployment")
        if d["inputs"]["metadata"]["name"] in ("greeter", "photos", "thumbs", "photos-canary")
    }
    assert images == {
        "greeter": f"{registry}/greeter:2.0.0@{DIGESTS['greeter']}",
        "photos": f"{registry}/photos:3.1.0@{DIGESTS['photos']}",
        "photos-canary": f"{registry}/photos:3.2.0-rc.1@sha256:{'d' * 64}",
        "thumbs": f"{registry}/thumbs:0.9.0@{DIGESTS['thumbs']}",
    }


# -- make promote --------------------------------------------------------------------------------------


@pytest.fixture
def live_copy(tmp_path):
    """The live project's stack files and catalog in a directory of their own; staging pins two APIs."""
    root = tmp_path / "live"
    root.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        (root / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "workloads", root / "workloads")
    for path in ROOT.glob("Pulumi.*.yaml"):
        shutil.copy(path, root / path.name)
    staging = yaml.safe_load((root / "Pulumi.staging.yaml").read_text())["config"]["picturesocial:apis"]
    text = (root / "Pulumi.staging.yaml").read_text()
    for i, name in enumerate(sorted(staging)):
        old = f'    {name}: {{tag: "{staging[name]["tag"]}"}}\n'
        assert old in text, "the live staging file lists its APIs one per line"
        text = text.replace(old, f'    {name}: {{tag: "9.{i}.0", digest: "sha256:{str(i) * 64}"}}\n')
    (root / "Pulumi.staging.yaml").write_text(text)
    return root


def test_promote_changes_only_the_chosen_apis_tag_and_digest(live_copy, capsys):
    before = (live_copy / "Pulumi.prod.yaml").read_text()
    assert promote(["staging", "prod", "--apis", "pictures", "--project", str(live_copy)]) == 0
    printed = capsys.readouterr().out
    after = (live_copy / "Pulumi.prod.yaml").read_text()
    removed = [line for line in before.splitlines() if line not in after.splitlines()]
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    pictures = yaml.safe_load((live_copy / "Pulumi.staging.yaml").read_text())["config"]["picturesocial:apis"]
    assert [line.split(":")[0].strip() for line in removed] == ["pictures"]
    assert yaml.safe_load("\n".join(added).strip()) == {"pictures": pictures["pictures"]}
    assert f"-{removed[0]}" in printed and f"+{added[0]}" in printed
    # Every other API untouched; a second run has nothing to do.
    assert promote(["staging", "prod", "--apis", "pictures", "--project", str(live_copy)]) == 0
    assert (live_copy / "Pulumi.prod.yaml").read_text() == after


def test_the_promoted_prod_stack_changes_one_deployment_image(live_copy, graphs):
    assert promote(["staging", "prod", "--apis", "pictures", "--project", str(live_copy)]) == 0
    promoted = synthesize("prod", root=ROOT, config_file=live_copy / "Pulumi.prod.yaml")
    changes, _ = diff(json.loads(graphs["prod"].to_json()), json.loads(promoted.to_json()))
    deployments = [c for c in changes if c.type == "kubernetes:apps/v1:Deployment"]
    (change,) = deployments
    assert change.urn.endswith("::pictures") and "spec.template.spec.containers[0].image" in change.paths
    # Besides it, only the lifecycle policies of its repositories (the replica and the retired own one), which
    # now keep the promoted tag.
    assert {(c.type, c.urn.rsplit("::", 1)[-1]) for c in changes if c not in deployments} == {
        ("aws:ecr/lifecyclePolicy:LifecyclePolicy", "pictures-replica"),
        ("aws:ecr/lifecyclePolicy:LifecyclePolicy", "pictures"),
    }


def test_promote_refuses_an_api_the_source_has_not_pinned(live_copy, capsys):
    text = (live_copy / "Pulumi.staging.yaml").read_text()
    text = "\n".join(
        line.split(", digest")[0] + "}" if line.startswith("    helloworld:") else line
        for line in text.splitlines()
    )
    (live_copy / "Pulumi.staging.yaml").write_text(text + "\n")
    before = (live_copy / "Pulumi.prod.yaml").read_text()
    assert promote(["staging", "prod", "--apis", "pictures,helloworld", "--project", str(live_copy)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: Pulumi.staging.yaml: picturesocial:apis.helloworld.digest: missing"), line
    assert (live_copy / "Pulumi.prod.yaml").read_text() == before


def test_promote_keeps_a_block_style_entry_and_its_comments(project_copy, capsys):
    root = project_copy()
    (root / "Pulumi.small.yaml").write_text(
        (root / "Pulumi.small.yaml")
        .read_text()
        .replace('    thumbs: {tag: "0.9.0"}', f'    thumbs: {{tag: "1.0.0", digest: "{DIGESTS["thumbs"]}"}}')
    )
    large = (root / "Pulumi.large.yaml").read_text()
    block = "    thumbs:\n      tag: '0.9.0'   # the release of March\n      replicas: {minReplicas: 2}\n"
    large = "\n".join(
        block.rstrip("\n") if line.startswith("    thumbs:") else line for line in large.splitlines()
    )
    (root / "Pulumi.large.yaml").write_text(large + "\n")
    assert promote(["small", "large", "--apis", "thumbs", "--project", str(root)]) == 0
    text = (root / "Pulumi.large.yaml").read_text()
    assert (
        '    thumbs:\n      tag: "1.0.0"   # the release of March\n'
        f'      digest: "{DIGESTS["thumbs"]}"\n      replicas: {{minReplicas: 2}}\n'
    ) in text


def test_make_promote_passes_the_apis_through():
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "promote", "FROM=staging", "TO=prod", "APIS=pictures"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip().splitlines()[-1].endswith("-m tools.promote staging prod --apis 'pictures'")


@pytest.mark.live
def test_each_stacks_policy_config_names_its_own_registry_and_requires_what_its_settings_require():
    from tools.offline.policy_run import stack_policy_config
    from tools.offline.stacks import discover
    from tools.ops import load_settings

    for stack in discover(ROOT):
        settings = load_settings(stack).stack
        config = stack_policy_config(stack)["images-pinned-from-own-registry"]
        assert config == {
            "registry": f"{settings.account_id}.dkr.ecr.{settings.region}.amazonaws.com",
            "requireDigest": settings.registry.require_digest,
        }, stack
