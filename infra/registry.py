"""ECR: one repository per API, immutable tags, scan on push, KMS encryption, lifecycle policy."""

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
        for api, tags in sorted(deployed_tags.items()):
            repository = aws.ecr.Repository(
                api,
                name=environment.names.repository(api),
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                    scan_on_push=True
                ),
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS")
                ],
                force_delete=settings.force_delete,
                # The images are the product of every release: protected wherever the stack is
                # (picturesocial:protect). In dev CI rebuilds any of them, and forceDelete lets destroy
                # finish.
                opts=pulumi.ResourceOptions(parent=self, protect=environment.protect),
            )
            aws.ecr.LifecyclePolicy(
                api,
                repository=repository.name,
                policy=lifecycle_policy(settings, tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.repositories[api] = repository
        self.repository_urls = {api: repo.repository_url for api, repo in self.repositories.items()}
        self.register_outputs({"repositoryUrls": self.repository_urls})
