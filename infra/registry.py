"""ECR: one repository per API, immutable tags, scan on push, KMS encryption, lifecycle policy; images enter
the source registry once and reach the other accounts by replication (docs/decisions/0033)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.context import Environment
from settings.models import RegistrySettings


def lifecycle_policy(settings: RegistrySettings, deployed_tags: list[str]) -> str:
    """Expire untagged images and all but the newest tagged ones, never a tag the stack deploys.

    ECR evaluates rules by priority and "an image that matches the tagging requirements of a rule cannot be
    expired by a rule with a lower priority" (ECR user guide, lifecycle policy evaluation rules): one rule per
    deployed tag that matches exactly that tag (several patterns in one rule must all match) and expires
    nothing (an immutable tag names one image, and the rule expires beyond one) shields it from the rules
    below."""
    keep = [
        {
            "rulePriority": i,
            "description": f"keep {tag}: deployed by this stack",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": [tag],
                "countType": "imageCountMoreThan",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        }
        for i, tag in enumerate(sorted(set(deployed_tags)), start=1)
    ]
    after = len(keep)
    return json.dumps(
        {
            "rules": keep
            + [
                {
                    "rulePriority": after + 1,
                    "description": "expire untagged images",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": settings.untagged_expiry_days,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": after + 2,
                    "description": f"keep the last {settings.keep_tagged_images} tagged images",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": settings.keep_tagged_images,
                    },
                    "action": {"type": "expire"},
                },
            ]
        }
    )


def replication_rules(prefix: str, destinations: list[str], region: str) -> list[dict]:
    """One rule: the source's repositories (`<prefix>/...`) to every destination account, same region."""
    return [
        {
            "destinations": [{"region": region, "registryId": account} for account in destinations],
            "repositoryFilters": [{"filter": f"{prefix}/", "filterType": "PREFIX_MATCH"}],
        }
    ]


def destination_registry_policy(source_account: str, prefix: str, account: str, region: str) -> str:
    """What a destination registry grants the source: ecr:ReplicateImage only, into `<prefix>/*` only.

    ECR user guide, "Granting registry permissions for cross account replication": the policy "must grant
    permission for the ecr:ReplicateImage API action"; without ecr:CreateRepository "a repository with the
    same name as the source repository must be created manually in your registry": this stack creates them,
    with the platform's settings (immutable tags, scan on push, KMS, lifecycle), so ECR never creates one
    with its defaults. The principal is the source account (its replication runs as the ECR service on its
    behalf)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReplicationFromTheSourceRegistry",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{source_account}:root"},
                    "Action": ["ecr:ReplicateImage"],
                    "Resource": f"arn:aws:ecr:{region}:{account}:repository/{prefix}/*",
                }
            ],
        }
    )


class Registry(pulumi.ComponentResource):
    repositories: dict[str, aws.ecr.Repository]
    repository_urls: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        settings: RegistrySettings,
        environment: Environment,
        *,
        deployed_tags: dict[str, list[str]],
        opts: pulumi.ResourceOptions | None = None,
    ):
        """``deployed_tags``: per API, the tags the stack runs (stable and canary)."""
        super().__init__("picturesocial:infra:Registry", name, None, opts)
        self.repositories = {}
        source = settings.replicated_from
        for api, tags in sorted(deployed_tags.items()):
            self.repositories[api] = self._repository(
                api, environment.names.repository(api), settings, environment, tags
            )
        # A destination registry runs the source's images from replicas of its repositories (ECR keeps the
        # source's repository names). Its own repositories stay: they are protected state, and nothing pushes
        # to them any more.
        self.replicas = {
            api: self._repository(
                f"{api}-replica", f"{source.repository_prefix}/{api}", settings, environment, tags
            )
            for api, tags in sorted(deployed_tags.items())
            if source is not None
        }
        if source is not None:
            self.registry_policy = aws.ecr.RegistryPolicy(
                "replication-from-source",
                policy=destination_registry_policy(
                    source.account_id, source.repository_prefix, environment.account_id, environment.region
                ),
                # The registry's one policy (its id is the account's registry): a replacement deletes first.
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            )
        if settings.replicate_to:
            self.replication = aws.ecr.ReplicationConfiguration(
                "replication",
                replication_configuration=aws.ecr.ReplicationConfigurationReplicationConfigurationArgs(
                    rules=[
                        aws.ecr.ReplicationConfigurationReplicationConfigurationRuleArgs(
                            destinations=[
                                aws.ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs(
                                    region=d["region"], registry_id=d["registryId"]
                                )
                                for d in rule["destinations"]
                            ],
                            repository_filters=[
                                aws.ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArgs(
                                    filter=f["filter"], filter_type=f["filterType"]
                                )
                                for f in rule["repositoryFilters"]
                            ],
                        )
                        for rule in replication_rules(
                            environment.names.cluster, settings.replicate_to, environment.region
                        )
                    ]
                ),
                # The registry's one replication configuration: a replacement deletes first.
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            )
        pulled = self.replicas or self.repositories
        self.repository_urls = {api: repo.repository_url for api, repo in pulled.items()}
        self.register_outputs({"repositoryUrls": self.repository_urls})

    def _repository(
        self,
        logical: str,
        physical: str,
        settings: RegistrySettings,
        environment: Environment,
        tags: list[str],
    ) -> aws.ecr.Repository:
        repository = aws.ecr.Repository(
            logical,
            name=physical,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS")],
            force_delete=settings.force_delete,
            # The images are the product of every release: protected wherever the stack is
            # (picturesocial:protect). In dev CI rebuilds any of them, and forceDelete lets destroy
            # finish.
            opts=pulumi.ResourceOptions(parent=self, protect=environment.protect),
        )
        aws.ecr.LifecyclePolicy(
            logical,
            repository=repository.name,
            policy=lifecycle_policy(settings, tags),
            # Every change of the policy text (each tag bump: the deployed tags are kept) replaces it
            # (terraform-provider-aws: `policy` is ForceNew, there is no update), and the repository has one
            # policy, whose id is the repository's name: created before the old one is deleted, the new
            # policy would be deleted with it and the repository left without one. So: delete first.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        return repository
