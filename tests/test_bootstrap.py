"""The account bootstrap (bootstrap/): state backend, secrets key, GitHub's OIDC roles and the runner, and how
the platform's stacks and workflows line up with what it exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from graphq import one

from tools import ROOT
from tools.offline import synthesize
from tools.synth import main as synth_main

pytestmark = pytest.mark.live  # the bootstrap's own stack files
GITHUB = "token.actions.githubusercontent.com"
ENVIRONMENTS = {"dev": "111122223333", "staging": "444455556666", "prod": "777788889999"}


def stack_config(stack: str) -> dict:
    return yaml.safe_load((ROOT / "bootstrap" / f"Pulumi.{stack}.yaml").read_text())["config"]


def trust_conditions(graph, name: str) -> list[dict]:
    statements = json.loads(one(graph, "aws:iam/role:Role", name)["inputs"]["assumeRolePolicy"])["Statement"]
    for statement in statements:
        assert statement["Principal"] == {
            "Federated": f"arn:aws:iam::{ENVIRONMENTS[graph.stack]}:oidc-provider/{GITHUB}"
        }
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    return [statement["Condition"] for statement in statements]


def trust_condition(graph, name: str) -> dict:
    (condition,) = trust_conditions(graph, name)
    return condition


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_each_role_admits_exactly_its_subject_of_the_one_repository(bootstrap_graphs, stack):
    graph = bootstrap_graphs[stack]
    # Subjects of the repository's template, repo + context + ref (docs/decisions/0020): any pull request's
    # merge ref for the preview (the number the one wildcard), and the nightly drift check, a scheduled run on
    # main with no environment (docs/decisions/0029); exactly main in the environment for the deploy.
    assert trust_conditions(graph, "preview") == [
        {
            "StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"},
            "StringLike": {
                f"{GITHUB}:sub": "repo:example-org/picturesocial:pull_request:ref:refs/pull/*/merge"
            },
        },
        {
            "StringEquals": {
                f"{GITHUB}:aud": "sts.amazonaws.com",
                f"{GITHUB}:sub": "repo:example-org/picturesocial:ref:refs/heads/main:ref:refs/heads/main",
            }
        },
    ]
    assert trust_condition(graph, "deploy") == {
        "StringEquals": {
            f"{GITHUB}:aud": "sts.amazonaws.com",
            f"{GITHUB}:sub": f"repo:example-org/picturesocial:environment:{stack}:ref:refs/heads/main",
        }
    }
    # An hour for a preview, two for a deploy (the job's 90-minute timeout fits in one session).
    assert one(graph, "aws:iam/role:Role", "preview")["inputs"]["maxSessionDuration"] == 3600
    assert one(graph, "aws:iam/role:Role", "deploy")["inputs"]["maxSessionDuration"] == 7200
    provider = one(graph, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "github")
    assert provider["inputs"]["url"] == f"https://{GITHUB}" and provider["inputs"]["clientIdLists"] == [
        "sts.amazonaws.com"
    ]
    assert provider["protect"] is True


def test_the_state_bucket_is_versioned_encrypted_private_tls_only_expiring_and_protected(bootstrap_graphs):
    graph = bootstrap_graphs["dev"]
    bucket = one(graph, "aws:s3/bucket:Bucket", "state")
    assert bucket["inputs"]["bucket"] == "picturesocial-pulumi-state-111122223333"
    assert bucket["protect"] is True and bucket["inputs"]["forceDestroy"] is False
    versioning = one(graph, "aws:s3/bucketVersioning:BucketVersioning", "state")["inputs"]
    assert versioning["versioningConfiguration"] == {"status": "Enabled"}
    key = one(graph, "aws:kms/key:Key", "secrets")
    (rule,) = one(
        graph,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "state",
    )["inputs"]["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": f"arn:aws:kms:us-east-1:111122223333:key/{key['id']}",
    }
    block = one(graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "state")["inputs"]
    assert all(
        block[k] is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    (deny,) = json.loads(one(graph, "aws:s3/bucketPolicy:BucketPolicy", "state")["inputs"]["policy"])[
        "Statement"
    ]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    (lifecycle,) = one(graph, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "state")[
        "inputs"
    ]["rules"]
    assert lifecycle["noncurrentVersionExpiration"] == {"noncurrentDays": 90}


def test_the_secrets_key_rotates_is_protected_and_only_the_two_roles_use_it(bootstrap_graphs):
    graph = bootstrap_graphs["prod"]
    key = one(graph, "aws:kms/key:Key", "secrets")
    assert key["protect"] is True and key["inputs"]["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key["inputs"]["policy"])["Statement"]}
    assert statements["DeploysUseTheKey"]["Principal"] == {
        "AWS": "arn:aws:iam::777788889999:role/picturesocial-deploy"
    }
    assert "kms:*" not in statements["DeploysUseTheKey"]["Action"]
    # A pull request's preview decrypts and nothing else (docs/decisions/0019).
    assert statements["PreviewsDecrypt"]["Principal"] == {
        "AWS": "arn:aws:iam::777788889999:role/picturesocial-preview"
    }
    assert statements["PreviewsDecrypt"]["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert set(statements) == {"AccountAdministersTheKey", "DeploysUseTheKey", "PreviewsDecrypt"}
    assert one(graph, "aws:kms/alias:Alias", "secrets")["inputs"]["name"] == "alias/picturesocial-pulumi"


def test_the_deploy_role_is_bounded_away_from_the_bootstrap(bootstrap_graphs):
    graph = bootstrap_graphs["staging"]
    boundary = one(graph, "aws:iam/policy:Policy", "deploy-boundary")
    deploy = one(graph, "aws:iam/role:Role", "deploy")["inputs"]
    assert deploy["permissionsBoundary"] == (
        "arn:aws:iam::444455556666:policy/boundaries/picturesocial-deploy-boundary"
    )
    statements = {s["Sid"]: s for s in json.loads(boundary["inputs"]["policy"])["Statement"]}
    # One allow that caps nothing else, and every other statement a deny.
    assert {sid: s["Effect"] for sid, s in statements.items()} == {
        "CapNothingElse": "Allow",
        "KeepTheStateBucket": "Deny",
        "KeepTheSecretsKey": "Deny",
        "KeepTheSecretsKeyAlias": "Deny",
        "KeepTheIdentities": "Deny",
        "KeepTheRunner": "Deny",
        "KeepTheRunnerAddress": "Deny",
        "NoLongLivedCredentials": "Deny",
        "OnlyRolesWithTheWorkloadBoundary": "Deny",
        "NoRoleLosesItsBoundary": "Deny",
        "KeepTheBoundaryPolicies": "Deny",
    }
    assert statements["CapNothingElse"]["Action"] == "*" and "Condition" not in statements["CapNothingElse"]
    assert {"s3:PutBucketRequestPayment", "s3:DeleteObjectVersion"} <= set(
        statements["KeepTheStateBucket"]["Action"]
    )
    assert statements["KeepTheRunnerAddress"]["Condition"] == {
        "StringEquals": {
            "aws:ResourceTag/Name": ["picturesocial-runner-staging-egress", "picturesocial-runner-staging"]
        }
    }
    assert {"iam:CreateUser", "iam:CreateAccessKey"} <= set(statements["NoLongLivedCredentials"]["Action"])
    assert statements["KeepTheStateBucket"]["Resource"] == [
        "arn:aws:s3:::picturesocial-pulumi-state-444455556666",
        "arn:aws:s3:::picturesocial-pulumi-state-444455556666/*",
    ]
    assert "iam:Delete*" in statements["KeepTheIdentities"]["Action"]
    assert sorted(statements["KeepTheIdentities"]["Resource"]) == [
        f"arn:aws:iam::444455556666:oidc-provider/{GITHUB}",
        "arn:aws:iam::444455556666:role/OrganizationAccountAccessRole",
        "arn:aws:iam::444455556666:role/aws-reserved/*",
        "arn:aws:iam::444455556666:role/picturesocial-deploy",
        "arn:aws:iam::444455556666:role/picturesocial-preview",
        "arn:aws:iam::444455556666:role/picturesocial-runner-staging",
        "arn:aws:iam::444455556666:role/platform-admin",
    ]
    workload = one(graph, "aws:iam/policy:Policy", "workload-boundary")
    assert (workload["protect"], workload["inputs"]["path"]) == (True, "/boundaries/")
    assert boundary["protect"] is True
    # Every role of the bootstrap carries the deploy boundary (policy iam-roles-bounded).
    assert {r["inputs"].get("permissionsBoundary") for r in graph.of_type("aws:iam/role:Role")} == {
        "arn:aws:iam::444455556666:policy/boundaries/picturesocial-deploy-boundary"
    }
    assert statements["KeepTheSecretsKey"]["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/picturesocial-pulumi"}
    }


def test_the_preview_role_only_reads(bootstrap_graphs):
    # A preview with a self-managed backend takes no lock and writes no history (pulumi
    # pkg/backend/diy/backend.go: Preview goes straight to apply with DryRun): ReadOnlyAccess reads the state,
    # the key's policy decrypts it, and a pull request can neither plant a lock nor remove a deploy's.
    graph = bootstrap_graphs["dev"]
    preview = one(graph, "aws:iam/role:Role", "preview")
    attached = [
        a["inputs"]["policyArn"]
        for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a["inputs"]["role"] == preview["inputs"]["name"]
    ]
    assert attached == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert [
        p for p in graph.of_type("aws:iam/rolePolicy:RolePolicy") if p["inputs"]["role"] == preview["id"]
    ] == []


def test_the_runner_is_a_codebuild_project_behind_one_nat_address(bootstrap_graphs):
    graph = bootstrap_graphs["dev"]
    project = one(graph, "aws:codebuild/project:Project", "runner")["inputs"]
    assert project["name"] == "picturesocial-runner-dev"
    assert project["source"]["location"] == "https://github.com/example-org/picturesocial"
    assert project["source"]["auth"]["type"] == "CODECONNECTIONS"
    private = one(graph, "aws:ec2/subnet:Subnet", "private")
    assert project["vpcConfig"]["subnets"] == [private["id"]]
    # Ubuntu: actions/setup-python has no Pythons for Amazon Linux.
    assert project["environment"]["image"] == "aws/codebuild/standard:8.0"
    # Created after the inline policy that lets CodeBuild describe the VPC (checked at creation).
    permissions = one(graph, "aws:iam/rolePolicy:RolePolicy", "service-role")
    assert permissions["urn"] in one(graph, "aws:codebuild/project:Project", "runner")["dependencies"]
    webhook = one(graph, "aws:codebuild/webhook:Webhook", "runner")["inputs"]
    assert webhook["filterGroups"] == [
        {
            "filters": [
                {"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"},
                {"type": "WORKFLOW_NAME", "pattern": "^(deploy|preview|drift)$"},
            ]
        }
    ]
    address = one(graph, "aws:ec2/eip:Eip", "egress")
    assert address["protect"] is True
    igw = one(graph, "aws:ec2/internetGateway:InternetGateway", "igw")
    assert igw["urn"] in one(graph, "aws:ec2/natGateway:NatGateway", "egress")["dependencies"]
    route = one(graph, "aws:ec2/route:Route", "private-egress")["inputs"]
    assert route["natGatewayId"] == one(graph, "aws:ec2/natGateway:NatGateway", "egress")["id"]
    assert graph.outputs["runnerEgressCidr"].endswith("/32")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_platform_stack_of_each_account_names_what_its_bootstrap_exports(bootstrap_graphs, stack):
    outputs = bootstrap_graphs[stack].outputs
    platform = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert platform["aws:allowedAccountIds"] == stack_config(stack)["aws:allowedAccountIds"]
    ci = platform["picturesocial:ci"]
    assert ci["runner"] == outputs["runnerProject"] == f"picturesocial-runner-{stack}"
    # The platform finds the runner's address by this tag (infra/cluster.py): the bootstrap's EIP carries it.
    address = one(bootstrap_graphs[stack], "aws:ec2/eip:Eip", "egress")
    assert address["inputs"]["tags"]["Name"] == f"{ci['runner']}-egress"
    assert (ci["deployRoleArn"], ci["previewRoleArn"], ci["permissionsBoundaryArn"]) == (
        outputs["deployRoleArn"],
        outputs["previewRoleArn"],
        outputs["workloadBoundaryArn"],
    )
    # The cluster's administrators are among the roles the deploy boundary keeps from the deploy role.
    admins = {arn.rsplit("/", 1)[-1] for arn in platform["picturesocial:cluster"]["adminRoleArns"]}
    assert admins <= set(stack_config(stack)["bootstrap:adminRoles"])
    # The policy pack checks the bootstrap's trust against what its policy config names: the same values.
    policy_config = json.loads((ROOT / "policy" / "config" / "bootstrap" / f"{stack}.json").read_text())
    assert policy_config["github-oidc-trust-scoped"] == {
        "repository": stack_config(stack)["bootstrap:githubRepository"],
        "deployEnvironment": stack_config(stack)["bootstrap:environment"],
        "deployRole": "picturesocial-deploy",
    }
    assert policy_config["account-guard"] == {"expectedAccountId": ENVIRONMENTS[stack]}
    assert outputs["backendUrl"] == f"s3://picturesocial-pulumi-state-{ENVIRONMENTS[stack]}"
    assert outputs["secretsProvider"] == "awskms://alias/picturesocial-pulumi?region=us-east-1"
    # Not in the stack file, the CLI would fall back to the passphrase provider on every run after the first.
    stack_file = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    assert stack_file["secretsprovider"] == outputs["secretsProvider"]


def test_the_workflows_run_on_the_runner_the_bootstrap_creates():
    workflow = (ROOT / ".github" / "workflows" / "pulumi-up.yml").read_text()
    assert (
        "codebuild-picturesocial-runner-${{ inputs.stack }}-${{ github.run_id }}-${{ github.run_attempt }}"
        in workflow
    )


def test_a_deploy_job_never_outlives_its_credentials(bootstrap_graphs):
    # configure-aws-credentials exports one session for the whole job: the session must cover the job's
    # timeout, and the deploy role must allow that session.
    (job,) = yaml.safe_load((ROOT / ".github" / "workflows" / "pulumi-up.yml").read_text())["jobs"].values()
    (credentials,) = [
        s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-cred")
    ]
    session = credentials["with"]["role-duration-seconds"]
    assert job["timeout-minutes"] * 60 <= session
    for graph in bootstrap_graphs.values():
        assert session <= one(graph, "aws:iam/role:Role", "deploy")["inputs"]["maxSessionDuration"]


def test_before_its_connection_is_authorized_the_runner_has_no_project_or_webhook(tmp_path):
    # A new account's first `pulumi up`: CodeBuild refuses a project and a webhook on a PENDING connection.
    config = write_bootstrap_stack(tmp_path, **{"bootstrap:runnerConnectionAuthorized": False})
    graph = synthesize("dev", root=ROOT / "bootstrap", config_file=Path(config))
    assert (
        graph.of_type("aws:codebuild/project:Project") == graph.of_type("aws:codebuild/webhook:Webhook") == []
    )
    connection = one(graph, "aws:codeconnections/connection:Connection", "github")["inputs"]
    assert (connection["name"], connection["providerType"]) == ("picturesocial-runner-dev", "GitHub")
    assert one(graph, "aws:ec2/eip:Eip", "egress")["protect"] is True
    assert graph.outputs["runnerProject"] == "picturesocial-runner-dev"


def write_bootstrap_stack(tmp_path, **changes) -> str:
    config = {**stack_config("dev"), **changes}
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return str(path)


@pytest.mark.parametrize(
    "changes, expected",
    [
        (
            {"bootstrap:githubRepository": "picturesocial"},
            'error: bootstrap:githubRepository: "picturesocial" must be a GitHub repository written '
            "owner/name, such as example-org/picturesocial\n",
        ),
        (
            {"bootstrap:environment": "qa"},
            'error: bootstrap:environment: "qa" must be "dev", "staging" or "prod"\n',
        ),
        (
            {"bootstrap:stateBucket": "Picturesocial_State"},
            'error: bootstrap:stateBucket: "Picturesocial_State" is ',
        ),
        (
            {"bootstrap:githubRepo": "example-org/picturesocial"},
            "error: bootstrap:githubRepo: unknown key; did you mean bootstrap:githubRepository?\n",
        ),
        # Trust that would reach beyond reviewed main-branch runs of the one repository (docs/decisions/0020).
        (
            {"bootstrap:githubRepository": "example-org/*"},
            'error: bootstrap:githubRepository: "example-org/*" must name one repository: a wildcard trusts '
            "every repository it matches\n",
        ),
        (
            {"bootstrap:deployBranch": "release"},
            'error: bootstrap:deployBranch: "release" must be "main": only reviewed main-branch runs deploy '
            "(docs/decisions/0020)\n",
        ),
        (
            {"bootstrap:environment": "prod"},
            "error: bootstrap:reviewers: prod's deploy jobs need at least one required reviewer "
            "(a team or user ID)\n",
        ),
        (
            {"bootstrap:reviewers": {"teams": [1, 2, 3, 4, 5, 6, 7]}},
            "error: bootstrap:reviewers.teams: [1, 2, 3, 4, 5, 6, 7] must have at most 6 entries\n",
        ),
        (
            {"bootstrap:repositorySettingsOwner": "qa"},
            'error: bootstrap:repositorySettingsOwner: "qa" must be "dev", "staging" or "prod"\n',
        ),
        (
            {"bootstrap:runnerActors": [583231, 0]},
            "error: bootstrap:runnerActors[1]: 0 must be greater than 0\n",
        ),
    ],
    ids=[
        "repository-without-owner",
        "unknown-environment",
        "bucket-s3-refuses",
        "typo-in-a-key",
        "wildcard-repository",
        "another-branch",
        "prod-without-reviewers",
        "too-many-reviewers",
        "unknown-owner-stack",
        "actor-not-an-id",
    ],
)
def test_a_bad_bootstrap_value_stops_with_one_line_naming_the_key(tmp_path, capsys, changes, expected):
    code = synth_main(
        ["dev", "--project", str(ROOT / "bootstrap"), "--config", write_bootstrap_stack(tmp_path, **changes)]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(expected) and err.count("\n") == 1, err


def test_the_synth_command_writes_the_bootstrap_graph_under_its_project_folder(
    monkeypatch, capsys, bootstrap_graphs
):
    # `python -m tools.synth dev --project bootstrap`, from the repository's root as the README runs it.
    monkeypatch.chdir(ROOT)
    assert synth_main(["dev", "--project", "bootstrap"]) == 0
    assert "wrote build/synth/bootstrap/dev/graph.json" in capsys.readouterr().out
    written = (ROOT / "build" / "synth" / "bootstrap" / "dev" / "graph.json").read_text()
    assert written == bootstrap_graphs["dev"].to_json()
    types = {resource["type"] for resource in json.loads(written)["resources"]}
    assert {
        "aws:s3/bucket:Bucket",
        "aws:kms/key:Key",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:iam/role:Role",
    } <= types


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_no_platform_stack_keeps_a_secret_a_pull_request_could_read(stack):
    # A preview runs the pull request's code with the preview role, which decrypts the stack's data key: the
    # stacks therefore keep no secret in their config (docs/decisions/0019).
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]

    def secure(value) -> list:
        if isinstance(value, dict):
            return ["secure"] if "secure" in value else [k for v in value.values() for k in secure(v)]
        return [k for v in value for k in secure(v)] if isinstance(value, list) else []

    assert [key for key, value in config.items() if secure(value)] == []
