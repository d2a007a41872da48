"""ECR: one repository per API, immutable tags, scan on push, KMS encryption, lifecycle policy."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from settings.models import RegistrySettings


def lifecycle_policy(settings: RegistrySettings) -> str:
    return json.dumps({"rules": [
        {"rulePriority": 1, "description": "expire untagged images",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                       "countNumber": settings.untagged_expiry_days},
         "action": {"type": "expire"}},
        {"rulePriority": 2, "description": f"keep the last {settings.keep_tagged_images} tagged images",
         "selection": {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan",
                       "countNumber": settings.keep_tagged_images},
         "action": {"type": "expire"}},
    ]})


class Registry(pulumi.ComponentResource):
    repositories: dict[str, aws.ecr.Repository]
    repository_urls: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, settings: RegistrySettings, *, api_names: list[str], prefix: str,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("picturesocial:infra:Registry", name, None, opts)
        self.repositories = {}
        policy = lifecycle_policy(settings)
        for api in api_names:
            repository = aws.ecr.Repository(
                api,
                name=f"{prefix}/{api}",
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS")],
                force_delete=settings.force_delete,
                # The images are the product of every release: protected in every stack.
                opts=pulumi.ResourceOptions(parent=self, protect=True))
            aws.ecr.LifecyclePolicy(api, repository=repository.name, policy=policy,
                                    opts=pulumi.ResourceOptions(parent=self))
            self.repositories[api] = repository
        self.repository_urls = {api: repo.repository_url for api, repo in self.repositories.items()}
        self.register_outputs({"repositoryUrls": self.repository_urls})
