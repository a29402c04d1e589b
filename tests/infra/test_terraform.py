"""Properties of the production Terraform (infra/terraform), proven offline.

There is no terraform binary and no AWS account here, so every .tf file is parsed with python-hcl2
and the tests assert on the parsed configuration: literal values, variable defaults (and their
validation bounds), the locals they go through, and the references between resources. A test
only passes if the value that would reach AWS is the right one; a comment or a string somewhere in
a file is never enough.
"""

from __future__ import annotations

import ast
import json
import operator
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

ROOT = Path(__file__).resolve().parents[2]
TF_DIR = Path(os.environ.get("ACTIVELOG_TERRAFORM_DIR", ROOT / "infra" / "terraform"))
ECS_TEMPLATE_DIR = TF_DIR.parent / "ecs"

# Actions AWS does not let a policy scope to a resource: the only ones allowed on "*".
ACTIONS_ALLOWED_ON_ANY_RESOURCE = {
    "ecr:GetAuthorizationToken",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "logs:DescribeLogGroups",
    # Only together with an ecs:cluster condition (asserted in test_monitoring_terraform.py).
    "ecs:ListTasks",
}
INTERNET = {"0.0.0.0/0", "::/0"}
APP_SECRETS = {
    "DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "METRICS_TOKEN",
}


# --- Loading and normalising the HCL --------------------------------------------------------------


def _unquote(value: Any) -> Any:
    """python-hcl2 >= 7 keeps HCL quotes on labels, keys and string literals: strip them."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            return value[1:-1]
        return value
    if isinstance(value, list):
        return [_unquote(item) for item in value]
    if isinstance(value, dict):
        return {
            _unquote(key): _unquote(item)
            for key, item in value.items()
            if key not in {"__is_block__", "__comments__", "__inline_comments__"}
        }
    return value


def _comments(value: Any) -> list[str]:
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in {"__comments__", "__inline_comments__"}:
                found += [comment["value"] for comment in item]
            else:
                found += _comments(item)
    elif isinstance(value, list):
        for item in value:
            found += _comments(item)
    return found


@dataclass
class Terraform:
    resources: dict[tuple[str, str], dict] = field(default_factory=dict)
    data: dict[tuple[str, str], dict] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    terraform: list[dict] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    def resource(self, type_: str, name: str) -> dict:
        assert (type_, name) in self.resources, f"resource {type_}.{name} is missing"
        return self.resources[(type_, name)]

    def of_type(self, type_: str) -> dict[str, dict]:
        return {name: attrs for (kind, name), attrs in self.resources.items() if kind == type_}

    def default(self, name: str) -> Any:
        assert name in self.variables, f"variable {name} is missing"
        assert "default" in self.variables[name], f"variable {name} has no default"
        return self.variables[name]["default"]


@cache
def load() -> Terraform:
    files = sorted(TF_DIR.glob("*.tf"))
    assert files, f"no .tf files in {TF_DIR}"
    tf = Terraform()
    for path in files:
        with path.open() as handle:
            raw = hcl2.load(handle)
        tf.comments += _comments(raw)
        parsed = _unquote(raw)
        for block in parsed.get("resource", []):
            for type_, by_name in block.items():
                for name, attrs in by_name.items():
                    assert (type_, name) not in tf.resources, f"duplicate resource {type_}.{name}"
                    tf.resources[(type_, name)] = attrs
        for block in parsed.get("data", []):
            for type_, by_name in block.items():
                for name, attrs in by_name.items():
                    tf.data[(type_, name)] = attrs
        for block in parsed.get("variable", []):
            tf.variables.update(block)
        for block in parsed.get("locals", []):
            for name, value in block.items():
                assert name not in tf.locals, f"local.{name} is defined twice"
                tf.locals[name] = value
        for block in parsed.get("output", []):
            tf.outputs.update(block)
        tf.terraform += parsed.get("terraform", [])
    return tf


@pytest.fixture(scope="module")
def tf() -> Terraform:
    return load()


# --- Evaluating the simple expressions the assertions depend on ---------------------------------

REFERENCE = re.compile(r"^\$\{(var|local)\.([A-Za-z0-9_]+)\}$")
TOSTRING = re.compile(r"^\$\{tostring\((var|local)\.([A-Za-z0-9_]+)\)\}$")


def resolve(tf: Terraform, value: Any) -> Any:
    """Follow `${var.x}` (to its default) and `${local.x}` until a value that is not a reference."""
    for _ in range(10):
        if not isinstance(value, str):
            return value
        match = REFERENCE.match(value) or TOSTRING.match(value)
        if not match:
            return value
        kind, name = match.groups()
        if kind == "var":
            value = tf.default(name)
        else:
            assert name in tf.locals, f"local.{name} is missing"
            value = tf.locals[name]
    raise AssertionError(f"reference loop at {value!r}")


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def evaluate_arithmetic(tf: Terraform, expression: str) -> int:
    """Evaluate `${(var.a * var.b + 2 * var.c + 10)}` with the variables' defaults."""
    body = expression.removeprefix("${").removesuffix("}")
    body = re.sub(r"var\.([A-Za-z0-9_]+)", lambda match: str(tf.default(match.group(1))), body)

    def walk(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        raise AssertionError(f"not plain arithmetic: {expression}")

    return walk(ast.parse(body, mode="eval"))


def expand(tf: Terraform, attrs: dict) -> list[tuple[Any, dict]]:
    """The instances of a resource: (each.key, attributes with each.key/each.value substituted)."""
    for_each = attrs.get("for_each")
    if for_each is None:
        return [(None, attrs)]
    match = re.match(r"^\$\{toset\((var|local)\.([A-Za-z0-9_]+)\)\}$", for_each)
    collection = resolve(tf, f"${{{match.group(1)}.{match.group(2)}}}") if match else resolve(tf, for_each)
    if isinstance(collection, list):
        items = [(item, item) for item in collection]
    elif isinstance(collection, dict):
        items = list(collection.items())
    else:
        raise AssertionError(f"cannot expand for_each = {for_each!r}")

    def substitute(value: Any, key: Any, item: Any) -> Any:
        if isinstance(value, str):
            if value == "${each.value}":
                return item
            if value == "${each.key}":
                return key
            attribute = re.match(r"^\$\{each\.value\.([A-Za-z0-9_]+)\}$", value)
            if attribute:
                return item[attribute.group(1)]
            return value.replace("${each.key}", str(key))
        if isinstance(value, list):
            return [substitute(element, key, item) for element in value]
        if isinstance(value, dict):
            return {name: substitute(element, key, item) for name, element in value.items() if name != "for_each"}
        return value

    return [(key, substitute(attrs, key, item)) for key, item in items]


def block(attrs: dict, name: str) -> dict:
    """The single nested block `name` of a resource."""
    blocks = attrs.get(name)
    assert isinstance(blocks, list) and len(blocks) == 1, f"expected exactly one {name} block, got {blocks!r}"
    return blocks[0]


def sg_name(reference: str) -> str:
    match = re.match(r"^\$\{aws_security_group\.([A-Za-z0-9_]+)\.id\}$", reference or "")
    assert match, f"not a reference to a security group of this stack: {reference!r}"
    return match.group(1)


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


# --- Provider and structure -----------------------------------------------------------------------


def test_terraform_and_provider_versions_are_pinned(tf):
    settings = tf.terraform[0]
    assert settings["required_version"] == ">= 1.6"
    providers = settings["required_providers"][0] if isinstance(settings["required_providers"], list) else (
        settings["required_providers"]
    )
    assert providers["aws"]["source"] == "hashicorp/aws"
    assert re.fullmatch(r"~> 5\.\d+", providers["aws"]["version"])


def test_vpc_spans_at_least_two_azs_with_public_private_and_data_subnets(tf):
    assert tf.default("az_count") >= 2
    assert "var.az_count >= 2" in tf.variables["az_count"]["validation"][0]["condition"]
    for tier in ("public", "private", "data"):
        subnet = tf.resource("aws_subnet", tier)
        assert subnet["count"] == "${local.az_count}"
        assert subnet["map_public_ip_on_launch"] is False
        assert subnet["availability_zone"] == "${local.azs[count.index]}"
    # NAT gateways live in the public subnets; the private subnets route through them; data
    # subnets have no route out at all.
    assert tf.resource("aws_nat_gateway", "main")["subnet_id"] == "${aws_subnet.public[count.index].id}"
    private_routes = tf.resource("aws_route_table", "private")["route"]
    assert [route["cidr_block"] for route in private_routes] == ["0.0.0.0/0"]
    assert private_routes[0]["nat_gateway_id"].startswith("${aws_nat_gateway.main[")
    assert "route" not in tf.resource("aws_route_table", "data")
    assert tf.resource("aws_route_table_association", "data")["subnet_id"] == "${aws_subnet.data[count.index].id}"
    # The default security group of the VPC allows nothing.
    default_sg = tf.resource("aws_default_security_group", "main")
    assert "ingress" not in default_sg and "egress" not in default_sg


# --- Security groups ------------------------------------------------------------------------------


def _rules(tf: Terraform, type_: str) -> list[tuple[str, dict]]:
    rules = []
    for name, attrs in tf.of_type(type_).items():
        for key, instance in expand(tf, attrs):
            instance = dict(instance)
            for port in ("from_port", "to_port"):
                if port in instance:
                    instance[port] = resolve(tf, instance[port])
            rules.append((f"{name}[{key}]" if key is not None else name, instance))
    return rules


def test_security_groups_have_no_inline_rules_and_no_legacy_rule_resources(tf):
    for name, group in tf.of_type("aws_security_group").items():
        assert "ingress" not in group and "egress" not in group, f"aws_security_group.{name} has inline rules"
    assert not tf.of_type("aws_security_group_rule")


def test_only_the_alb_accepts_the_internet_and_only_on_80_and_443(tf):
    public = [(name, rule) for name, rule in _rules(tf, "aws_vpc_security_group_ingress_rule")
              if rule.get("cidr_ipv4") in INTERNET or rule.get("cidr_ipv6") in INTERNET]
    assert public, "the ALB must be reachable from the internet"
    for name, rule in public:
        assert sg_name(rule["security_group_id"]) == "alb", name
        assert rule["ip_protocol"] == "tcp", name
        assert rule["from_port"] == rule["to_port"], name
        assert rule["from_port"] in {80, 443}, name
    opened = {(rule["from_port"], rule.get("cidr_ipv4") or rule.get("cidr_ipv6")) for _, rule in public}
    assert opened == {(443, "0.0.0.0/0"), (443, "::/0"), (80, "0.0.0.0/0"), (80, "::/0")}
    # No ingress rule anywhere uses any other CIDR or a prefix list.
    for name, rule in _rules(tf, "aws_vpc_security_group_ingress_rule"):
        if "referenced_security_group_id" not in rule:
            assert (rule.get("cidr_ipv4") or rule.get("cidr_ipv6")) in INTERNET, name
        assert "prefix_list_id" not in rule, name


def test_security_groups_are_chained_alb_to_tasks_to_data_stores(tf):
    ingress: dict[str, list[tuple[str, int, int]]] = {}
    for _name, rule in _rules(tf, "aws_vpc_security_group_ingress_rule"):
        if "referenced_security_group_id" not in rule:
            continue
        target = sg_name(rule["security_group_id"])
        source = rule["referenced_security_group_id"]
        source = sg_name(source) if source.startswith("${aws_security_group.") else source
        ingress.setdefault(target, []).append((source, rule["from_port"], rule["to_port"]))

    assert sorted(ingress["web"]) == [("alb", 8080, 8080), ("prometheus", 8080, 8080)]
    # The worker and one-off tasks accept nothing but the Prometheus scrape of the worker's metrics.
    assert ingress["worker"] == [("prometheus", 9808, 9808)]
    assert sorted(ingress["rds"]) == [
        ("db_rotation", 5432, 5432), ("prometheus", 5432, 5432), ("web", 5432, 5432), ("worker", 5432, 5432),
    ]
    assert sorted(ingress["redis"]) == [("prometheus", 6379, 6379), ("web", 6379, 6379), ("worker", 6379, 6379)]
    assert ingress["grafana"] == [("alb", 3000, 3000)]
    assert ingress["prometheus"] == [("grafana", 9090, 9090)]
    assert ingress["efs"] == [("prometheus", 2049, 2049)]
    assert set(ingress) == {"web", "worker", "rds", "redis", "grafana", "prometheus", "efs"}
    assert "db_rotation" not in ingress
    # Scrapers are the stack's own Prometheus, not a list of outside security groups.
    assert "prometheus_security_group_ids" not in tf.variables


def test_egress_to_the_internet_is_https_only(tf):
    for name, rule in _rules(tf, "aws_vpc_security_group_egress_rule"):
        if rule.get("cidr_ipv4") in INTERNET or rule.get("cidr_ipv6") in INTERNET:
            assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443), name
        else:
            assert "referenced_security_group_id" in rule, name
    alb_egress = [rule for _, rule in _rules(tf, "aws_vpc_security_group_egress_rule")
                  if sg_name(rule["security_group_id"]) == "alb"]
    assert sorted(
        (sg_name(rule["referenced_security_group_id"]), resolve(tf, rule["from_port"])) for rule in alb_egress
    ) == [("grafana", 3000), ("web", 8080)]


def test_data_stores_and_tasks_use_their_security_groups(tf):
    assert tf.resource("aws_db_instance", "main")["vpc_security_group_ids"] == ["${aws_security_group.rds.id}"]
    redis = tf.resource("aws_elasticache_replication_group", "main")
    assert redis["security_group_ids"] == ["${aws_security_group.redis.id}"]
    for service, group in (("web", "web"), ("worker", "worker")):
        network = block(tf.resource("aws_ecs_service", service), "network_configuration")
        assert network["security_groups"] == [f"${{aws_security_group.{group}.id}}"]
        assert network["assign_public_ip"] is False
        assert network["subnets"] == "${aws_subnet.private[*].id}"
    assert tf.resource("aws_lb", "main")["security_groups"] == ["${aws_security_group.alb.id}"]


# --- DNS, TLS, load balancer ----------------------------------------------------------------------


def test_certificate_is_dns_validated_in_route53_and_the_domain_aliases_the_alb(tf):
    certificate = tf.resource("aws_acm_certificate", "main")
    assert certificate["validation_method"] == "DNS"
    assert certificate["domain_name"] == "${var.domain_name}"
    assert block(certificate, "lifecycle")["create_before_destroy"] is True
    validation_record = tf.resource("aws_route53_record", "certificate_validation")
    assert validation_record["zone_id"] == "${data.aws_route53_zone.main.zone_id}"
    assert "aws_acm_certificate.main.domain_validation_options" in validation_record["for_each"]
    assert "aws_route53_record.certificate_validation" in tf.resource(
        "aws_acm_certificate_validation", "main")["validation_record_fqdns"]
    assert tf.data[("aws_route53_zone", "main")]["private_zone"] is False

    alias = tf.resource("aws_route53_record", "app")
    assert alias["for_each"] == '${toset(["A", "AAAA"])}'
    assert alias["type"] == "${each.key}"
    assert alias["name"] == "${var.domain_name}"
    assert block(alias, "alias")["name"] == "${aws_lb.main.dns_name}"
    assert tf.resource("aws_lb", "main")["ip_address_type"] == "dualstack"  # or AAAA would resolve nothing


def test_https_listener_uses_a_tls12_13_policy_and_the_validated_certificate(tf):
    https = tf.resource("aws_lb_listener", "https")
    assert (https["port"], https["protocol"]) == (443, "HTTPS")
    assert https["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["certificate_arn"] == "${aws_acm_certificate_validation.main.certificate_arn}"
    action = block(https, "default_action")
    assert action["type"] == "forward"
    assert action["target_group_arn"] == "${aws_lb_target_group.web.arn}"


def test_http_listener_only_redirects_to_https_with_301(tf):
    listeners = tf.of_type("aws_lb_listener")
    assert set(listeners) == {"https", "http"}
    http = listeners["http"]
    assert (http["port"], http["protocol"]) == (80, "HTTP")
    action = block(http, "default_action")
    assert action["type"] == "redirect"
    redirect = block(action, "redirect")
    assert (redirect["protocol"], redirect["port"], redirect["status_code"]) == ("HTTPS", "443", "HTTP_301")


def test_target_group_checks_liveness_of_ip_targets_on_8080(tf):
    group = tf.resource("aws_lb_target_group", "web")
    assert group["target_type"] == "ip"
    assert resolve(tf, group["port"]) == 8080
    assert group["protocol"] == "HTTP"
    assert 20 <= group["deregistration_delay"] <= 35
    check = block(group, "health_check")
    assert check["path"] == "/health/live"
    assert check["matcher"] == "200"
    assert check.get("enabled", True) is True
    assert check["port"] == "traffic-port"


def test_metrics_is_answered_404_by_the_alb_and_never_forwarded(tf):
    rules = tf.of_type("aws_lb_listener_rule")
    assert set(rules) == {"block_metrics", "grafana"}
    rule = rules["block_metrics"]
    # Nothing can outrank it: the lowest priority number wins, on every host name (Grafana's too).
    assert rule["priority"] == 1
    assert all(other["priority"] > 1 for name, other in rules.items() if name != "block_metrics")
    assert all("host_header" not in condition for condition in rule["condition"])
    assert rule["listener_arn"] == "${aws_lb_listener.https.arn}"
    action = block(rule, "action")
    assert action["type"] == "fixed-response"
    assert block(action, "fixed_response")["status_code"] == "404"
    assert "target_group_arn" not in action
    paths = block(block(rule, "condition"), "path_pattern")["values"]
    assert {"/metrics", "/metrics/*"} <= set(paths)


def test_alb_drops_invalid_headers_logs_access_and_is_deletion_protected(tf):
    alb = tf.resource("aws_lb", "main")
    assert alb["load_balancer_type"] == "application"
    assert alb["internal"] is False
    assert alb["drop_invalid_header_fields"] is True
    assert alb["enable_deletion_protection"] is True
    assert alb["subnets"] == "${aws_subnet.public[*].id}"
    logs = block(alb, "access_logs")
    assert logs["enabled"] is True
    assert logs["bucket"] == "${aws_s3_bucket.logs.id}"
    # gunicorn keepalive (75 s) must exceed the ALB idle timeout.
    assert alb["idle_timeout"] < 75


def test_waf_logs_redact_credentials(tf):
    logging = tf.resource("aws_wafv2_web_acl_logging_configuration", "main")
    headers = {block(item, "single_header")["name"] for item in logging["redacted_fields"] if "single_header" in item}
    assert {"authorization", "cookie"} <= headers


# --- Container registry and ECS -------------------------------------------------------------------


def test_ecr_scans_on_push_has_immutable_tags_and_a_lifecycle_policy(tf):
    repository = tf.resource("aws_ecr_repository", "app")
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert block(repository, "image_scanning_configuration")["scan_on_push"] is True
    assert tf.resource("aws_ecr_lifecycle_policy", "app")["repository"] == "${aws_ecr_repository.app.name}"


def test_cluster_has_container_insights(tf):
    settings = {item["name"]: item["value"] for item in tf.resource("aws_ecs_cluster", "main")["setting"]}
    assert settings["containerInsights"] in {"enabled", "enhanced"}


@pytest.mark.parametrize("service", ["web", "worker"])
def test_services_roll_back_failed_deployments_and_leave_revisions_to_the_deploy_script(tf, service):
    attrs = tf.resource("aws_ecs_service", service)
    breaker = block(attrs, "deployment_circuit_breaker")
    assert breaker["enable"] is True and breaker["rollback"] is True
    assert attrs["launch_type"] == "FARGATE"
    assert resolve(tf, attrs["desired_count"]) == 2
    assert attrs["task_definition"] == f"${{aws_ecs_task_definition.{service}.arn}}"
    ignored = block(attrs, "lifecycle")["ignore_changes"]
    assert "${task_definition}" in ignored or "task_definition" in ignored
    assert attrs["deployment_minimum_healthy_percent"] == 100


def test_web_service_is_behind_the_alb_with_a_grace_period_and_registered_in_cloud_map(tf):
    web = tf.resource("aws_ecs_service", "web")
    assert resolve(tf, web["health_check_grace_period_seconds"]) >= 30
    target = block(web, "load_balancer")
    assert target["target_group_arn"] == "${aws_lb_target_group.web.arn}"
    assert resolve(tf, target["container_name"]) == "web"
    assert resolve(tf, target["container_port"]) == 8080
    assert block(web, "service_registries")["registry_arn"] == "${aws_service_discovery_service.web.arn}"

    discovery = tf.resource("aws_service_discovery_service", "web")
    dns = block(discovery, "dns_config")
    assert dns["namespace_id"] == "${aws_service_discovery_private_dns_namespace.main.id}"
    assert [record["type"] for record in dns["dns_records"]] == ["A"]
    assert tf.resource("aws_service_discovery_private_dns_namespace", "main")["vpc"] == "${aws_vpc.main.id}"


def test_web_autoscales_between_2_and_10_tasks_on_70_percent_cpu(tf):
    target = tf.resource("aws_appautoscaling_target", "web")
    assert target["resource_id"] == "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.web.name}"
    assert target["scalable_dimension"] == "ecs:service:DesiredCount"
    assert resolve(tf, target["min_capacity"]) == 2
    assert resolve(tf, target["max_capacity"]) == 10
    policy = tf.resource("aws_appautoscaling_policy", "web_cpu")
    assert policy["policy_type"] == "TargetTrackingScaling"
    assert policy["resource_id"] == "${aws_appautoscaling_target.web.resource_id}"
    config = block(policy, "target_tracking_scaling_policy_configuration")
    assert block(config, "predefined_metric_specification")["predefined_metric_type"] == (
        "ECSServiceAverageCPUUtilization"
    )
    assert resolve(tf, config["target_value"]) == 70


def test_worker_autoscales_on_cpu_too(tf):
    target = tf.resource("aws_appautoscaling_target", "worker")
    assert target["resource_id"] == "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.worker.name}"
    assert 1 <= resolve(tf, target["min_capacity"]) <= resolve(tf, target["max_capacity"])
    policy = tf.resource("aws_appautoscaling_policy", "worker_cpu")
    config = block(policy, "target_tracking_scaling_policy_configuration")
    assert block(config, "predefined_metric_specification")["predefined_metric_type"] == (
        "ECSServiceAverageCPUUtilization"
    )


def test_task_definitions_come_from_the_shared_templates(tf):
    for name in ("web", "worker"):
        definition = tf.resource("aws_ecs_task_definition", name)
        assert definition["requires_compatibilities"] == ["FARGATE"]
        assert definition["network_mode"] == "awsvpc"
        assert definition["execution_role_arn"] == "${aws_iam_role.ecs_execution.arn}"
        assert definition["task_role_arn"] == "${aws_iam_role.ecs_task.arn}"
        assert definition["container_definitions"] == f"${{jsonencode(local.{name}_container_definitions)}}"
        assert f'/{name}.containers.json.tpl"' in tf.locals[f"{name}_container_definitions"]
        assert [volume["name"] for volume in definition["volume"]] == ["tmp"]
        assert definition["skip_destroy"] is True  # old revisions are rollback targets
    assert int(resolve(tf, "${var.web_cpu}")) >= 256 and int(resolve(tf, "${var.web_memory}")) >= 512


def _template_placeholders(path: Path) -> set[str]:
    text = path.read_text()
    assert "%{" not in text, f"{path.name}: template directives are not expected"
    names = set(re.findall(r"\$\{([^}]*)\}", text))
    for name in names:
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", name), f"{path.name}: only plain variables expected, got ${{{name}}}"
    return names


def _render(path: Path, values: dict[str, str]) -> Any:
    text = path.read_text()
    return json.loads(re.sub(r"\$\{([a-z_][a-z0-9_]*)\}", lambda match: values[match.group(1)], text))


@pytest.mark.skipif(not ECS_TEMPLATE_DIR.is_dir(), reason="infra/ecs templates not present")
def test_container_templates_get_every_variable_they_use_and_render_to_json(tf):
    provided = set(tf.locals["ecs_template_variables"]) | {"log_group"}
    dummy = {name: "2" if name in {"gunicorn_workers", "gunicorn_threads", "database_pool_max_size",
                                   "worker_concurrency"} else f"x-{name}" for name in provided}
    for template, container in (("web.containers.json.tpl", "web"), ("worker.containers.json.tpl", "worker")):
        path = ECS_TEMPLATE_DIR / template
        missing = _template_placeholders(path) - provided
        assert not missing, f"{template} uses variables Terraform does not pass: {sorted(missing)}"
        containers = _render(path, dummy)
        assert containers[0]["name"] == resolve(tf, f"${{local.{container}_container_name}}")
        # Every secret the container reads must be one the execution role may read.
        for secret in containers[0].get("secrets", []):
            source = secret["valueFrom"].removeprefix("x-").split(":")[0]
            arn = tf.locals["ecs_template_variables"][source]
            app_secret = re.match(r'^\$\{aws_secretsmanager_secret\.app\["([A-Z_]+)"\]\.arn\}$', arn)
            assert (app_secret and app_secret.group(1) in APP_SECRETS) or (
                arn == "${aws_secretsmanager_secret.app_db.arn}"
            ), f"{template}: {secret['name']} comes from {arn}"
    web = _render(ECS_TEMPLATE_DIR / "web.containers.json.tpl", dummy)[0]
    assert [mapping["containerPort"] for mapping in web["portMappings"]] == [8080]
    adot = ECS_TEMPLATE_DIR / "adot.container.json.tpl"
    if adot.exists():
        assert not _template_placeholders(adot) - provided
        assert isinstance(_render(adot, dummy), dict)


def test_cleanup_exports_runs_daily_on_the_latest_web_revision(tf):
    rule = tf.resource("aws_cloudwatch_event_rule", "cleanup_exports")
    assert re.match(r"^(cron|rate)\(", resolve(tf, rule["schedule_expression"]))
    target = tf.resource("aws_cloudwatch_event_target", "cleanup_exports")
    assert target["rule"] == "${aws_cloudwatch_event_rule.cleanup_exports.name}"
    assert target["arn"] == "${aws_ecs_cluster.main.arn}"
    ecs = block(target, "ecs_target")
    assert ecs["task_definition_arn"] == "${aws_ecs_task_definition.web.arn_without_revision}"
    assert ecs["launch_type"] == "FARGATE"
    assert block(ecs, "network_configuration")["assign_public_ip"] is False
    overrides = target["input"]
    assert overrides.startswith("${jsonencode(")
    assert re.search(r'command\s*=\s*\[\\?"python\\?",\s*\\?"manage.py\\?",\s*\\?"cleanup_exports\\?"\]', overrides)
    assert "local.web_container_name" in overrides


# --- RDS ------------------------------------------------------------------------------------------


def test_rds_is_multi_az_encrypted_protected_backed_up_and_private(tf):
    db = tf.resource("aws_db_instance", "main")
    assert db["engine"] == "postgres"
    assert str(resolve(tf, db["engine_version"])).split(".")[0] == "16"
    assert db["multi_az"] is True
    assert db["storage_encrypted"] is True
    assert db["kms_key_id"] == "${aws_kms_key.main.arn}"
    assert db["deletion_protection"] is True
    assert db["skip_final_snapshot"] is False
    assert db["publicly_accessible"] is False
    assert db["performance_insights_enabled"] is True
    assert db["manage_master_user_password"] is True
    assert "password" not in db
    assert db["db_subnet_group_name"] == "${aws_db_subnet_group.main.name}"
    assert tf.resource("aws_db_subnet_group", "main")["subnet_ids"] == "${aws_subnet.data[*].id}"
    # Backups >= 7 days by default and by validation (point-in-time recovery).
    assert resolve(tf, db["backup_retention_period"]) >= 7
    condition = tf.variables["db_backup_retention_days"]["validation"][0]["condition"]
    assert "var.db_backup_retention_days >= 7" in condition


def test_rds_parameter_group_forces_tls(tf):
    db = tf.resource("aws_db_instance", "main")
    assert db["parameter_group_name"] == "${aws_db_parameter_group.main.name}"
    group = tf.resource("aws_db_parameter_group", "main")
    assert group["family"] == "postgres16"
    parameters = {item["name"]: item["value"] for item in group["parameter"]}
    assert parameters["rds.force_ssl"] == "1"


def test_rds_max_connections_covers_the_autoscaling_maximum(tf):
    budget = evaluate_arithmetic(tf, tf.locals["db_connection_budget"])
    # web processes at the autoscaling maximum must be part of the budget
    web_max = tf.default("web_max_count") * tf.default("gunicorn_workers") * tf.default("database_pool_max_size")
    assert budget >= web_max == 80
    parameters = {item["name"]: item["value"] for item in tf.resource("aws_db_parameter_group", "main")["parameter"]}
    assert resolve(tf, parameters["max_connections"].replace("tostring(", "").replace(")}", "}")) >= budget
    precondition = block(block(tf.resource("aws_db_instance", "main"), "lifecycle"), "precondition")
    assert precondition["condition"] == "${local.db_connection_budget <= var.db_max_connections}"


def test_the_app_uses_its_own_rotated_database_user_not_the_master(tf):
    assert tf.default("db_app_username") != tf.default("db_master_username")
    url = tf.locals["app_secret_values"]["DATABASE_URL"]
    assert url.startswith("postgres://${var.db_app_username}:${random_password.app_db.result}@")
    assert "sslmode=require" in url
    credentials = tf.resource("aws_secretsmanager_secret_version", "app_db")
    assert credentials["secret_id"] == "${aws_secretsmanager_secret.app_db.id}"
    assert "masterarn = aws_db_instance.main.master_user_secret[0].secret_arn" in credentials["secret_string"]
    rotation = tf.resource("aws_secretsmanager_secret_rotation", "app_db")
    assert rotation["secret_id"] == "${aws_secretsmanager_secret.app_db.id}"
    assert rotation["rotation_lambda_arn"] == "${var.db_rotation_lambda_arn}"
    assert resolve(tf, block(rotation, "rotation_rules")["automatically_after_days"]) <= 90


# --- Redis ----------------------------------------------------------------------------------------


def test_redis_fails_over_across_azs_and_encrypts_with_an_auth_token(tf):
    redis = tf.resource("aws_elasticache_replication_group", "main")
    assert redis["automatic_failover_enabled"] is True
    assert redis["multi_az_enabled"] is True
    assert redis["transit_encryption_enabled"] is True
    assert redis["at_rest_encryption_enabled"] is True
    assert redis["auth_token"] == "${random_password.redis_auth_token.result}"
    assert resolve(tf, redis["num_cache_clusters"]) >= 2
    assert redis["subnet_group_name"] == "${aws_elasticache_subnet_group.main.name}"
    assert tf.resource("aws_elasticache_subnet_group", "main")["subnet_ids"] == "${aws_subnet.data[*].id}"
    # The token is kept in Secrets Manager and the URLs use TLS with it.
    stored = tf.resource("aws_secretsmanager_secret_version", "redis_auth_token")
    assert stored["secret_string"] == "${random_password.redis_auth_token.result}"
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        assert tf.locals["app_secret_values"][name].startswith("rediss://:${random_password.redis_auth_token.result}@")


# --- S3 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bucket", ["media", "logs"])
def test_buckets_are_private_owner_enforced_encrypted_and_versioned(tf, bucket):
    reference = f"${{aws_s3_bucket.{bucket}.id}}"
    access = tf.resource("aws_s3_bucket_public_access_block", bucket)
    assert access["bucket"] == reference
    for setting in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert access[setting] is True, setting
    ownership = tf.resource("aws_s3_bucket_ownership_controls", bucket)
    assert ownership["bucket"] == reference
    assert block(ownership, "rule")["object_ownership"] == "BucketOwnerEnforced"
    encryption = tf.resource("aws_s3_bucket_server_side_encryption_configuration", bucket)
    assert encryption["bucket"] == reference
    default = block(block(encryption, "rule"), "apply_server_side_encryption_by_default")
    assert default["sse_algorithm"] in {"aws:kms", "AES256"}
    versioning = tf.resource("aws_s3_bucket_versioning", bucket)
    assert versioning["bucket"] == reference
    assert block(versioning, "versioning_configuration")["status"] == "Enabled"
    assert tf.resource("aws_s3_bucket", bucket)["force_destroy"] is False


def test_media_bucket_is_kms_encrypted(tf):
    encryption = tf.resource("aws_s3_bucket_server_side_encryption_configuration", "media")
    default = block(block(encryption, "rule"), "apply_server_side_encryption_by_default")
    assert (default["sse_algorithm"], default["kms_master_key_id"]) == ("aws:kms", "${aws_kms_key.main.arn}")


def test_media_lifecycle_expires_exports_after_7_days_and_old_versions(tf):
    lifecycle = tf.resource("aws_s3_bucket_lifecycle_configuration", "media")
    assert lifecycle["bucket"] == "${aws_s3_bucket.media.id}"
    rules = lifecycle["rule"]
    assert all(rule["status"] == "Enabled" for rule in rules)
    exports = [rule for rule in rules if block(rule, "filter").get("prefix") == "exports/"]
    assert len(exports) == 1
    assert resolve(tf, block(exports[0], "expiration")["days"]) == 7
    everything = [rule for rule in rules if not block(rule, "filter")]
    assert len(everything) == 1
    assert 1 <= resolve(tf, block(everything[0], "noncurrent_version_expiration")["noncurrent_days"]) <= 90
    assert block(everything[0], "abort_incomplete_multipart_upload")["days_after_initiation"] <= 7


def _policy_document(tf: Terraform, name: str) -> list[dict]:
    assert ("aws_iam_policy_document", name) in tf.data, f"data.aws_iam_policy_document.{name} is missing"
    return tf.data[("aws_iam_policy_document", name)]["statement"]


@pytest.mark.parametrize("bucket", ["media", "logs"])
def test_bucket_policies_deny_plain_http(tf, bucket):
    policy = tf.resource("aws_s3_bucket_policy", bucket)
    assert policy["bucket"] == f"${{aws_s3_bucket.{bucket}.id}}"
    document = policy["policy"].removeprefix("${data.aws_iam_policy_document.").removesuffix(".json}")
    denies = [statement for statement in _policy_document(tf, document) if statement.get("effect") == "Deny"]
    tls_only = [
        statement for statement in denies
        if any(condition["test"] == "Bool" and condition["variable"] == "aws:SecureTransport"
               and condition["values"] == ["false"] for condition in statement.get("condition", []))
    ]
    assert len(tls_only) == 1
    statement = tls_only[0]
    assert statement["actions"] == ["s3:*"]
    assert set(statement["resources"]) == {f"${{aws_s3_bucket.{bucket}.arn}}", f"${{aws_s3_bucket.{bucket}.arn}}/*"}
    assert block(statement, "principals")["identifiers"] == ["*"]


# --- Logs, alarms, secrets ------------------------------------------------------------------------


def test_every_log_group_has_retention_and_kms(tf):
    groups = tf.of_type("aws_cloudwatch_log_group")
    assert {"main", "vpc_flow_logs", "rds", "redis_slow_log"} <= set(groups)
    for name, group in groups.items():
        assert resolve(tf, group["retention_in_days"]) > 0, name
        assert group["kms_key_id"] == "${aws_kms_key.main.arn}", name
    assert {"web", "worker", "app"} <= set(tf.locals["log_groups"])


def _alarm_metrics(tf: Terraform) -> set[tuple[str, str]]:
    metrics = set()
    for name, alarm in tf.of_type("aws_cloudwatch_metric_alarm").items():
        assert alarm["alarm_actions"] == "${local.alarm_actions}", name
        if "metric_name" in alarm:
            metrics.add((alarm["namespace"], alarm["metric_name"]))
        for query in alarm.get("metric_query", []):
            for metric in query.get("metric", []):
                metrics.add((metric["namespace"], metric["metric_name"]))
    return metrics


def test_alarms_cover_the_stack_and_notify_the_sns_topic(tf):
    assert tf.locals["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"]
    assert _alarm_metrics(tf) >= {
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "TargetResponseTime"),
        ("AWS/ApplicationELB", "UnHealthyHostCount"),
        ("AWS/ECS", "CPUUtilization"),
        ("AWS/ECS", "MemoryUtilization"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/ElastiCache", "Evictions"),
    }
    for name in ("ecs_cpu", "ecs_memory"):
        assert tf.resource("aws_cloudwatch_metric_alarm", name)["for_each"] == "${local.ecs_services}"
    assert set(tf.locals["ecs_services"]) == {"web", "worker"}
    subscription = tf.resource("aws_sns_topic_subscription", "alarm_email")
    assert (subscription["protocol"], subscription["topic_arn"]) == ("email", "${aws_sns_topic.alarms.arn}")


def test_app_secrets_exist_encrypted_and_generated(tf):
    assert resolve(tf, "${local.app_secret_names}") == '${toset(["' + '", "'.join(
        ["DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "METRICS_TOKEN"]
    ) + '"])}'
    assert set(tf.locals["app_secret_values"]) == APP_SECRETS
    for name in ("DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "METRICS_TOKEN"):
        assert tf.locals["app_secret_values"][name].startswith("${random_password."), name
    for name, secret in tf.of_type("aws_secretsmanager_secret").items():
        assert secret["kms_key_id"] == "${aws_kms_key.main.arn}", name
    version = tf.resource("aws_secretsmanager_secret_version", "app")
    assert version["secret_string"] == "${local.app_secret_values[each.key]}"
    assert tf.resource("aws_kms_key", "main")["enable_key_rotation"] is True


# --- IAM ------------------------------------------------------------------------------------------


def _identity_documents(tf: Terraform) -> dict[str, list[dict]]:
    """Policy documents attached to roles (identity policies), by document name."""
    documents = {}
    for name, attachment in tf.of_type("aws_iam_role_policy").items():
        match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([a-z0-9_]+)\.json\}", attachment["policy"])
        assert match, f"aws_iam_role_policy.{name} must use a policy document data source"
        documents[match.group(1)] = _policy_document(tf, match.group(1))
    return documents


def _resolved_resources(tf: Terraform, statement: dict) -> list[str]:
    resources = statement.get("resources", [])
    if isinstance(resources, str):
        resources = resolve(tf, resources)
    return [resolve(tf, resource) for resource in as_list(resources)]


def test_no_managed_policies_except_rds_enhanced_monitoring(tf):
    assert not tf.of_type("aws_iam_policy")
    attachments = tf.of_type("aws_iam_role_policy_attachment")
    assert {attachment["policy_arn"] for attachment in attachments.values()} == {
        "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    }


def test_no_wildcard_actions_and_star_resources_only_where_aws_requires_them(tf):
    documents = _identity_documents(tf)
    assert {"ecs_execution", "ecs_task"} <= set(documents)
    for document, statements in documents.items():
        for statement in statements:
            assert statement.get("effect", "Allow") == "Allow", document
            assert "not_actions" not in statement and "not_resources" not in statement, document
            actions = statement["actions"]
            for action in actions:
                assert action != "*" and not action.endswith(":*"), f"{document}: wildcard action {action}"
            resources = _resolved_resources(tf, statement)
            assert resources, f"{document}: statement without resources"
            if "*" in resources:
                assert resources == ["*"], document
                assert set(actions) <= ACTIONS_ALLOWED_ON_ANY_RESOURCE, f"{document}: {actions} on '*'"


def test_secrets_are_readable_only_by_exact_arn(tf):
    for document, statements in _identity_documents(tf).items():
        for statement in statements:
            if not any(action.startswith("secretsmanager:") for action in statement["actions"]):
                continue
            assert statement["actions"] == ["secretsmanager:GetSecretValue"], document
            for resource in _resolved_resources(tf, statement):
                assert "*" not in resource, f"{document}: {resource}"
                assert re.search(r"aws_secretsmanager_secret\.|master_user_secret\[0\]\.secret_arn", resource), resource


def test_execution_role_pulls_logs_and_reads_exactly_the_app_secrets(tf):
    statements = {statement["sid"]: statement for statement in _policy_document(tf, "ecs_execution")}
    assert set(statements) == {"EcrAuthTokenCannotBeScoped", "PullTheApplicationImage", "ContainerLogs",
                               "ReadExactlyTheAppSecrets", "DecryptSecretsViaSecretsManager"}
    assert statements["PullTheApplicationImage"]["resources"] == ["${aws_ecr_repository.app.arn}"]
    assert set(statements["ContainerLogs"]["actions"]) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert 'for key in ["web", "worker"]' in statements["ContainerLogs"]["resources"]
    secrets = resolve(tf, statements["ReadExactlyTheAppSecrets"]["resources"])
    assert "aws_secretsmanager_secret.app[name].arn" in secrets and "local.app_secret_names" in secrets
    assert "aws_secretsmanager_secret.app_db.arn" in secrets
    assert "master_user_secret" not in secrets and "redis_auth_token" not in secrets
    kms = statements["DecryptSecretsViaSecretsManager"]
    assert kms["actions"] == ["kms:Decrypt"]
    assert block(kms, "condition")["variable"] == "kms:ViaService"


def test_task_role_reaches_only_the_app_prefixes_log_group_and_xray(tf):
    statements = {statement["sid"]: statement for statement in _policy_document(tf, "ecs_task")}
    objects = statements["MediaObjectsUnderAppPrefixes"]
    assert set(objects["actions"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    assert set(objects["resources"]) == {"${aws_s3_bucket.media.arn}/users/*", "${aws_s3_bucket.media.arn}/exports/*"}
    listing = statements["ListOnlyAppPrefixes"]
    assert listing["actions"] == ["s3:ListBucket"]
    assert listing["resources"] == ["${aws_s3_bucket.media.arn}"]
    condition = block(listing, "condition")
    assert condition["variable"] == "s3:prefix"
    assert set(condition["values"]) == {"users/*", "exports/*"}
    logs = statements["AppLogStreams"]
    assert set(logs["actions"]) == {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}
    assert set(logs["resources"]) == {'${local.log_group_arns["app"]}', '${local.log_group_arns["app"]}:*'}
    assert not any("CreateLogGroup" in action for statement in statements.values() for action in statement["actions"])
    assert set(statements["XRayTelemetryCannotBeScoped"]["actions"]) <= ACTIONS_ALLOWED_ON_ANY_RESOURCE
    # ECS Exec is off unless asked for.
    assert tf.default("enable_execute_command") is False
    assert tf.resource("aws_iam_role_policy", "ecs_exec")["count"] == "${var.enable_execute_command ? 1 : 0}"


def test_kms_key_policy_delegates_only_to_this_account(tf):
    for statement in _policy_document(tf, "kms_key_policy"):
        principals = block(statement, "principals")
        if "kms:*" in statement["actions"]:
            root = "arn:${local.partition}:iam::${local.account_id}:root"
            assert principals == {"type": "AWS", "identifiers": [root]}
        else:
            assert principals["type"] == "Service"
            assert statement.get("condition"), "service principals must be bound by a condition"


def test_every_checkov_skip_is_inline_with_a_reason(tf):
    skips = [comment for comment in tf.comments if "checkov:skip" in comment]
    assert skips
    for comment in skips:
        assert re.fullmatch(r"checkov:skip=CKV2?_AWS_\d+: \S.{10,}", comment.strip()), comment
