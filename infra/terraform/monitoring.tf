# Monitoring inside the stack: Prometheus and Grafana on ECS Fargate.
#
#   prometheus (service "prometheus", 1 task, private subnets, no public IP, not behind the ALB)
#     ├─ prometheus         :9090  TSDB on EFS (encrypted, access point, TLS), retention var.prometheus_retention
#     ├─ ecs-discovery             ECS API -> file_sd JSON (web.json, worker.json) in a shared task volume
#     ├─ postgres-exporter  :9187  RDS, read-only pg_monitor login (monitoring-db-credentials), pg_stat_statements
#     └─ redis-exporter     :9121  ElastiCache over TLS with the AUTH token
#   Cloud Map prometheus.<namespace> -> Grafana's data source.
#
#   grafana (service "grafana", behind the HTTPS ALB at https://monitoring.<domain_name>)
#     admin password from Secrets Manager, anonymous access and sign-up off, secure cookies;
#     dashboards and the data source provisioned from its image (infra/grafana).
#
# Why the ECS API and not Cloud Map DNS for scraping: a MULTIVALUE DNS answer carries at most 8
# healthy addresses (the web service scales to web_max_count = 10), and a task failing its health
# check leaves DNS, so it would vanish instead of showing `up == 0`. See infra/prometheus/discovery.

locals {
  monitoring_domain = "monitoring.${var.domain_name}"

  prometheus_port        = 9090
  grafana_port           = 3000
  worker_metrics_port    = 9808 # CELERY_METRICS_PORT in ../ecs/worker.containers.json.tpl
  postgres_exporter_port = 9187
  redis_exporter_port    = 9121

  # The environment label on every scraped target; the static targets in
  # infra/prometheus/prometheus.yml carry the same value.
  prometheus_environment_label = "production"

  # What the discovery sidecar lists, and the file_sd file of each scrape job in prometheus.yml.
  prometheus_discovery = {
    web    = { service = aws_ecs_service.web.name, port = local.app_port, file = "web.json" }
    worker = { service = aws_ecs_service.worker.name, port = local.worker_metrics_port, file = "worker.json" }
  }

  monitoring_images = {
    prometheus    = "${aws_ecr_repository.monitoring["prometheus"].repository_url}:${var.monitoring_image_tag}"
    grafana       = "${aws_ecr_repository.monitoring["grafana"].repository_url}:${var.monitoring_image_tag}"
    ecs_discovery = "${aws_ecr_repository.monitoring["ecs-discovery"].repository_url}:${var.monitoring_image_tag}"
  }

  prometheus_url = "http://${aws_service_discovery_service.prometheus.name}.${aws_service_discovery_private_dns_namespace.main.name}:${local.prometheus_port}"
}

# --- Prometheus storage: EFS --------------------------------------------------------------------

resource "aws_efs_file_system" "prometheus" {
  creation_token   = "${local.name}-prometheus"
  encrypted        = true
  kms_key_id       = aws_kms_key.main.arn
  performance_mode = "generalPurpose"
  throughput_mode  = "elastic"

  tags = { Name = "${local.name}-prometheus" }
}

# Daily AWS Backup of the TSDB (the default backup plan of EFS automatic backups).
resource "aws_efs_backup_policy" "prometheus" {
  file_system_id = aws_efs_file_system.prometheus.id

  backup_policy {
    status = "ENABLED"
  }
}

resource "aws_efs_mount_target" "prometheus" {
  count = local.az_count

  file_system_id  = aws_efs_file_system.prometheus.id
  subnet_id       = aws_subnet.private[count.index].id
  security_groups = [aws_security_group.efs.id]
}

# Prometheus runs as nobody (65534) in its image; the access point forces that identity and
# creates the directory owned by it.
resource "aws_efs_access_point" "prometheus" {
  file_system_id = aws_efs_file_system.prometheus.id

  posix_user {
    uid = 65534
    gid = 65534
  }

  root_directory {
    path = "/prometheus"

    creation_info {
      owner_uid   = 65534
      owner_gid   = 65534
      permissions = "0750"
    }
  }

  tags = { Name = "${local.name}-prometheus" }
}

# Only the Prometheus task role, only through the access point, only over TLS.
data "aws_iam_policy_document" "prometheus_efs" {
  statement {
    sid       = "PrometheusTaskThroughTheAccessPoint"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.prometheus.arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.prometheus_task.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.prometheus.arn]
    }
  }

  statement {
    sid       = "DenyPlainNfs"
    effect    = "Deny"
    actions   = ["*"]
    resources = [aws_efs_file_system.prometheus.arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_efs_file_system_policy" "prometheus" {
  file_system_id = aws_efs_file_system.prometheus.id
  policy         = data.aws_iam_policy_document.prometheus_efs.json
}

# --- Cloud Map: prometheus.<namespace> for Grafana ----------------------------------------------

resource "aws_service_discovery_service" "prometheus" {
  name = "prometheus"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.main.id
    routing_policy = "MULTIVALUE"

    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  health_check_custom_config {
    failure_threshold = 1
  }
}

# --- Secrets ------------------------------------------------------------------------------------

# Grafana's admin password (user "admin"); read it with
#   aws secretsmanager get-secret-value --secret-id <name>-grafana-admin ... (README, "Monitoring").
resource "random_password" "grafana_admin" {
  length  = 32
  special = false
}

resource "aws_secretsmanager_secret" "grafana_admin" {
  #checkov:skip=CKV2_AWS_57: Grafana reads the admin password only at start; rotated by `terraform apply -replace=random_password.grafana_admin` + a new deployment (README), not a Lambda.
  name                    = "${local.name}/grafana-admin-password"
  description             = "${local.name}: Grafana admin password (injected into the grafana container)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "grafana_admin" {
  secret_id     = aws_secretsmanager_secret.grafana_admin.id
  secret_string = random_password.grafana_admin.result
}

# The read-only monitoring login of postgres-exporter. The db-bootstrap task (ecs.tf) creates the
# role from this secret with the pg_monitor privilege; alphanumeric keeps it URL-safe.
resource "random_password" "monitoring_db" {
  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "monitoring_db" {
  #checkov:skip=CKV2_AWS_57: read-only pg_monitor login; rotated by `terraform apply -replace=random_password.monitoring_db`, db-bootstrap and a new prometheus deployment (README), not a Lambda.
  name                    = "${local.name}/monitoring-db-credentials"
  description             = "${local.name}: read-only PostgreSQL login of postgres-exporter (pg_monitor; created by db-bootstrap)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "monitoring_db" {
  secret_id = aws_secretsmanager_secret.monitoring_db.id
  secret_string = jsonencode({
    username = var.db_monitoring_username
    password = random_password.monitoring_db.result
  })
}

# --- IAM ----------------------------------------------------------------------------------------

resource "aws_iam_role" "prometheus_execution" {
  name               = "${local.name}-prometheus-execution"
  description        = "ECS agent for the ${local.name} prometheus task: images, logs, METRICS_TOKEN and exporter credentials"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "prometheus_execution" {
  statement {
    sid       = "EcrAuthTokenCannotBeScoped"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid     = "PullThePrometheusAndDiscoveryImages"
    actions = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [
      aws_ecr_repository.monitoring["prometheus"].arn,
      aws_ecr_repository.monitoring["ecs-discovery"].arn,
    ]
  }

  statement {
    sid       = "ContainerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.log_group_arns["prometheus"], "${local.log_group_arns["prometheus"]}:*"]
  }

  statement {
    sid     = "ReadTheScrapeAndExporterSecrets"
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      aws_secretsmanager_secret.app["METRICS_TOKEN"].arn,
      aws_secretsmanager_secret.monitoring_db.arn,
      aws_secretsmanager_secret.redis_auth_token.arn,
    ]
  }

  statement {
    sid       = "DecryptSecretsViaSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "prometheus_execution" {
  name   = "pull-logs-secrets"
  role   = aws_iam_role.prometheus_execution.id
  policy = data.aws_iam_policy_document.prometheus_execution.json
}

resource "aws_iam_role" "prometheus_task" {
  name               = "${local.name}-prometheus-task"
  description        = "${local.name} prometheus task: list and describe the cluster's tasks (discovery), mount its EFS"
  assume_role_policy = data.aws_iam_policy_document.ecs_task_role_assume.json
}

data "aws_iam_policy_document" "prometheus_task" {
  # ListTasks is authorized against the cluster through the ecs:cluster condition key (its resource
  # type is a container instance, which Fargate tasks do not have).
  statement {
    sid       = "ListTasksOfThisClusterOnly"
    actions   = ["ecs:ListTasks"]
    resources = ["*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.main.arn]
    }
  }

  statement {
    sid       = "DescribeTasksOfThisClusterOnly"
    actions   = ["ecs:DescribeTasks"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.main.name}/*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.main.arn]
    }
  }

  statement {
    sid       = "MountTheTsdbThroughTheAccessPoint"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.prometheus.arn]

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.prometheus.arn]
    }
  }
}

resource "aws_iam_role_policy" "prometheus_task" {
  name   = "ecs-discovery-efs"
  role   = aws_iam_role.prometheus_task.id
  policy = data.aws_iam_policy_document.prometheus_task.json
}

# ECS Exec into the prometheus task (promtool, a look at /etc/prometheus/sd) when it is enabled.
resource "aws_iam_role_policy" "prometheus_exec" {
  count = var.enable_execute_command ? 1 : 0

  name   = "ecs-exec"
  role   = aws_iam_role.prometheus_task.id
  policy = data.aws_iam_policy_document.ecs_exec.json
}

resource "aws_iam_role" "grafana_execution" {
  name               = "${local.name}-grafana-execution"
  description        = "ECS agent for the ${local.name} grafana task: image, logs, admin password"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "grafana_execution" {
  statement {
    sid       = "EcrAuthTokenCannotBeScoped"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullTheGrafanaImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [aws_ecr_repository.monitoring["grafana"].arn]
  }

  statement {
    sid       = "ContainerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.log_group_arns["grafana"], "${local.log_group_arns["grafana"]}:*"]
  }

  statement {
    sid       = "ReadTheAdminPassword"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.grafana_admin.arn]
  }

  statement {
    sid       = "DecryptSecretsViaSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "grafana_execution" {
  name   = "pull-logs-secret"
  role   = aws_iam_role.grafana_execution.id
  policy = data.aws_iam_policy_document.grafana_execution.json
}

# --- Prometheus task ----------------------------------------------------------------------------

locals {
  prometheus_log_options = {
    awslogs-group  = aws_cloudwatch_log_group.main["prometheus"].name
    awslogs-region = local.region
  }

  prometheus_container_definitions = [
    {
      name                   = "prometheus"
      image                  = local.monitoring_images.prometheus
      essential              = true
      user                   = "65534:65534"
      readonlyRootFilesystem = true
      privileged             = false
      # The image's entrypoint writes METRICS_TOKEN to secrets/activelog-metrics-token, then execs
      # Prometheus with these arguments.
      command = [
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        "--storage.tsdb.retention.time=${var.prometheus_retention}",
        "--web.listen-address=:${local.prometheus_port}",
      ]
      portMappings = [{ containerPort = local.prometheus_port, hostPort = local.prometheus_port, protocol = "tcp" }]
      secrets = [
        { name = "METRICS_TOKEN", valueFrom = aws_secretsmanager_secret.app["METRICS_TOKEN"].arn },
      ]
      mountPoints = [
        { sourceVolume = "prometheus-data", containerPath = "/prometheus", readOnly = false },
        { sourceVolume = "file-sd", containerPath = "/etc/prometheus/sd", readOnly = true },
        { sourceVolume = "prometheus-secrets", containerPath = "/etc/prometheus/secrets", readOnly = false },
      ]
      healthCheck = {
        command     = ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:${local.prometheus_port}/-/healthy"]
        interval    = 30
        timeout     = 5
        retries     = 3
        startPeriod = 300 # WAL replay after a restart
      }
      stopTimeout = 120 # time to close the TSDB cleanly (Fargate's maximum)
      logConfiguration = {
        logDriver = "awslogs"
        options   = merge(local.prometheus_log_options, { awslogs-stream-prefix = "prometheus" })
      }
    },
    {
      name                   = "ecs-discovery"
      image                  = local.monitoring_images.ecs_discovery
      essential              = true
      user                   = "65534:65534"
      readonlyRootFilesystem = true
      privileged             = false
      command = concat(
        ["--cluster", aws_ecs_cluster.main.name],
        flatten([for job in values(local.prometheus_discovery) : ["--service", "${job.service}=${job.port}:${job.file}"]]),
        [
          "--environment", local.prometheus_environment_label,
          "--output-dir", "/sd",
          "--interval", tostring(var.prometheus_discovery_interval),
        ],
      )
      environment = [
        { name = "AWS_REGION", value = local.region },
      ]
      mountPoints = [
        { sourceVolume = "file-sd", containerPath = "/sd", readOnly = false },
      ]
      healthCheck = {
        command     = ["CMD", "python", "-c", "import os, sys, time; sys.exit(time.time() - os.path.getmtime('/sd/.ecs_sd.alive') > 300)"]
        interval    = 30
        timeout     = 5
        retries     = 3
        startPeriod = 60
      }
      logConfiguration = {
        logDriver = "awslogs"
        options   = merge(local.prometheus_log_options, { awslogs-stream-prefix = "ecs-discovery" })
      }
    },
    {
      name                   = "postgres-exporter"
      image                  = var.postgres_exporter_image
      essential              = false # Prometheus keeps scraping the app; up{job="postgres-exporter"} == 0 says it is down
      user                   = "65534:65534"
      readonlyRootFilesystem = true
      privileged             = false
      # include_query: the statements' normalised text (literals are $1, $2...), for the dashboards'
      # "Slowest statements" panels (the same flags as docker-compose.yml).
      command = [
        "--collector.stat_statements",
        "--collector.stat_statements.include_query",
        "--web.listen-address=:${local.postgres_exporter_port}",
      ]
      environment = [
        # postgres_exporter builds postgresql://USER:PASS@<DATA_SOURCE_URI>; TLS is required by rds.force_ssl.
        { name = "DATA_SOURCE_URI", value = "${aws_db_instance.main.address}:${aws_db_instance.main.port}/${var.db_name}?sslmode=require" },
      ]
      secrets = [
        { name = "DATA_SOURCE_USER", valueFrom = "${aws_secretsmanager_secret.monitoring_db.arn}:username::" },
        { name = "DATA_SOURCE_PASS", valueFrom = "${aws_secretsmanager_secret.monitoring_db.arn}:password::" },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options   = merge(local.prometheus_log_options, { awslogs-stream-prefix = "postgres-exporter" })
      }
    },
    {
      name                   = "redis-exporter"
      image                  = var.redis_exporter_image
      essential              = false
      readonlyRootFilesystem = true
      privileged             = false
      environment = [
        # rediss:// = TLS, verified against the system CAs (ElastiCache's certificate is public).
        { name = "REDIS_ADDR", value = "rediss://${local.redis_host}:6379" },
        { name = "REDIS_EXPORTER_WEB_LISTEN_ADDRESS", value = ":${local.redis_exporter_port}" },
      ]
      secrets = [
        { name = "REDIS_PASSWORD", valueFrom = aws_secretsmanager_secret.redis_auth_token.arn },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options   = merge(local.prometheus_log_options, { awslogs-stream-prefix = "redis-exporter" })
      }
    },
  ]
}

resource "aws_ecs_task_definition" "prometheus" {
  family                   = "${local.name}-prometheus"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.prometheus_cpu)
  memory                   = tostring(var.prometheus_memory)
  execution_role_arn       = aws_iam_role.prometheus_execution.arn
  task_role_arn            = aws_iam_role.prometheus_task.arn
  container_definitions    = jsonencode(local.prometheus_container_definitions)

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "prometheus-data"

    efs_volume_configuration {
      file_system_id     = aws_efs_file_system.prometheus.id
      transit_encryption = "ENABLED"

      authorization_config {
        access_point_id = aws_efs_access_point.prometheus.id
        iam             = "ENABLED"
      }
    }
  }

  # Task ephemeral storage shared by ecs-discovery (writes) and prometheus (reads).
  volume {
    name = "file-sd"
  }

  # The bearer token file, written by the prometheus entrypoint.
  volume {
    name = "prometheus-secrets"
  }
}

resource "aws_ecs_service" "prometheus" {
  name             = "prometheus"
  cluster          = aws_ecs_cluster.main.id
  task_definition  = aws_ecs_task_definition.prometheus.arn
  desired_count    = 1
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  # One Prometheus owns the TSDB (it locks the directory): the old task stops before the new one
  # starts. A few minutes without scrapes per deployment.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  deployment_controller {
    type = "ECS"
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.prometheus.id]
    assign_public_ip = false
  }

  service_registries {
    registry_arn = aws_service_discovery_service.prometheus.arn
  }

  enable_execute_command  = var.enable_execute_command
  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"
  wait_for_steady_state   = false

  depends_on = [
    aws_efs_mount_target.prometheus,
    aws_iam_role_policy.prometheus_execution,
    aws_iam_role_policy.prometheus_task,
  ]
}

# --- Grafana task -------------------------------------------------------------------------------

locals {
  grafana_container_definitions = [
    {
      name                   = "grafana"
      image                  = local.monitoring_images.grafana
      essential              = true
      user                   = "472"
      readonlyRootFilesystem = true
      privileged             = false
      portMappings           = [{ containerPort = local.grafana_port, hostPort = local.grafana_port, protocol = "tcp" }]
      environment = [
        { name = "PROMETHEUS_URL", value = local.prometheus_url },
        { name = "GF_SERVER_ROOT_URL", value = "https://${local.monitoring_domain}/" },
        { name = "GF_SERVER_DOMAIN", value = local.monitoring_domain },
        { name = "GF_SERVER_HTTP_PORT", value = tostring(local.grafana_port) },
        { name = "GF_SECURITY_ADMIN_USER", value = "admin" },
        { name = "GF_SECURITY_COOKIE_SECURE", value = "true" },
        { name = "GF_SECURITY_COOKIE_SAMESITE", value = "lax" },
        { name = "GF_SECURITY_STRICT_TRANSPORT_SECURITY", value = "true" },
        { name = "GF_SECURITY_DISABLE_GRAVATAR", value = "true" },
        { name = "GF_AUTH_ANONYMOUS_ENABLED", value = "false" },
        { name = "GF_AUTH_BASIC_ENABLED", value = "false" },
        { name = "GF_USERS_ALLOW_SIGN_UP", value = "false" },
        { name = "GF_USERS_ALLOW_ORG_CREATE", value = "false" },
        { name = "GF_ANALYTICS_REPORTING_ENABLED", value = "false" },
        { name = "GF_ANALYTICS_CHECK_FOR_UPDATES", value = "false" },
        { name = "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", value = "false" },
        { name = "GF_PLUGINS_PREINSTALL_DISABLED", value = "true" },
        { name = "GF_LOG_MODE", value = "console" },
        { name = "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", value = "/etc/grafana/dashboards/activelog-overview.json" },
      ]
      secrets = [
        { name = "GF_SECURITY_ADMIN_PASSWORD", valueFrom = aws_secretsmanager_secret.grafana_admin.arn },
      ]
      mountPoints = [
        { sourceVolume = "grafana-data", containerPath = "/var/lib/grafana", readOnly = false },
        { sourceVolume = "grafana-logs", containerPath = "/var/log/grafana", readOnly = false },
        { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
      ]
      healthCheck = {
        command     = ["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:${local.grafana_port}/api/health"]
        interval    = 30
        timeout     = 5
        retries     = 3
        startPeriod = 60
      }
      stopTimeout = 30
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.main["grafana"].name
          awslogs-region        = local.region
          awslogs-stream-prefix = "grafana"
        }
      }
    },
  ]
}

resource "aws_ecs_task_definition" "grafana" {
  family                   = "${local.name}-grafana"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.grafana_cpu)
  memory                   = tostring(var.grafana_memory)
  execution_role_arn       = aws_iam_role.grafana_execution.arn
  container_definitions    = jsonencode(local.grafana_container_definitions)

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # Grafana's SQLite database, sessions and caches: task ephemeral storage on purpose. Data source
  # and dashboards are provisioned from the image and the admin password comes from Secrets
  # Manager at every start, so a new task is complete; only UI-made changes would be lost, and
  # provisioned dashboards cannot be saved from the UI anyway (README, "Monitoring in AWS").
  volume {
    name = "grafana-data"
  }

  # GF_LOG_MODE=console logs to stdout; Grafana still expects its logs directory to be writable.
  volume {
    name = "grafana-logs"
  }

  volume {
    name = "tmp"
  }
}

resource "aws_ecs_service" "grafana" {
  name             = "grafana"
  cluster          = aws_ecs_cluster.main.id
  task_definition  = aws_ecs_task_definition.grafana.arn
  desired_count    = 1
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 120

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  deployment_controller {
    type = "ECS"
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.grafana.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.grafana.arn
    container_name   = "grafana"
    container_port   = local.grafana_port
  }

  enable_execute_command  = false
  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"
  wait_for_steady_state   = false

  depends_on = [
    aws_lb_listener_rule.grafana,
    aws_iam_role_policy.grafana_execution,
  ]
}
