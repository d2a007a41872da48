"""The public edge: client -> API Gateway HTTP API -> VPC link -> an API's internal NLB -> its pods.

Nothing here is internet-facing but API Gateway itself: the NLBs stay internal, the public ones behind one
frontend security group that admits port 80 from the VPC link's security group only (docs/decisions/0015,
0027).
The routes come from the catalog (``public.paths``): each path is ``ANY <path>`` and ``ANY <path>/{proxy+}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.context import ClusterContext
from settings import Api
from settings.models import EdgeSettings

HTTP_PORT = 80  # the port every internal NLB listens on (workloads/api.py)
# One JSON object per request ($context variables of HTTP APIs: API Gateway developer guide, "Customizing HTTP
# API access logs"): enough to find a failing route, its integration's status and where the time went.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationStatus": "$context.integration.status",
        "integrationLatency": "$context.integration.latency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
    },
    sort_keys=True,
)


@dataclass(frozen=True)
class PublicRoute:
    key: str  # "ANY /api/Picture" or "ANY /api/Picture/{proxy+}"
    api: str
    path: str  # the catalog path it comes from
    anonymous: bool  # skips the JWT authorizer, when the stack has one
    preflight: bool = False  # an OPTIONS route for browsers' CORS preflight requests, never authorized


def public_routes(apis: dict[str, Api], *, preflight: bool = False) -> list[PublicRoute]:
    """Every route of the stack's HTTP API, from the catalog, in a stable order.

    ``preflight`` (CORS and a JWT authorizer both on): each path also gets ``OPTIONS`` routes without
    authorization. A browser's preflight carries no Authorization header; API Gateway answers preflights
    itself only when no route matches them ("Configure CORS for HTTP APIs", API Gateway developer guide), and
    ``ANY`` matches ``OPTIONS``, so without these routes the preflight meets the authorizer and gets 401. The
    more specific ``OPTIONS`` route wins over ``ANY`` (route evaluation, "Working with routes for HTTP
    APIs")."""
    routes = []
    for name, api in sorted(apis.items()):
        if api.spec.public is None:
            continue
        for path in api.spec.public.paths:
            anonymous = path in api.spec.public.anonymous
            for key in (f"ANY {path}", f"ANY {path}/{{proxy+}}"):
                routes.append(PublicRoute(key=key, api=name, path=path, anonymous=anonymous))
            if preflight:
                for key in (f"OPTIONS {path}", f"OPTIONS {path}/{{proxy+}}"):
                    routes.append(PublicRoute(key=key, api=name, path=path, anonymous=True, preflight=True))
    return routes


class PublicEdge(pulumi.ComponentResource):
    """The stack's HTTP API with its VPC link, stage, optional JWT authorizer and custom domain. The NLB
    frontend security groups exist before the APIs' Services (which name them in an annotation); each
    public API's integration and routes are added by ``connect`` once its Service exists."""

    api: aws.apigatewayv2.Api
    stage: aws.apigatewayv2.Stage
    load_balancer_security_group: aws.ec2.SecurityGroup
    load_balancer_security_groups: dict[str, aws.ec2.SecurityGroup]  # public API -> its NLB's frontend group
    routes: list[PublicRoute]

    def __init__(
        self,
        name: str,
        settings: EdgeSettings,
        context: ClusterContext,
        *,
        apis: dict[str, Api],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("picturesocial:infra:PublicEdge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        names = context.names
        self._context = context
        self._aws = context.environment.aws_provider
        self.routes = public_routes(apis, preflight=settings.cors is not None and settings.jwt is not None)

        self.api = aws.apigatewayv2.Api(
            "http-api",
            name=names.http_api,
            protocol_type="HTTP",
            description=f"Public routes of {names.cluster} (workloads/catalog.yaml public.paths)",
            cors_configuration=(
                aws.apigatewayv2.ApiCorsConfigurationArgs(
                    allow_origins=list(settings.cors.allow_origins),
                    allow_methods=["*"],
                    allow_headers=["authorization", "content-type"],
                    max_age=300,
                )
                if settings.cors
                else None
            ),
            # The execute-api URL stays reachable unless a custom domain replaces it as the way in.
            disable_execute_api_endpoint=settings.domain is not None,
            opts=child,
        )

        # The VPC link's network interfaces sit in the private subnets; its security group may only open
        # connections to the public NLBs' port 80 (the rule below).
        self._link_security_group = aws.ec2.SecurityGroup(
            "vpc-link",
            vpc_id=context.vpc_id,
            description=f"API Gateway VPC link of {names.cluster}: to the public NLBs on port {HTTP_PORT}",
            opts=child,
        )
        self.vpc_link = aws.apigatewayv2.VpcLink(
            "vpc-link",
            name=names.http_api,
            subnet_ids=context.private_subnet_ids,
            security_group_ids=[self._link_security_group.id],
            opts=child,
        )
        # One frontend security group for every public NLB, admitting port 80 from the VPC link's group only,
        # and one egress rule on the link's group to it: two rules whatever the number of public APIs (a
        # rule per NLB reached the 60-rules-per-direction quota at 59 public APIs: VPC quotas page;
        # docs/decisions/0027). The NLBs stay reachable from the VPC link alone: the rule references the
        # link's group, not an address range.
        self.load_balancer_security_group = aws.ec2.SecurityGroup(
            "public-nlb",
            vpc_id=context.vpc_id,
            description=f"Public NLBs of {names.cluster}: port {HTTP_PORT} from the VPC link only",
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            "public-nlb-from-vpc-link",
            security_group_id=self.load_balancer_security_group.id,
            referenced_security_group_id=self._link_security_group.id,
            ip_protocol="tcp",
            from_port=HTTP_PORT,
            to_port=HTTP_PORT,
            description="API Gateway VPC link",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            "vpc-link-to-public-nlbs",
            security_group_id=self._link_security_group.id,
            referenced_security_group_id=self.load_balancer_security_group.id,
            ip_protocol="tcp",
            from_port=HTTP_PORT,
            to_port=HTTP_PORT,
            description="the public NLBs",
            opts=child,
        )
        public_apis = sorted({route.api for route in self.routes})
        self.load_balancer_security_groups = dict.fromkeys(public_apis, self.load_balancer_security_group)

        self._authorizer = (
            aws.apigatewayv2.Authorizer(
                "jwt",
                api_id=self.api.id,
                name=f"{names.http_api}-jwt",
                authorizer_type="JWT",
                identity_sources=["$request.header.Authorization"],
                jwt_configuration=aws.apigatewayv2.AuthorizerJwtConfigurationArgs(
                    issuer=settings.jwt.issuer, audiences=list(settings.jwt.audiences)
                ),
                opts=child,
            )
            if settings.jwt
            else None
        )

        access_logs = aws.cloudwatch.LogGroup(
            "access-logs",
            name=names.access_log_group,
            retention_in_days=settings.access_log_retention_days,
            opts=child,
        )
        self.stage = aws.apigatewayv2.Stage(
            "default",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_burst_limit=settings.throttling.burst_limit,
                throttling_rate_limit=settings.throttling.rate_limit,
                # Per-route metrics (the Route dimension) for the public routes' alarms
                # (infra/observability.py).
                detailed_metrics_enabled=True,
            ),
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            opts=child,
        )

        self.url: pulumi.Output[str] = self.api.api_endpoint
        if settings.domain is not None:
            domain = aws.apigatewayv2.DomainName(
                "domain",
                domain_name=settings.domain.name,
                domain_name_configuration=aws.apigatewayv2.DomainNameDomainNameConfigurationArgs(
                    certificate_arn=settings.domain.certificate_arn,
                    endpoint_type="REGIONAL",
                    security_policy="TLS_1_2",
                ),
                opts=child,
            )
            aws.apigatewayv2.ApiMapping(
                "domain", api_id=self.api.id, domain_name=domain.id, stage=self.stage.id, opts=child
            )
            target = domain.domain_name_configuration
            aws.route53.Record(
                "domain",
                zone_id=settings.domain.hosted_zone_id,
                name=settings.domain.name,
                type="A",
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=target.target_domain_name,
                        zone_id=target.hosted_zone_id,
                        evaluate_target_health=False,
                    )
                ],
                opts=child,
            )
            self.url = pulumi.Output.from_input(f"https://{settings.domain.name}")

        self.register_outputs(
            {"apiEndpoint": self.api.api_endpoint, "routes": {route.key: route.api for route in self.routes}}
        )

    def connect(self, api_name: str, load_balancer_service: pulumi.Resource) -> None:
        """The integration and routes of one public API, once its LoadBalancer Service exists.

        The controller creates the NLB when the Service is created, under the name the Service's annotation
        gives it; the listener is looked up by that name, after the Service (pulumi-kubernetes waits for a
        LoadBalancer Service's address, which the controller sets once the NLB and its listener exist). In
        a preview of the first deployment the lookup is unknown rather than a failure."""
        routes = [route for route in self.routes if route.api == api_name]
        if not routes:
            raise ValueError(f"{api_name} has no public paths in the catalog")
        child = pulumi.ResourceOptions(parent=self, depends_on=[load_balancer_service])
        after_service = pulumi.InvokeOutputOptions(
            parent=self, provider=self._aws, depends_on=[load_balancer_service]
        )
        load_balancer = aws.lb.get_load_balancer_output(
            name=self._context.names.load_balancer(api_name), opts=after_service
        )
        listener = aws.lb.get_listener_output(
            load_balancer_arn=load_balancer.arn, port=HTTP_PORT, opts=after_service
        )
        integration = aws.apigatewayv2.Integration(
            api_name,
            api_id=self.api.id,
            description=f"{api_name}: VPC link to NLB {self._context.names.load_balancer(api_name)}",
            integration_type="HTTP_PROXY",
            integration_method="ANY",
            connection_type="VPC_LINK",
            connection_id=self.vpc_link.id,
            integration_uri=listener.arn,
            # Private integrations take the 1.0 payload; the request path reaches the API unchanged.
            payload_format_version="1.0",
            timeout_milliseconds=29_000,
            opts=child,
        )
        for route in routes:
            protected = self._authorizer is not None and not route.anonymous
            aws.apigatewayv2.Route(
                route.key,
                api_id=self.api.id,
                route_key=route.key,
                target=integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
                authorization_type="JWT" if protected else "NONE",
                authorizer_id=self._authorizer.id if protected and self._authorizer else None,
                opts=pulumi.ResourceOptions(parent=self),
            )
