"""The AWS Load Balancer Controller's IAM policy allows what the controller does for an NLB Service, including
tagging what it creates, and keeps its scoping to the controller's own resources."""

from __future__ import annotations

import json
import string

import pytest
from iam_eval import allowed

from tools import ROOT

VPC = "arn:aws:ec2:us-east-1:111122223333:vpc/vpc-0abc"
# The policy as infra/addons.py fills it in for a cluster whose VPC is vpc-0abc.
POLICY = json.loads(
    string.Template(
        (ROOT / "infra" / "policies" / "load-balancer-controller-nlb.json").read_text()
    ).substitute(VPC_ID="vpc-0abc", CLUSTER="picturesocial-dev", REGION="us-east-1")
)
ARN = "arn:aws:elasticloadbalancing:us-east-1:111122223333"
SG = "arn:aws:ec2:us-east-1:111122223333:security-group"
CLUSTER_TAG = {"aws:RequestTag/elbv2.k8s.aws/cluster": "picturesocial-dev"}
OWNED = {"aws:ResourceTag/elbv2.k8s.aws/cluster": "picturesocial-dev"}

# What controller v3.5.0 sends to create an NLB Service's resources (read in kubernetes-sigs/
# aws-load-balancer-controller v3.5.0: pkg/deploy/ec2/security_group_manager.go, pkg/deploy/elbv2/
# load_balancer_manager.go, target_group_manager.go, listener_manager.go). Every create carries the cluster
# tag; a create with tags is authorized a second time as the tagging action on the new resource, with the
# create action's name in the CreateAction key (EC2 and ELB user guides, "tag resources during creation").
# Listeners are created with tags because the feature gate ListenerRulesTagging is on by default (pkg/config/
# feature_gates.go).
CREATE_TIME = [
    ("frontend security group", "ec2:CreateSecurityGroup", f"{SG}/*", CLUSTER_TAG),
    ("frontend security group (its VPC)", "ec2:CreateSecurityGroup", VPC, CLUSTER_TAG),
    (
        "its tags",
        "ec2:CreateTags",
        f"{SG}/sg-0new",
        {**CLUSTER_TAG, "ec2:CreateAction": "CreateSecurityGroup"},
    ),
    (
        "load balancer",
        "elasticloadbalancing:CreateLoadBalancer",
        f"{ARN}:loadbalancer/net/k8s-x/0a",
        CLUSTER_TAG,
    ),
    (
        "its tags",
        "elasticloadbalancing:AddTags",
        f"{ARN}:loadbalancer/net/k8s-x/0a",
        {**CLUSTER_TAG, "elasticloadbalancing:CreateAction": "CreateLoadBalancer"},
    ),
    ("target group", "elasticloadbalancing:CreateTargetGroup", f"{ARN}:targetgroup/k8s-x/0b", CLUSTER_TAG),
    (
        "its tags",
        "elasticloadbalancing:AddTags",
        f"{ARN}:targetgroup/k8s-x/0b",
        {**CLUSTER_TAG, "elasticloadbalancing:CreateAction": "CreateTargetGroup"},
    ),
    ("listener", "elasticloadbalancing:CreateListener", f"{ARN}:listener/net/k8s-x/0a/0c", CLUSTER_TAG),
    (
        "its tags",
        "elasticloadbalancing:AddTags",
        f"{ARN}:listener/net/k8s-x/0a/0c",
        {**CLUSTER_TAG, "elasticloadbalancing:CreateAction": "CreateListener"},
    ),
    ("pod targets", "elasticloadbalancing:RegisterTargets", f"{ARN}:targetgroup/k8s-x/0b", {}),
    (
        "backend rule on the node security group",
        "ec2:AuthorizeSecurityGroupIngress",
        f"{SG}/sg-0nodes",
        {"ec2:Vpc": VPC},
    ),
    (
        "target group attributes (deregistration delay)",
        "elasticloadbalancing:ModifyTargetGroupAttributes",
        f"{ARN}:targetgroup/k8s-x/0b",
        OWNED,
    ),
]


@pytest.mark.parametrize(
    "what, action, resource, context", CREATE_TIME, ids=[f"{c[1]} ({c[0]})" for c in CREATE_TIME]
)
def test_every_request_the_controller_makes_for_an_nlb_service_is_allowed(what, action, resource, context):
    assert allowed(POLICY, action, resource, context), f"{action} on {resource} ({what}) is denied"


def test_without_the_listener_tagging_statement_creating_a_listener_fails():
    """The gap the controller hit with the previous policy: CreateListener with tags needs AddTags on it."""
    trimmed = {**POLICY, "Statement": [s for s in POLICY["Statement"] if s["Sid"] != "TagListeners"]}
    action, resource, context = next(
        c[1:] for c in CREATE_TIME if c[1] == "elasticloadbalancing:AddTags" and ":listener/" in c[2]
    )
    assert not allowed(trimmed, action, resource, context)


@pytest.mark.parametrize(
    "action, resource, context",
    [
        # Someone else's load balancer or target group (no cluster tag): never modified or deleted.
        ("elasticloadbalancing:DeleteLoadBalancer", f"{ARN}:loadbalancer/net/prod-api/0f", {}),
        ("elasticloadbalancing:ModifyTargetGroupAttributes", f"{ARN}:targetgroup/prod-api/0f", {}),
        ("ec2:DeleteSecurityGroup", f"{SG}/sg-0theirs", {}),
        # Security groups of another VPC, and security groups without the controller's tag.
        (
            "ec2:AuthorizeSecurityGroupIngress",
            f"{SG}/sg-0elsewhere",
            {"ec2:Vpc": VPC.replace("0abc", "0fff")},
        ),
        ("ec2:CreateSecurityGroup", f"{SG}/*", {}),
        # Creating without the cluster tag, or retagging the cluster tag itself.
        ("elasticloadbalancing:CreateLoadBalancer", f"{ARN}:loadbalancer/net/k8s-x/0a", {}),
        ("elasticloadbalancing:AddTags", f"{ARN}:loadbalancer/net/k8s-x/0a", {**OWNED, **CLUSTER_TAG}),
        # ALB and anything beyond NLB Services.
        ("elasticloadbalancing:CreateRule", f"{ARN}:listener-rule/app/k8s-x/0a/0c/0d", CLUSTER_TAG),
        ("wafv2:AssociateWebACL", "*", {}),
        ("iam:CreateServiceLinkedRole", "*", {"iam:AWSServiceName": "autoscaling.amazonaws.com"}),
    ],
)
def test_what_is_not_the_controllers_own_stays_out_of_reach(action, resource, context):
    assert not allowed(POLICY, action, resource, context)


def test_no_action_is_a_wildcard():
    actions = [
        a
        for s in POLICY["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert actions and not [a for a in actions if "*" in a]


def test_the_evaluator_refuses_an_operator_it_does_not_know():
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            }
        ]
    }
    with pytest.raises(ValueError, match="IpAddress"):
        allowed(policy, "s3:GetObject", "arn:aws:s3:::b/k", {"aws:SourceIp": "10.1.2.3"})
