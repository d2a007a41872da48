"""The account's GitHub Actions runner: a CodeBuild project started by each queued workflow job, in a VPC
whose one NAT gateway gives every job the same public address, which the clusters' API endpoints admit
(docs/decisions/0009)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from bootstrap.config import BootstrapSettings
from infra.iam_documents import service_may_assume

# CodeBuild's newest standard Ubuntu image: standard:8.0, Ubuntu 24.04 (aws/aws-codebuild-docker-images
# ubuntu/standard/8.0, released with PR 811 in April 2026; CodeBuild user guide, "Docker images provided by
# CodeBuild"). Ubuntu, because actions/setup-python ships its Pythons for Ubuntu and not for Amazon Linux
# (actions/setup-python issues 460 and 750).
IMAGE = "aws/codebuild/standard:8.0"
LOG_RETENTION_DAYS = 30
# The workflows whose jobs run here (`name:` of .github/workflows/preview.yml and deploy.yml; pulumi-up.yml's
# job runs inside deploy's run, whose name the workflow_job event carries). tests/test_bootstrap.py checks the
# list against every workflow with a job on a `codebuild-` runner.
RUNNER_WORKFLOWS = ("deploy", "preview", "drift")


def webhook_filter_groups(settings: BootstrapSettings) -> list[aws.codebuild.WebhookFilterGroupArgs]:
    """Which queued jobs start a build. A group matches when all its filters do, and a build starts when any
    group matches (CodeBuild user guide, "GitHub webhook events"), so every group narrows the event by more
    than EVENT. The filter types that apply to WORKFLOW_JOB_QUEUED (CodeBuild API reference, WebhookFilter, in
    botocore's codebuild model): WORKFLOW_NAME ("works with WORKFLOW_JOB_QUEUED events only") and
    ACTOR_ACCOUNT_ID (the GitHub account that caused the event). HEAD_REF and BASE_REF work with push and pull
    request events only, and REPOSITORY_NAME with organization or global webhooks only: the branch is pinned
    by the GitHub environments and the deploy role's trust instead (bootstrap/repository.py)."""
    filters = [
        aws.codebuild.WebhookFilterGroupFilterArgs(type="EVENT", pattern="WORKFLOW_JOB_QUEUED"),
        aws.codebuild.WebhookFilterGroupFilterArgs(
            type="WORKFLOW_NAME", pattern=f"^({'|'.join(RUNNER_WORKFLOWS)})$"
        ),
    ]
    if settings.runner_actors:
        filters.append(
            aws.codebuild.WebhookFilterGroupFilterArgs(
                type="ACTOR_ACCOUNT_ID", pattern=f"^({'|'.join(map(str, settings.runner_actors))})$"
            )
        )
    return [aws.codebuild.WebhookFilterGroupArgs(filters=filters)]


class Runner(pulumi.ComponentResource):
    """VPC (a public half with the NAT gateway, a private half for the jobs), the project with its webhook on
    the queued jobs of this repository's preview and deploy workflows, its role, its logs, and the GitHub
    connection it clones through."""

    egress_cidr: pulumi.Output[str]
    project: aws.codebuild.Project | None

    def __init__(
        self,
        name: str,
        settings: BootstrapSettings,
        *,
        aws_provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("picturesocial:bootstrap:Runner", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        runner = settings.runner_project
        public_cidr, private_cidr = list(settings.runner_cidr.subnets(prefixlen_diff=1))
        zone = aws.get_availability_zones(
            state="available",
            filters=[
                aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])
            ],
            opts=pulumi.InvokeOptions(parent=self, provider=aws_provider),
        ).names[0]

        # Protected like every VPC (policy/baseline STATEFUL): deleting it takes the egress address's NAT.
        vpc = aws.ec2.Vpc(
            "vpc", cidr_block=str(settings.runner_cidr), enable_dns_support=True, enable_dns_hostnames=True,
            tags={"Name": runner}, opts=pulumi.ResourceOptions(parent=self, protect=True),
        )  # fmt: skip
        igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id, tags={"Name": runner}, opts=child)
        public = self.routed_subnet(
            "public", "public-internet", vpc.id, public_cidr, zone, f"{runner}-public", gateway_id=igw.id
        )
        # The address every job leaves from: protected, since the clusters' endpoints admit exactly it.
        address = aws.ec2.Eip(
            "egress", domain="vpc", tags={"Name": f"{runner}-egress"},
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )  # fmt: skip
        nat = aws.ec2.NatGateway(
            "egress",
            allocation_id=address.allocation_id,
            subnet_id=public.id,
            tags={"Name": runner},
            # Created before the internet gateway is attached, a NAT gateway fails (EC2 user guide).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
        )
        private = self.routed_subnet(
            "private", "private-egress", vpc.id, private_cidr, zone, f"{runner}-private",
            nat_gateway_id=nat.id,
        )  # fmt: skip
        anywhere = aws.ec2.SecurityGroupEgressArgs(
            protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"]
        )
        jobs = aws.ec2.SecurityGroup(
            "jobs", vpc_id=vpc.id, description=f"{runner} jobs: outbound only", egress=[anywhere],
            tags={"Name": runner}, opts=child,
        )  # fmt: skip

        logs = aws.cloudwatch.LogGroup(
            "logs", name=f"/aws/codebuild/{runner}", retention_in_days=LOG_RETENTION_DAYS, opts=child
        )
        # Authorized once in the console (CodeBuild user guide: a connection starts PENDING).
        connection = aws.codeconnections.Connection("github", name=runner, provider_type="GitHub", opts=child)
        account, region = settings.account_id, settings.region
        # The jobs' own identity only starts them: logs, the VPC's network interfaces, the connection. They
        # deploy as the GitHub roles (OIDC), not as this role.
        role = aws.iam.Role(
            "service-role",
            name=runner,
            assume_role_policy=service_may_assume(
                "codebuild.amazonaws.com", {"StringEquals": {"aws:SourceAccount": account}}
            ),
            opts=child,
        )
        permissions = aws.iam.RolePolicy(
            "service-role",
            role=role.id,
            policy=pulumi.Output.all(logs.arn, connection.arn, private.id).apply(
                lambda values: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "WriteBuildLogs",
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                "Resource": f"{values[0]}:*",
                            },
                            {
                                "Sid": "UseTheGithubConnection",
                                "Effect": "Allow",
                                "Action": [
                                    "codeconnections:GetConnection",
                                    "codeconnections:GetConnectionToken",
                                ],
                                "Resource": values[1],
                            },
                            {
                                "Sid": "DescribeTheVpc",
                                "Effect": "Allow",
                                "Action": [
                                    "ec2:DescribeDhcpOptions",
                                    "ec2:DescribeNetworkInterfaces",
                                    "ec2:DescribeSubnets",
                                    "ec2:DescribeSecurityGroups",
                                    "ec2:DescribeVpcs",
                                ],
                                "Resource": "*",
                            },
                            {
                                "Sid": "JobNetworkInterfaces",
                                "Effect": "Allow",
                                "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"],
                                "Resource": "*",
                                "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
                            },
                            {
                                "Sid": "JobNetworkInterfacePermission",
                                "Effect": "Allow",
                                "Action": "ec2:CreateNetworkInterfacePermission",
                                "Resource": f"arn:aws:ec2:{region}:{account}:network-interface/*",
                                "Condition": {
                                    "StringEquals": {
                                        "ec2:AuthorizedService": "codebuild.amazonaws.com",
                                        "ec2:Subnet": f"arn:aws:ec2:{region}:{account}:subnet/{values[2]}",
                                    }
                                },
                            },
                        ],
                    }
                )
            ),
            opts=child,
        )
        # CodeBuild refuses a project and a webhook on a connection still PENDING: the first `pulumi up`
        # creates the connection, someone authorizes it in the console, the second (with
        # runnerConnectionAuthorized: true) creates the runner itself (README, "One-time setup").
        self.project = None
        if settings.runner_connection_authorized:
            self.project = aws.codebuild.Project(
                "runner",
                name=runner,
                description=f"GitHub Actions jobs of {settings.github_repository} in {settings.environment}",
                service_role=role.arn,
                source=aws.codebuild.ProjectSourceArgs(
                    type="GITHUB",
                    location=f"https://github.com/{settings.github_repository}",
                    auth=aws.codebuild.ProjectSourceAuthArgs(type="CODECONNECTIONS", resource=connection.arn),
                ),
                artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
                environment=aws.codebuild.ProjectEnvironmentArgs(
                    type="LINUX_CONTAINER",
                    compute_type="BUILD_GENERAL1_MEDIUM",
                    image=IMAGE,
                    image_pull_credentials_type="CODEBUILD",
                ),  # fmt: skip
                vpc_config=aws.codebuild.ProjectVpcConfigArgs(
                    vpc_id=vpc.id, subnets=[private.id], security_group_ids=[jobs.id]
                ),
                logs_config=aws.codebuild.ProjectLogsConfigArgs(
                    cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(group_name=logs.name)
                ),
                build_timeout=90,
                # CodeBuild checks the role's EC2 permissions when a project with a VPC is created.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[permissions]),
            )
            aws.codebuild.Webhook(
                "runner",
                project_name=self.project.name,
                build_type="BUILD",
                filter_groups=webhook_filter_groups(settings),
                opts=child,
            )
        self.egress_cidr = address.public_ip.apply(lambda ip: f"{ip}/32")
        self.register_outputs({"egressCidr": self.egress_cidr})

    def routed_subnet(
        self,
        name: str,
        route: str,
        vpc_id: pulumi.Input[str],
        cidr: object,
        zone: str,
        tag: str,
        **default_route: pulumi.Input[str],
    ) -> aws.ec2.Subnet:
        """A subnet with a route table of its own whose default route goes to ``default_route``'s target (the
        internet gateway for the public half, the NAT gateway for the private one)."""
        child = pulumi.ResourceOptions(parent=self)
        subnet = aws.ec2.Subnet(
            name, vpc_id=vpc_id, cidr_block=str(cidr), availability_zone=zone, map_public_ip_on_launch=False,
            tags={"Name": tag}, opts=child,
        )  # fmt: skip
        routes = aws.ec2.RouteTable(name, vpc_id=vpc_id, tags={"Name": tag}, opts=child)
        aws.ec2.Route(
            route, route_table_id=routes.id, destination_cidr_block="0.0.0.0/0", opts=child, **default_route
        )
        aws.ec2.RouteTableAssociation(name, subnet_id=subnet.id, route_table_id=routes.id, opts=child)
        return subnet
