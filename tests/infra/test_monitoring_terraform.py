"""Prometheus and Grafana in AWS (infra/terraform/monitoring.tf and what it touches), proven offline.

Same method as test_terraform.py (python-hcl2, assertions on the values that would reach AWS), plus
the files the monitoring images are built from (infra/prometheus, infra/grafana).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from typing import Any

import pytest
import yaml

from tests.infra.test_terraform import (
    ECS_TEMPLATE_DIR,
    INTERNET,
    ROOT,
    Terraform,
    _policy_document,
    _render,
    _rules,
    block,
    load,
    resolve,
    sg_name,
)

PROMETHEUS_DIR = ROOT / "infra" / "prometheus"
GRAFANA_DIR = ROOT / "infra" / "grafana"
DISCOVERY = PROMETHEUS_DIR / "discovery" / "ecs_sd.py"


@pytest.fixture(scope="module")
def tf() -> Terraform:
    return load()


def containers(tf: Terraform, local: str) -> dict[str, dict]:
    return {container["name"]: container for container in tf.locals[local]}


def env(container: dict) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("environment", [])}


def secrets(container: dict) -> dict[str, str]:
    return {item["name"]: item["valueFrom"] for item in container.get("secrets", [])}


def statements(tf: Terraform, document: str) -> dict[str, dict]:
    return {statement["sid"]: statement for statement in _policy_document(tf, document)}


def stack_name(tf: Terraform) -> str:
    assert tf.locals["name"] == "${var.project}-${var.environment}"
    return f"{tf.default('project')}-{tf.default('environment')}"


# --- Prometheus: placement, storage, discovery ----------------------------------------------------


def test_prometheus_runs_in_private_subnets_without_public_ip_and_outside_the_alb(tf):
    service = tf.resource("aws_ecs_service", "prometheus")
    network = block(service, "network_configuration")
    assert network["subnets"] == "${aws_subnet.private[*].id}"
    assert network["assign_public_ip"] is False
    assert network["security_groups"] == ["${aws_security_group.prometheus.id}"]
    assert "load_balancer" not in service
    assert not any("prometheus" in str(rule) for rule in tf.of_type("aws_lb_listener_rule").values())
    assert service["task_definition"] == "${aws_ecs_task_definition.prometheus.arn}"
    assert service["launch_type"] == "FARGATE"
    # One writer of the TSDB: the old task stops before the new one starts, and a failed deploy rolls back.
    assert (service["desired_count"], service["deployment_maximum_percent"]) == (1, 100)
    assert service["deployment_minimum_healthy_percent"] == 0
    breaker = block(service, "deployment_circuit_breaker")
    assert breaker["enable"] is True and breaker["rollback"] is True
    # Grafana finds it as prometheus.<namespace>:9090.
    assert block(service, "service_registries")["registry_arn"] == "${aws_service_discovery_service.prometheus.arn}"
    discovery = tf.resource("aws_service_discovery_service", "prometheus")
    assert discovery["name"] == "prometheus"
    dns = block(discovery, "dns_config")
    assert dns["namespace_id"] == "${aws_service_discovery_private_dns_namespace.main.id}"
    assert [record["type"] for record in dns["dns_records"]] == ["A"]
    assert tf.locals["prometheus_url"] == (
        "http://${aws_service_discovery_service.prometheus.name}."
        "${aws_service_discovery_private_dns_namespace.main.name}:${local.prometheus_port}"
    )
    assert resolve(tf, "${local.prometheus_port}") == 9090


def test_prometheus_data_is_on_encrypted_efs_through_an_access_point_over_tls(tf):
    efs = tf.resource("aws_efs_file_system", "prometheus")
    assert efs["encrypted"] is True
    assert efs["kms_key_id"] == "${aws_kms_key.main.arn}"
    assert tf.resource("aws_efs_backup_policy", "prometheus")["backup_policy"][0]["status"] == "ENABLED"

    mount = tf.resource("aws_efs_mount_target", "prometheus")
    assert mount["count"] == "${local.az_count}"  # one per private subnet, i.e. per AZ
    assert mount["subnet_id"] == "${aws_subnet.private[count.index].id}"
    assert mount["security_groups"] == ["${aws_security_group.efs.id}"]

    access_point = tf.resource("aws_efs_access_point", "prometheus")
    assert access_point["file_system_id"] == "${aws_efs_file_system.prometheus.id}"
    assert block(access_point, "posix_user") == {"uid": 65534, "gid": 65534}  # nobody, the image's user
    root = block(access_point, "root_directory")
    assert block(root, "creation_info")["owner_uid"] == 65534

    definition = tf.resource("aws_ecs_task_definition", "prometheus")
    volumes = {volume["name"]: volume for volume in definition["volume"]}
    efs_volume = block(volumes["prometheus-data"], "efs_volume_configuration")
    assert efs_volume["file_system_id"] == "${aws_efs_file_system.prometheus.id}"
    assert efs_volume["transit_encryption"] == "ENABLED"
    authorization = block(efs_volume, "authorization_config")
    assert authorization == {"access_point_id": "${aws_efs_access_point.prometheus.id}", "iam": "ENABLED"}
    prometheus = containers(tf, "prometheus_container_definitions")["prometheus"]
    assert {"sourceVolume": "prometheus-data", "containerPath": "/prometheus", "readOnly": False} in (
        prometheus["mountPoints"]
    )
    assert "--storage.tsdb.path=/prometheus" in prometheus["command"]

    # The file system policy: the task role through the access point; plain NFS denied to everybody.
    policy = tf.resource("aws_efs_file_system_policy", "prometheus")
    assert policy["policy"] == "${data.aws_iam_policy_document.prometheus_efs.json}"
    efs_statements = statements(tf, "prometheus_efs")
    allow = efs_statements["PrometheusTaskThroughTheAccessPoint"]
    assert block(allow, "principals")["identifiers"] == ["${aws_iam_role.prometheus_task.arn}"]
    assert block(allow, "condition")["values"] == ["${aws_efs_access_point.prometheus.arn}"]
    deny = efs_statements["DenyPlainNfs"]
    assert deny["effect"] == "Deny"
    assert block(deny, "condition") == {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}


def test_retention_is_a_variable_of_30_days(tf):
    prometheus = containers(tf, "prometheus_container_definitions")["prometheus"]
    assert "--storage.tsdb.retention.time=${var.prometheus_retention}" in prometheus["command"]
    assert tf.default("prometheus_retention") == "30d"
    assert "var.prometheus_retention" in tf.variables["prometheus_retention"]["validation"][0]["condition"]


def test_the_discovery_sidecar_gets_the_cluster_and_services_of_ecs_tf(tf, tmp_path):
    discovery = tf.locals["prometheus_discovery"]
    assert discovery == {
        "web": {"service": "${aws_ecs_service.web.name}", "port": "${local.app_port}", "file": "web.json"},
        "worker": {"service": "${aws_ecs_service.worker.name}", "port": "${local.worker_metrics_port}",
                   "file": "worker.json"},
    }
    sidecar = containers(tf, "prometheus_container_definitions")["ecs-discovery"]
    command = sidecar["command"]
    assert '["--cluster", aws_ecs_cluster.main.name]' in command
    assert "for job in values(local.prometheus_discovery) : " in command
    assert '["--service", "${job.service}=${job.port}:${job.file}"]' in command
    assert '"--environment", local.prometheus_environment_label' in command
    assert '"--output-dir", "/sd"' in command
    assert {"sourceVolume": "file-sd", "containerPath": "/sd", "readOnly": False} in sidecar["mountPoints"]
    prometheus = containers(tf, "prometheus_container_definitions")["prometheus"]
    assert {"sourceVolume": "file-sd", "containerPath": "/etc/prometheus/sd", "readOnly": True} in (
        prometheus["mountPoints"]
    )

    # The values those references have, run through the program's own argument parser.
    assert tf.resource("aws_ecs_cluster", "main")["name"] == "${local.name}"
    names = {kind: tf.resource("aws_ecs_service", kind)["name"] for kind in ("web", "worker")}
    assert names == {"web": "web", "worker": "worker"}
    ports = {kind: resolve(tf, discovery[kind]["port"]) for kind in discovery}
    assert ports == {"web": 8080, "worker": 9808}
    argv = ["--cluster", stack_name(tf)]
    for kind in ("web", "worker"):
        argv += ["--service", f"{names[kind]}={ports[kind]}:{discovery[kind]['file']}"]
    argv += ["--environment", tf.locals["prometheus_environment_label"], "--output-dir", str(tmp_path),
             "--interval", str(tf.default("prometheus_discovery_interval"))]
    spec = importlib.util.spec_from_file_location("ecs_sd_for_terraform", DISCOVERY)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    args = module.parse_args(argv)
    assert [(job.service, job.port, job.filename) for job in args.jobs] == [
        ("web", 8080, "web.json"), ("worker", 9808, "worker.json"),
    ]
    # The ports are the ones the containers listen on.
    dummy = {name: "2" if name in {"gunicorn_workers", "gunicorn_threads", "database_pool_max_size",
                                   "worker_concurrency"} else f"x-{name}"
             for name in set(tf.locals["ecs_template_variables"]) | {"log_group"}}
    for kind in ("web", "worker"):
        (container,) = _render(ECS_TEMPLATE_DIR / f"{kind}.containers.json.tpl", dummy)
        assert ports[kind] in [mapping["containerPort"] for mapping in container["portMappings"]]
    # Same environment label as the static targets of prometheus.yml.
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    static = [sc for job in config["scrape_configs"] for sc in job.get("static_configs", [])]
    assert {sc["labels"]["environment"] for sc in static} == {tf.locals["prometheus_environment_label"]}


def test_discovery_is_not_capped_like_cloud_map_dns(tf):
    """The web service may scale beyond 8 tasks: the ECS API pages through any number of them
    (tests/infra/test_ecs_discovery.py discovers 205), so the autoscaling maximum has no ceiling here."""
    web_max = resolve(tf, tf.resource("aws_appautoscaling_target", "web")["max_capacity"])
    assert web_max == 10 > 8
    text = DISCOVERY.read_text()
    assert "get_paginator(\"list_tasks\")" in text and "DESCRIBE_BATCH_SIZE = 100" in text
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    assert not any("dns_sd_configs" in job for job in config["scrape_configs"])
    assert "prometheus_dns_sd_name" not in tf.outputs


def test_the_exporters_reach_rds_and_redis_as_sidecars(tf):
    sidecars = containers(tf, "prometheus_container_definitions")
    assert set(sidecars) == {"prometheus", "ecs-discovery", "postgres-exporter", "redis-exporter"}

    postgres = sidecars["postgres-exporter"]
    assert postgres["image"] == "${var.postgres_exporter_image}"
    assert re.fullmatch(r"(quay\.io/)?prometheuscommunity/postgres-exporter:v\d+\.\d+\.\d+",
                        tf.default("postgres_exporter_image"))
    assert "--collector.stat_statements" in postgres["command"]
    assert "--collector.stat_statements.include_query" in postgres["command"]  # the dashboards' statement text
    assert "--web.listen-address=:${local.postgres_exporter_port}" in postgres["command"]
    assert resolve(tf, "${local.postgres_exporter_port}") == 9187
    assert env(postgres)["DATA_SOURCE_URI"].endswith("/${var.db_name}?sslmode=require")
    assert secrets(postgres) == {
        "DATA_SOURCE_USER": "${aws_secretsmanager_secret.monitoring_db.arn}:username::",
        "DATA_SOURCE_PASS": "${aws_secretsmanager_secret.monitoring_db.arn}:password::",
    }
    login = tf.resource("aws_secretsmanager_secret_version", "monitoring_db")["secret_string"]
    assert "username = var.db_monitoring_username" in login and "random_password.monitoring_db.result" in login
    assert tf.default("db_monitoring_username") not in {tf.default("db_app_username"), tf.default("db_master_username")}

    redis = sidecars["redis-exporter"]
    assert re.fullmatch(r"oliver006/redis_exporter:v\d+\.\d+\.\d+", tf.default("redis_exporter_image"))
    assert env(redis)["REDIS_ADDR"] == "rediss://${local.redis_host}:6379"  # TLS, like the app
    assert env(redis)["REDIS_EXPORTER_WEB_LISTEN_ADDRESS"] == ":${local.redis_exporter_port}"
    assert resolve(tf, "${local.redis_exporter_port}") == 9121
    assert secrets(redis) == {"REDIS_PASSWORD": "${aws_secretsmanager_secret.redis_auth_token.arn}"}
    # An exporter failing never takes Prometheus down with it.
    assert postgres["essential"] is False and redis["essential"] is False
    assert sidecars["prometheus"]["essential"] is True and sidecars["ecs-discovery"]["essential"] is True


def test_the_bearer_token_reaches_the_file_prometheus_reads(tf):
    prometheus = containers(tf, "prometheus_container_definitions")["prometheus"]
    assert secrets(prometheus) == {"METRICS_TOKEN": '${aws_secretsmanager_secret.app["METRICS_TOKEN"].arn}'}
    assert {"sourceVolume": "prometheus-secrets", "containerPath": "/etc/prometheus/secrets", "readOnly": False} in (
        prometheus["mountPoints"]
    )
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    (web,) = [job for job in config["scrape_configs"] if job["job_name"] == "activelog-web"]
    token_path = "/etc/prometheus/" + web["authorization"]["credentials_file"]
    dockerfile = (PROMETHEUS_DIR / "Dockerfile").read_text()
    assert f'> {token_path};' in dockerfile
    assert "unset METRICS_TOKEN; exec /bin/prometheus" in dockerfile
    assert re.search(r"^FROM prom/prometheus:v3\.\d+\.\d+$", dockerfile, re.MULTILINE)
    assert "COPY prometheus.yml /etc/prometheus/prometheus.yml" in dockerfile
    assert "COPY rules/ /etc/prometheus/rules/" in dockerfile


# --- Grafana --------------------------------------------------------------------------------------


def test_grafana_is_reached_only_through_the_alb_host_rule_over_https(tf):
    rule = tf.resource("aws_lb_listener_rule", "grafana")
    assert rule["listener_arn"] == "${aws_lb_listener.https.arn}"  # the HTTP listener only redirects
    assert block(block(rule, "condition"), "host_header")["values"] == ["${local.monitoring_domain}"]
    action = block(rule, "action")
    assert (action["type"], action["target_group_arn"]) == ("forward", "${aws_lb_target_group.grafana.arn}")
    assert tf.locals["monitoring_domain"] == "monitoring.${var.domain_name}"

    group = tf.resource("aws_lb_target_group", "grafana")
    assert (group["target_type"], resolve(tf, group["port"]), group["protocol"]) == ("ip", 3000, "HTTP")
    assert block(group, "health_check")["path"] == "/api/health"

    service = tf.resource("aws_ecs_service", "grafana")
    target = block(service, "load_balancer")
    assert target["target_group_arn"] == "${aws_lb_target_group.grafana.arn}"
    assert (target["container_name"], resolve(tf, target["container_port"])) == ("grafana", 3000)
    network = block(service, "network_configuration")
    assert network["subnets"] == "${aws_subnet.private[*].id}" and network["assign_public_ip"] is False
    assert network["security_groups"] == ["${aws_security_group.grafana.id}"]
    breaker = block(service, "deployment_circuit_breaker")
    assert breaker["enable"] is True and breaker["rollback"] is True

    # The certificate of the HTTPS listener covers the name; DNS points it at the ALB.
    certificate = tf.resource("aws_acm_certificate", "main")
    assert certificate["subject_alternative_names"] == ["${local.monitoring_domain}"]
    record = tf.resource("aws_route53_record", "monitoring")
    assert record["name"] == "${local.monitoring_domain}"
    assert record["zone_id"] == "${data.aws_route53_zone.main.zone_id}"
    assert block(record, "alias")["name"] == "${aws_lb.main.dns_name}"


def test_grafana_requires_a_login_whose_password_is_in_secrets_manager(tf):
    grafana = containers(tf, "grafana_container_definitions")["grafana"]
    settings = env(grafana)
    assert settings["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert settings["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert settings["GF_USERS_ALLOW_ORG_CREATE"] == "false"
    assert settings["GF_SECURITY_COOKIE_SECURE"] == "true"
    assert settings["GF_SERVER_ROOT_URL"] == "https://${local.monitoring_domain}/"
    assert settings["GF_SECURITY_ADMIN_USER"] == "admin"
    assert not any("PASSWORD" in name for name in settings), "the password never sits in plain environment"
    assert secrets(grafana) == {"GF_SECURITY_ADMIN_PASSWORD": "${aws_secretsmanager_secret.grafana_admin.arn}"}
    version = tf.resource("aws_secretsmanager_secret_version", "grafana_admin")
    assert version["secret_string"] == "${random_password.grafana_admin.result}"
    assert tf.resource("random_password", "grafana_admin")["length"] >= 24
    assert tf.resource("aws_secretsmanager_secret", "grafana_admin")["kms_key_id"] == "${aws_kms_key.main.arn}"
    # The data source URL: Prometheus' Cloud Map name.
    assert settings["PROMETHEUS_URL"] == "${local.prometheus_url}"
    home = settings["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith("/etc/grafana/dashboards/")
    assert (GRAFANA_DIR / "dashboards" / home.rsplit("/", 1)[-1]).exists()


def test_grafana_image_provisions_the_prometheus_datasource_and_the_dashboards(tf):
    datasources = yaml.safe_load((GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (prometheus,) = datasources["datasources"]
    assert (prometheus["uid"], prometheus["type"], prometheus["url"]) == (
        "activelog-prometheus", "prometheus", "${PROMETHEUS_URL}",
    )
    dockerfile = (GRAFANA_DIR / "Dockerfile").read_text()
    assert re.search(r"^FROM grafana/grafana:\d+\.\d+\.\d+$", dockerfile, re.MULTILINE)
    providers = yaml.safe_load((GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yml").read_text())
    path = providers["providers"][0]["options"]["path"]
    assert f"COPY dashboards/ {path}/" in dockerfile
    assert "COPY provisioning/dashboards/ /etc/grafana/provisioning/dashboards/" in dockerfile
    copied = re.findall(r"^COPY provisioning/datasources/(\S+) ", dockerfile, re.MULTILINE)
    assert copied == ["prometheus.yml"], "the local Jaeger data source stays out of production"


# --- Security groups ------------------------------------------------------------------------------


def _egress(tf: Terraform, group: str) -> set[tuple[str, int]]:
    found = set()
    for _, rule in _rules(tf, "aws_vpc_security_group_egress_rule"):
        if sg_name(rule["security_group_id"]) != group:
            continue
        assert rule["ip_protocol"] == "tcp" and rule["from_port"] == rule["to_port"]
        destination = rule.get("cidr_ipv4") or rule.get("cidr_ipv6")
        found.add((destination if destination in INTERNET else sg_name(rule["referenced_security_group_id"]),
                   rule["from_port"]))
    return found


def test_monitoring_security_groups_open_exactly_what_monitoring_needs(tf):
    assert _egress(tf, "prometheus") == {
        ("web", 8080), ("worker", 9808), ("rds", 5432), ("redis", 6379), ("efs", 2049), ("0.0.0.0/0", 443),
    }
    assert _egress(tf, "grafana") == {("prometheus", 9090), ("0.0.0.0/0", 443)}
    assert _egress(tf, "efs") == set()
    assert _egress(tf, "alb") == {("web", 8080), ("grafana", 3000)}
    # The application tasks' egress did not grow.
    assert _egress(tf, "web") == {("rds", 5432), ("redis", 6379), ("0.0.0.0/0", 443)}
    assert _egress(tf, "worker") == {("rds", 5432), ("redis", 6379), ("0.0.0.0/0", 443)}
    # Ingress (all of it is asserted in test_terraform.py): the monitoring groups take only this.
    ingress = {}
    for _, rule in _rules(tf, "aws_vpc_security_group_ingress_rule"):
        if "referenced_security_group_id" in rule:
            target = sg_name(rule["security_group_id"])
            ingress.setdefault(target, set()).add((sg_name(rule["referenced_security_group_id"]), rule["from_port"]))
    assert ingress["grafana"] == {("alb", 3000)}
    assert ingress["prometheus"] == {("grafana", 9090)}
    assert ingress["efs"] == {("prometheus", 2049)}
    assert ("prometheus", 9808) in ingress["worker"] and ("prometheus", 8080) in ingress["web"]


# --- The worker's metrics endpoint ----------------------------------------------------------------


def test_the_worker_task_sets_celery_metrics_port_9808_and_exposes_it(tf):
    assert resolve(tf, "${local.worker_metrics_port}") == 9808
    dummy = {name: f"x-{name}" for name in set(tf.locals["ecs_template_variables"]) | {"log_group"}}
    (worker,) = _render(ECS_TEMPLATE_DIR / "worker.containers.json.tpl", dummy)
    assert env(worker)["CELERY_METRICS_PORT"] == "9808"
    assert env(worker)["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    assert worker["portMappings"] == [{"containerPort": 9808, "hostPort": 9808, "protocol": "tcp"}]
    assert tf.locals["worker_container_definitions"].startswith("${concat(jsondecode(templatefile(")


# --- PostgreSQL statistics ------------------------------------------------------------------------


def test_the_parameter_group_preloads_pg_stat_statements(tf):
    parameters = {item["name"]: item for item in tf.resource("aws_db_parameter_group", "main")["parameter"]}
    preload = parameters["shared_preload_libraries"]
    assert "pg_stat_statements" in preload["value"].split(",")
    assert preload["apply_method"] == "pending-reboot"  # a static parameter
    assert parameters["pg_stat_statements.track"]["value"] in {"top", "all"}
    assert parameters["rds.force_ssl"]["value"] == "1"


def test_db_bootstrap_creates_the_monitoring_login_and_the_extension(tf):
    script = tf.locals["db_bootstrap_script"]
    assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;" in script
    assert "GRANT pg_monitor TO %I', :'monitoring_user'" in script
    assert "CONNECTION LIMIT 3" in script
    # That no password reaches the PostgreSQL log is checked by running the script: test_db_bootstrap.py.
    assert "PASSWORD %L', :'monitoring_user', :'monitoring_password'" not in script
    definition = tf.resource("aws_ecs_task_definition", "db_bootstrap")["container_definitions"]
    assert '"MONITORING_DB_USER", value = var.db_monitoring_username' in definition
    assert '"MONITORING_DB_PASSWORD", valueFrom = "${aws_secretsmanager_secret.monitoring_db.arn}:password::"' in (
        definition
    )
    readable = statements(tf, "db_bootstrap_execution")["MasterAppAndMonitoringDbSecrets"]["resources"]
    assert "${aws_secretsmanager_secret.monitoring_db.arn}" in readable


# --- IAM, logs, images ----------------------------------------------------------------------------


def _resources(statement: dict) -> list[str]:
    resources = statement["resources"]
    return resources if isinstance(resources, list) else [resources]


def test_prometheus_task_role_lists_and_describes_only_this_clusters_tasks(tf):
    task = statements(tf, "prometheus_task")
    assert set(task) == {"ListTasksOfThisClusterOnly", "DescribeTasksOfThisClusterOnly",
                         "MountTheTsdbThroughTheAccessPoint"}
    listing = task["ListTasksOfThisClusterOnly"]
    assert listing["actions"] == ["ecs:ListTasks"]
    assert block(listing, "condition") == {"test": "ArnEquals", "variable": "ecs:cluster",
                                           "values": ["${aws_ecs_cluster.main.arn}"]}
    describe = task["DescribeTasksOfThisClusterOnly"]
    assert describe["actions"] == ["ecs:DescribeTasks"]
    assert _resources(describe) == [
        "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.main.name}/*"
    ]
    # Every role policy that allows ecs:ListTasks binds it to the cluster.
    for name, attachment in tf.of_type("aws_iam_role_policy").items():
        document = attachment["policy"].removeprefix("${data.aws_iam_policy_document.").removesuffix(".json}")
        for statement in _policy_document(tf, document):
            if "ecs:ListTasks" in statement["actions"]:
                assert block(statement, "condition")["variable"] == "ecs:cluster", name
    role = tf.resource("aws_ecs_task_definition", "prometheus")
    assert role["task_role_arn"] == "${aws_iam_role.prometheus_task.arn}"
    assert role["execution_role_arn"] == "${aws_iam_role.prometheus_execution.arn}"


def test_monitoring_execution_roles_read_exactly_their_secrets_and_images(tf):
    prometheus = statements(tf, "prometheus_execution")
    assert set(_resources(prometheus["ReadTheScrapeAndExporterSecrets"])) == {
        '${aws_secretsmanager_secret.app["METRICS_TOKEN"].arn}',
        "${aws_secretsmanager_secret.monitoring_db.arn}",
        "${aws_secretsmanager_secret.redis_auth_token.arn}",
    }
    assert set(_resources(prometheus["PullThePrometheusAndDiscoveryImages"])) == {
        '${aws_ecr_repository.monitoring["prometheus"].arn}', '${aws_ecr_repository.monitoring["ecs-discovery"].arn}',
    }
    assert set(_resources(prometheus["ContainerLogs"])) == {
        '${local.log_group_arns["prometheus"]}', '${local.log_group_arns["prometheus"]}:*',
    }
    grafana = statements(tf, "grafana_execution")
    assert _resources(grafana["ReadTheAdminPassword"]) == ["${aws_secretsmanager_secret.grafana_admin.arn}"]
    assert _resources(grafana["PullTheGrafanaImage"]) == ['${aws_ecr_repository.monitoring["grafana"].arn}']
    assert set(_resources(grafana["ContainerLogs"])) == {
        '${local.log_group_arns["grafana"]}', '${local.log_group_arns["grafana"]}:*',
    }
    # The application's roles gained nothing.
    assert "monitoring" not in str(_policy_document(tf, "ecs_execution"))
    assert "grafana" not in str(_policy_document(tf, "ecs_task"))
    assert "task_role_arn" not in tf.resource("aws_ecs_task_definition", "grafana")  # Grafana calls no AWS API


@pytest.mark.parametrize("local", ["prometheus_container_definitions", "grafana_container_definitions"])
def test_monitoring_containers_are_hardened_logged_and_checked(tf, local):
    for name, container in containers(tf, local).items():
        assert container["readonlyRootFilesystem"] is True, name
        assert container["privileged"] is False, name
        assert container.get("user") not in {"0", "root"}, name
        options = container["logConfiguration"]["options"]
        assert container["logConfiguration"]["logDriver"] == "awslogs", name
        assert "awslogs-stream-prefix" in options, name
        if container["essential"]:
            check = container["healthCheck"]
            assert check["command"][0] == "CMD" and check["retries"] >= 2, name
    groups = tf.locals["log_groups"]
    assert groups["prometheus"] == "/ecs/${local.name}/prometheus"
    assert groups["grafana"] == "/ecs/${local.name}/grafana"
    assert tf.locals["prometheus_log_options"]["awslogs-group"] == '${aws_cloudwatch_log_group.main["prometheus"].name}'


def test_monitoring_images_have_immutable_scanned_repositories(tf):
    repository = tf.resource("aws_ecr_repository", "monitoring")
    assert repository["for_each"] == "${local.monitoring_repositories}"
    assert tf.locals["monitoring_repositories"] == '${toset(["prometheus", "grafana", "ecs-discovery"])}'
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert block(repository, "image_scanning_configuration")["scan_on_push"] is True
    assert block(repository, "encryption_configuration")["kms_key"] == "${aws_kms_key.main.arn}"
    assert tf.resource("aws_ecr_lifecycle_policy", "monitoring")["for_each"] == "${aws_ecr_repository.monitoring}"
    images = tf.locals["monitoring_images"]
    for name, image in images.items():
        assert image.endswith(":${var.monitoring_image_tag}"), name
    assert "default" not in tf.variables["monitoring_image_tag"], "an explicit, immutable tag"


def test_the_discovery_image_is_pinned_and_runs_the_program(tf):
    dockerfile = (DISCOVERY.parent / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.12\.\d+-slim$", dockerfile, re.MULTILINE)
    assert "USER 65534:65534" in dockerfile
    assert 'ENTRYPOINT ["python", "/app/ecs_sd.py"]' in dockerfile
    requirements = [line for line in (DISCOVERY.parent / "requirements.txt").read_text().splitlines()
                    if line and not line.startswith("#")]
    assert any(line.startswith("boto3==") for line in requirements)
    assert all(re.fullmatch(r"[a-z0-9-]+==[\w.]+", line) for line in requirements), requirements
    # The same versions the tests run it with.
    constraints = (ROOT / "constraints.txt").read_text().splitlines()
    assert set(requirements) <= set(constraints)
    imports = set(re.findall(r"^(?:from|import) (\w+)", DISCOVERY.read_text(), re.MULTILINE))
    assert imports - set(sys.stdlib_module_names) <= {"boto3", "botocore"}, "stdlib and boto3 only"


def _as_str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def test_monitoring_outputs_for_operators(tf):
    assert tf.outputs["monitoring_url"]["value"] == "https://${local.monitoring_domain}"
    assert tf.outputs["prometheus_internal_url"]["value"] == "${local.prometheus_url}"
    assert "aws_ecr_repository.monitoring" in _as_str(tf.outputs["monitoring_ecr_repository_urls"]["value"])
