"""`make configure` on a copy of the files a fresh clone holds: afterwards no example account or repository is
left in them, and each stack's files name its own account."""

from __future__ import annotations

import json
import shutil
import subprocess

import yaml

from tools import ROOT
from tools.configure import main

ACCOUNTS = {"dev": "123412341234", "staging": "234523452345", "prod": "345634563456"}
EXAMPLES = ("111122223333", "444455556666", "777788889999", "example-org/picturesocial")


def copy_of_the_configured_files(tmp_path):
    for pattern in ("Pulumi.*.yaml", "bootstrap/Pulumi.*.yaml", "policy/config/**/*.json"):
        for path in ROOT.glob(pattern):
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    return sorted(p for p in tmp_path.rglob("*") if p.is_file())


def test_configure_writes_the_repository_and_every_accounts_id_into_every_file(tmp_path, capsys):
    files = copy_of_the_configured_files(tmp_path)
    args = ["--root", str(tmp_path), "--org", "acme", "--repo", "photos"]
    assert main(args + [f"--account={stack}={account}" for stack, account in ACCOUNTS.items()]) == 0
    for path in files:
        text = path.read_text()
        assert not any(example in text for example in EXAMPLES), path
    for stack, account in ACCOUNTS.items():
        config = yaml.safe_load((tmp_path / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert config["aws:allowedAccountIds"] == [account]
        assert (
            config["picturesocial:ci"]["deployRoleArn"] == f"arn:aws:iam::{account}:role/picturesocial-deploy"
        )
        bootstrap = yaml.safe_load((tmp_path / "bootstrap" / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert bootstrap["bootstrap:githubRepository"] == "acme/photos"
        assert bootstrap["bootstrap:stateBucket"] == f"picturesocial-pulumi-state-{account}"
        guard = json.loads((tmp_path / "policy" / "config" / f"{stack}.json").read_text())["account-guard"]
        assert guard == {"expectedAccountId": account}
        trust = json.loads((tmp_path / "policy" / "config" / "bootstrap" / f"{stack}.json").read_text())
        assert trust["github-oidc-trust-scoped"]["repository"] == "acme/photos"
    assert len(capsys.readouterr().out.splitlines()) == len(files)


def test_configure_refuses_an_example_or_malformed_account_with_one_line(tmp_path, capsys):
    copy_of_the_configured_files(tmp_path)
    base = ["--root", str(tmp_path), "--org", "acme", "--repo", "photos"]
    assert main(base + ["--account=dev=111122223333"]) == 2
    assert capsys.readouterr().err == (
        "error: dev: '111122223333' is not an AWS account id of twelve digits (or an example)\n"
    )
    assert main(base + ["--account=qa=123412341234"]) == 2
    assert capsys.readouterr().err == "error: no stack qa: the stacks are dev, prod, staging\n"


def test_make_configure_passes_each_stacks_account():
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "configure", "ORG=acme", "REPO=photos", "DEV=1", "PROD=3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert (
        result.stdout.strip()
        .splitlines()[-1]
        .endswith(
            "-m tools.configure --org 'acme' --repo 'photos' "
            "--account 'dev=1' --account 'prod=3' --account 'staging='"
        )
    )
