"""`make state-versions` and `make state-restore` against a versioned moto bucket holding three checkpoints
of the fixture's small stack, laid out as Pulumi's DIY backend writes them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import boto3
import pytest
from conftest import FIXTURE, offline_aws
from moto import mock_aws

from tools import state as state_tool

REGION, BUCKET = "us-east-1", "state-of-small"
KEY = ".pulumi/stacks/picturesocial/small.json"  # <project>/<stack>: the fixture project is picturesocial
LARGE = KEY.replace("small", "large")
URN = "urn:pulumi:small::picturesocial::aws:s3/bucket:Bucket::b{}"


def checkpoint(count: int) -> bytes:
    resources = [{"urn": URN.format(i), "type": "aws:s3/bucket:Bucket"} for i in range(count)]
    return json.dumps(
        {"version": 3, "checkpoint": {"stack": "small", "latest": {"manifest": {}, "resources": resources}}}
    ).encode()


@pytest.fixture(scope="module")
def bucket():
    """Three checkpoints (3, 5 and 4 resources) a minute apart, the last one current, and the history record
    of the second, written a moment after it."""
    with pytest.MonkeyPatch.context() as mp:
        offline_aws(mp)
        mp.delenv("PULUMI_BACKEND_URL", raising=False)
        # moto's S3 times, like S3's, are to the second: a clock of our own puts the checkpoints a minute
        # apart, as updates are, without the test waiting.
        clock = [datetime(2026, 12, 1, 9, 0)]  # naive UTC, as moto keeps it
        mp.setattr("moto.s3.models.utcnow", lambda: clock[0])
        with mock_aws():
            s3 = boto3.client("s3", region_name=REGION)
            s3.create_bucket(Bucket=BUCKET)
            s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
            ids: dict[str, list[str]] = {"small": [], "large": []}
            for count in (3, 5, 4):
                for stack, versions in ids.items():
                    key = KEY.replace("small", stack)
                    versions.append(
                        s3.put_object(Bucket=BUCKET, Key=key, Body=checkpoint(count))["VersionId"]
                    )
                if count == 5:
                    history = {"kind": "update", "environment": {"git.author": "Ana", "ci.system": "GitHub"}}
                    at = int(clock[0].timestamp()) * 10**9 + 5
                    s3.put_object(
                        Bucket=BUCKET,
                        Key=f".pulumi/history/picturesocial/small/small-{at}.history.json",
                        Body=json.dumps(history).encode(),
                    )
                clock[0] += timedelta(minutes=1)
            # small is listed, large is restored (a module's tests may run in any order)
            yield s3, ids


def cli(*argv: str) -> int:
    return state_tool.main(["--project", str(FIXTURE), "--backend-url", f"s3://{BUCKET}", *argv])


def test_versions_lists_every_checkpoint_with_size_resources_and_writer(bucket, capsys):
    _, ids = bucket
    first, second, third = ids["small"]
    assert cli("versions", "small") == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in lines[2:]}
    assert list(rows) == [third, second, first]  # newest first
    assert rows[third].split()[4] == "4" and rows[third].endswith("<- current")
    assert rows[second].split()[4] == "5" and "update by Ana (GitHub)" in rows[second]
    assert rows[first].split()[4] == "3" and "not recorded" in rows[first]
    assert int(rows[first].split()[3]) == len(checkpoint(3))


def test_restore_without_a_terminal_refuses_unless_told_yes(bucket, capsys, monkeypatch):
    s3, ids = bucket
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    before = s3.list_object_versions(Bucket=BUCKET, Prefix=LARGE)["Versions"]
    assert cli("restore", "large", ids["large"][0]) == 1
    assert (
        capsys.readouterr().err == "error: no terminal to confirm on: pass --yes to restore from a script\n"
    )
    assert s3.list_object_versions(Bucket=BUCKET, Prefix=LARGE)["Versions"] == before


def test_restore_makes_the_chosen_version_current_and_keeps_every_version(bucket, capsys):
    s3, ids = bucket
    first, second, third = ids["large"]
    assert cli("restore", "large", second, "--yes") == 0
    out = capsys.readouterr().out
    assert "the current checkpoint holds 4 resources;" in out and "holds 5 (+1): 1 more, 0 fewer" in out
    assert f"  + {URN.format(4)}" in out
    body = json.loads(s3.get_object(Bucket=BUCKET, Key=LARGE)["Body"].read())
    assert len(body["checkpoint"]["latest"]["resources"]) == 5
    versions = [
        v for v in s3.list_object_versions(Bucket=BUCKET, Prefix=LARGE)["Versions"] if v["Key"] == LARGE
    ]
    assert len(versions) == 4 and {first, second, third} <= {v["VersionId"] for v in versions}
    assert next(v for v in versions if v["VersionId"] == third)["IsLatest"] is False
    # The previous current version is still there to go back to.
    assert cli("versions", "large") == 0
    assert third in capsys.readouterr().out


def test_an_unknown_version_is_one_line(bucket, capsys):
    assert cli("restore", "small", "nope", "--yes") == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: s3://{BUCKET}/{KEY} has no version 'nope': `make state-versions` lists them"
    ]


def test_a_locked_stack_is_never_restored_even_with_yes(bucket, capsys):
    # A lock object of the DIY backend (.pulumi/locks/<project>/<stack>/<id>.json): an update is running.
    s3, ids = bucket
    lock = ".pulumi/locks/picturesocial/small/0f1e2d3c.json"
    s3.put_object(Bucket=BUCKET, Key=lock, Body=b"{}")
    try:
        before = s3.list_object_versions(Bucket=BUCKET, Prefix=KEY)["Versions"]
        assert cli("restore", "small", ids["small"][0], "--yes") == 1
        assert "stack small is locked: an update is running" in capsys.readouterr().err
        assert s3.list_object_versions(Bucket=BUCKET, Prefix=KEY)["Versions"] == before
    finally:
        s3.delete_object(Bucket=BUCKET, Key=lock)
