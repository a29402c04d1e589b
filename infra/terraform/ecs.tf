# ECS on Fargate: the cluster, the web (gunicorn, behind the ALB) and worker (Celery) services,
# their first task definitions, autoscaling, the Cloud Map namespace, the daily cleanup_exports
# task and the one-off db-bootstrap task. Prometheus and Grafana are in monitoring.tf.
#
# Task definitions: the container definitions are the templates in ../ecs/ (shared with the
# deploy script, which registers a new revision per release). Terraform registers the first
# revision; the services ignore later task_definition changes so that `terraform apply` never
# rolls back a deploy.

resource "aws_ecs_cluster" "main" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  configuration {
    execute_command_configuration {
      kms_key_id = aws_kms_key.main.arn
      logging    = "OVERRIDE"

      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.main["exec"].name
      }
    }
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

# --- Cloud Map ----------------------------------------------------------------------------------
# The private namespace holds prometheus.<namespace> (Grafana's data source, monitoring.tf) and
# web.<namespace>, the healthy web tasks (for people and tools inside the VPC). Prometheus does NOT
# scrape through it: a MULTIVALUE answer carries at most 8 addresses and unhealthy tasks leave DNS;
# it asks the ECS API instead (infra/prometheus/discovery).

resource "aws_service_discovery_private_dns_namespace" "main" {
  name        = var.service_discovery_namespace
  description = "${local.name}: private service discovery (Grafana finds Prometheus here)"
  vpc         = aws_vpc.main.id
}

resource "aws_service_discovery_service" "web" {
  name = "web"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.main.id
    routing_policy = "MULTIVALUE"

    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  # ECS reports container health to Cloud Map: unhealthy tasks leave DNS.
  health_check_custom_config {
    failure_threshold = 1
  }
}

# --- Task definitions -------------------------------------------------------------------------

locals {
  ecs_template_dir = "${path.module}/../ecs"

  # Variables of the container-definition templates (infra/ecs/*.json.tpl). Also exported as the
  # output ecs_template_variables for the deploy script (it replaces image and app_version).
  ecs_template_variables = {
    image                        = local.image
    app_version                  = var.image_tag
    app_name                     = var.project
    aws_region                   = local.region
    allowed_hosts                = var.domain_name
    csrf_trusted_origins         = "https://${var.domain_name}"
    media_bucket                 = aws_s3_bucket.media.id
    app_log_group                = aws_cloudwatch_log_group.main["app"].name
    web_log_group                = aws_cloudwatch_log_group.main["web"].name
    worker_log_group             = aws_cloudwatch_log_group.main["worker"].name
    otel_sdk_disabled            = var.enable_adot ? "false" : "true"
    adot_image                   = var.adot_image
    gunicorn_workers             = tostring(var.gunicorn_workers)
    gunicorn_threads             = tostring(var.gunicorn_threads)
    database_pool_max_size       = tostring(var.database_pool_max_size)
    worker_concurrency           = tostring(var.worker_concurrency)
    django_secret_key_secret_arn = aws_secretsmanager_secret.app["DJANGO_SECRET_KEY"].arn
    jwt_signing_key_secret_arn   = aws_secretsmanager_secret.app["JWT_SIGNING_KEY"].arn
    database_url_secret_arn      = aws_secretsmanager_secret.app["DATABASE_URL"].arn
    redis_url_secret_arn         = aws_secretsmanager_secret.app["REDIS_URL"].arn
    celery_broker_url_secret_arn = aws_secretsmanager_secret.app["CELERY_BROKER_URL"].arn
    metrics_token_secret_arn     = aws_secretsmanager_secret.app["METRICS_TOKEN"].arn
    app_db_secret_arn            = aws_secretsmanager_secret.app_db.arn
  }

  web_template_variables    = merge(local.ecs_template_variables, { log_group = local.ecs_template_variables.web_log_group })
  worker_template_variables = merge(local.ecs_template_variables, { log_group = local.ecs_template_variables.worker_log_group })

  # The optional ADOT collector sidecar (OTLP on localhost:4317/4318 -> X-Ray).
  web_adot_container    = var.enable_adot ? [jsondecode(templatefile("${local.ecs_template_dir}/adot.container.json.tpl", local.web_template_variables))] : []
  worker_adot_container = var.enable_adot ? [jsondecode(templatefile("${local.ecs_template_dir}/adot.container.json.tpl", local.worker_template_variables))] : []

  web_container_definitions = concat(
    jsondecode(templatefile("${local.ecs_template_dir}/web.containers.json.tpl", local.web_template_variables)),
    local.web_adot_container,
  )
  worker_container_definitions = concat(
    jsondecode(templatefile("${local.ecs_template_dir}/worker.containers.json.tpl", local.worker_template_variables)),
    local.worker_adot_container,
  )
}

resource "aws_ecs_task_definition" "web" {
  family                   = "${local.name}-web"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.web_cpu)
  memory                   = tostring(var.web_memory)
  execution_role_arn       = aws_iam_role.ecs_execution.arn
  task_role_arn            = aws_iam_role.ecs_task.arn
  container_definitions    = jsonencode(local.web_container_definitions)

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # Writable scratch space for the read-only root filesystem: /tmp (Prometheus multiprocess
  # files, gunicorn heartbeat).
  volume {
    name = "tmp"
  }

  # Old revisions stay registered: they are the rollback targets of the deploy script.
  skip_destroy = true

  lifecycle {
    precondition {
      condition     = !var.enable_adot || var.web_memory >= 1024
      error_message = "The ADOT sidecar needs web_memory >= 1024 (MiB) next to gunicorn."
    }
  }
}

resource "aws_ecs_task_definition" "worker" {
  family                   = "${local.name}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.worker_cpu)
  memory                   = tostring(var.worker_memory)
  execution_role_arn       = aws_iam_role.ecs_execution.arn
  task_role_arn            = aws_iam_role.ecs_task.arn
  container_definitions    = jsonencode(local.worker_container_definitions)

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  skip_destroy = true

  lifecycle {
    precondition {
      condition     = !var.enable_adot || var.worker_memory >= 1024
      error_message = "The ADOT sidecar needs worker_memory >= 1024 (MiB) next to Celery."
    }
  }
}

# --- Services ---------------------------------------------------------------------------------

resource "aws_ecs_service" "web" {
  name             = "web"
  cluster          = aws_ecs_cluster.main.id
  task_definition  = aws_ecs_task_definition.web.arn
  desired_count    = var.web_desired_count
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  # Rolling deploy: new tasks must pass the ALB health check before old ones stop; a deploy whose
  # tasks never become healthy is stopped and rolled back to the last steady revision.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = var.web_health_check_grace_period

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  deployment_controller {
    type = "ECS"
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.web.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.web.arn
    container_name   = local.web_container_name
    container_port   = local.app_port
  }

  service_registries {
    registry_arn = aws_service_discovery_service.web.arn
  }

  enable_execute_command  = var.enable_execute_command
  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"
  wait_for_steady_state   = false

  depends_on = [
    aws_lb_listener.https,
    aws_iam_role_policy.ecs_execution,
    aws_iam_role_policy.ecs_task,
  ]

  lifecycle {
    # The deploy script registers new revisions; autoscaling owns the task count.
    ignore_changes = [task_definition, desired_count]
  }
}

resource "aws_ecs_service" "worker" {
  name             = "worker"
  cluster          = aws_ecs_cluster.main.id
  task_definition  = aws_ecs_task_definition.worker.arn
  desired_count    = var.worker_desired_count
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  deployment_controller {
    type = "ECS"
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.worker.id]
    assign_public_ip = false
  }

  enable_execute_command  = var.enable_execute_command
  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"
  wait_for_steady_state   = false

  depends_on = [
    aws_iam_role_policy.ecs_execution,
    aws_iam_role_policy.ecs_task,
  ]

  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }
}

# --- Autoscaling: target tracking on average CPU ------------------------------------------------

resource "aws_appautoscaling_target" "web" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.web.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.web_min_count
  max_capacity       = var.web_max_count
}

resource "aws_appautoscaling_policy" "web_cpu" {
  name               = "${local.name}-web-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.web.service_namespace
  resource_id        = aws_appautoscaling_target.web.resource_id
  scalable_dimension = aws_appautoscaling_target.web.scalable_dimension

  target_tracking_scaling_policy_configuration {
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }

    target_value       = var.web_cpu_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300
  }
}

resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.worker.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.worker_min_count
  max_capacity       = var.worker_max_count
}

resource "aws_appautoscaling_policy" "worker_cpu" {
  name               = "${local.name}-worker-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension

  target_tracking_scaling_policy_configuration {
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }

    target_value       = var.worker_cpu_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300
  }
}

# --- Daily cleanup_exports (EventBridge -> ECS RunTask, latest web revision) ---------------------

resource "aws_cloudwatch_event_rule" "cleanup_exports" {
  name                = "${local.name}-cleanup-exports"
  description         = "Daily: python manage.py cleanup_exports on the latest web task definition"
  schedule_expression = var.cleanup_schedule_expression
}

resource "aws_cloudwatch_event_target" "cleanup_exports" {
  rule      = aws_cloudwatch_event_rule.cleanup_exports.name
  target_id = "cleanup-exports"
  arn       = aws_ecs_cluster.main.arn
  role_arn  = aws_iam_role.events_run_task.arn

  input = jsonencode({
    containerOverrides = [
      {
        name    = local.web_container_name
        command = ["python", "manage.py", "cleanup_exports"]
      },
    ]
  })

  ecs_target {
    # Without a revision: RunTask uses the latest ACTIVE revision, i.e. the current release.
    task_definition_arn = aws_ecs_task_definition.web.arn_without_revision
    task_count          = 1
    launch_type         = "FARGATE"
    platform_version    = "LATEST"

    network_configuration {
      subnets          = aws_subnet.private[*].id
      security_groups  = [aws_security_group.worker.id] # no inbound: nothing to serve
      assign_public_ip = false
    }
  }

  retry_policy {
    maximum_retry_attempts       = 2
    maximum_event_age_in_seconds = 3600
  }
}

# --- db-bootstrap: one-off task that creates the application database user ----------------------
# Run once after the first apply (README.md, "Bootstrap"), and again whenever in doubt: it only
# creates what is missing and never changes an existing password (rotation owns that).
#  - <app user> LOGIN, password from app-db-credentials; owner of the application database, so that
#    migrations can create tables in the public schema (PostgreSQL 15+ no longer allows that to
#    everyone).
#  - <app user>_clone, the second user of the alternating-users rotation, member of <app user>
#    and with `SET role` so that objects it creates (migrations) are owned by <app user> as well.
#  - <monitoring user> LOGIN, password from monitoring-db-credentials, member of pg_monitor (reads
#    the statistics views, nothing of the application's data), at most 3 connections: the login
#    of postgres-exporter (monitoring.tf). Its password is set on every run from the secret (no
#    rotation owns it), so after `terraform apply -replace=random_password.monitoring_db` run
#    db-bootstrap again, then redeploy the prometheus service.
#  Passwords never appear in a logged statement: log_statement = ddl (rds.tf) writes every DDL
#  statement the client sends to the PostgreSQL log, and pg_stat_statements keeps their text. So
#  the passwords travel in a SELECT of set_config (not DDL; pg_stat_statements replaces its
#  constants), \gset keeps its result off stdout, and the roles are created and altered by EXECUTE
#  inside a DO block, which neither of them records. The server hashes them (SCRAM-SHA-256).
#  - the pg_stat_statements extension in the application database (the library is preloaded by
#    the parameter group in rds.tf; its views answer once the instance has rebooted with it).

locals {
  db_bootstrap_script = <<-EOT
    set -eu
    psql -v ON_ERROR_STOP=1 -v app_user="$APP_DB_USER" -v app_password="$APP_DB_PASSWORD" -v db_name="$PGDATABASE" \
      -v monitoring_user="$MONITORING_DB_USER" -v monitoring_password="$MONITORING_DB_PASSWORD" <<'SQL'
    SELECT set_config('bootstrap.app_user', :'app_user', false) AS _app_user,
           set_config('bootstrap.app_password', :'app_password', false) AS _app_password,
           set_config('bootstrap.monitoring_user', :'monitoring_user', false) AS _monitoring_user,
           set_config('bootstrap.monitoring_password', :'monitoring_password', false) AS _monitoring_password \gset
    DO $bootstrap$
    DECLARE
      app_user text := current_setting('bootstrap.app_user');
      monitoring_user text := current_setting('bootstrap.monitoring_user');
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = app_user) THEN
        EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', app_user, current_setting('bootstrap.app_password'));
      END IF;
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = app_user || '_clone') THEN
        EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE %I', app_user || '_clone',
                       md5(random()::text || clock_timestamp()::text) || md5(random()::text), app_user);
      END IF;
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = monitoring_user) THEN
        EXECUTE format('CREATE ROLE %I LOGIN', monitoring_user);
      END IF;
      EXECUTE format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE CONNECTION LIMIT 3 PASSWORD %L',
                     monitoring_user, current_setting('bootstrap.monitoring_password'));
    EXCEPTION WHEN OTHERS THEN
      -- Not the error's own text or context: they can quote the statement, password included.
      RAISE EXCEPTION 'db-bootstrap: creating the login roles failed (SQLSTATE %)', SQLSTATE;
    END
    $bootstrap$;
    RESET bootstrap.app_password;
    RESET bootstrap.monitoring_password;
    SELECT format('ALTER ROLE %I SET role = %L', :'app_user' || '_clone', :'app_user') \gexec
    SELECT format('GRANT %I TO CURRENT_USER', :'app_user')
     WHERE NOT pg_has_role(current_user, :'app_user', 'MEMBER') \gexec
    SELECT format('ALTER DATABASE %I OWNER TO %I', :'db_name', :'app_user') \gexec
    SELECT format('GRANT pg_monitor TO %I', :'monitoring_user') \gexec
    CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
    SQL
    echo "db-bootstrap: application database user ready"
    echo "db-bootstrap: monitoring user and pg_stat_statements ready"
  EOT
}

resource "aws_ecs_task_definition" "db_bootstrap" {
  family                   = "${local.name}-db-bootstrap"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "256"
  memory                   = "512"
  execution_role_arn       = aws_iam_role.db_bootstrap_execution.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name                   = "db-bootstrap"
      image                  = var.db_bootstrap_image
      essential              = true
      user                   = "70:70" # postgres user of the alpine image
      readonlyRootFilesystem = true
      privileged             = false
      command                = ["sh", "-c", local.db_bootstrap_script]
      environment = [
        { name = "PGHOST", value = aws_db_instance.main.address },
        { name = "PGPORT", value = tostring(aws_db_instance.main.port) },
        { name = "PGDATABASE", value = var.db_name },
        { name = "PGSSLMODE", value = "require" },
        { name = "PGCONNECT_TIMEOUT", value = "10" },
        { name = "APP_DB_USER", value = var.db_app_username },
        { name = "MONITORING_DB_USER", value = var.db_monitoring_username },
      ]
      secrets = [
        { name = "PGUSER", valueFrom = "${aws_db_instance.main.master_user_secret[0].secret_arn}:username::" },
        { name = "PGPASSWORD", valueFrom = "${aws_db_instance.main.master_user_secret[0].secret_arn}:password::" },
        { name = "APP_DB_PASSWORD", valueFrom = "${aws_secretsmanager_secret.app_db.arn}:password::" },
        { name = "MONITORING_DB_PASSWORD", valueFrom = "${aws_secretsmanager_secret.monitoring_db.arn}:password::" },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.main["ops"].name
          awslogs-region        = local.region
          awslogs-stream-prefix = "db-bootstrap"
        }
      }
    },
  ])
}
