# Security groups, chained: internet -> ALB (80/443) -> web tasks (8080) -> RDS (5432) / Redis (6379).
# Monitoring (monitoring.tf): ALB -> Grafana (3000) -> Prometheus (9090) -> web (8080) / worker (9808)
# metrics, and the exporters in the Prometheus task -> RDS / Redis; Prometheus -> EFS (2049).
# Only the ALB accepts traffic from the internet. Groups are declared without inline rules (so that
# Terraform also removes the default allow-all egress) and every rule is its own resource.

resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "Public ALB: HTTPS (and HTTP for the redirect) from anywhere; forwards to web tasks only"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name}-alb" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "web" {
  name        = "${local.name}-web"
  description = "Web tasks: 8080 from the ALB and the Prometheus task only"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name}-web" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "worker" {
  name        = "${local.name}-worker"
  description = "Celery worker and one-off tasks (migrations, cleanup, db-bootstrap): worker metrics 9808 from Prometheus only"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name}-worker" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "rds" {
  name        = "${local.name}-rds"
  description = "PostgreSQL: 5432 from the application tasks, postgres-exporter and the rotation Lambda only"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name}-rds" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "redis" {
  name        = "${local.name}-redis"
  description = "Redis: 6379 from the application tasks and redis-exporter only"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name}-redis" }

  lifecycle {
    create_before_destroy = true
  }
}

# Attach this group to the Secrets Manager rotation Lambda of the app DB user (see README).
resource "aws_security_group" "db_rotation" {
  #checkov:skip=CKV2_AWS_5: attached to the rotation Lambda, which is deployed from the AWS Serverless Application Repository outside this stack (README).
  name        = "${local.name}-db-rotation"
  description = "Secrets Manager rotation Lambda: reaches PostgreSQL and the Secrets Manager API; no inbound"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name}-db-rotation" }

  lifecycle {
    create_before_destroy = true
  }
}

# --- ALB --------------------------------------------------------------------------------------

locals {
  internet = {
    ipv4 = { cidr_ipv4 = "0.0.0.0/0", cidr_ipv6 = null }
    ipv6 = { cidr_ipv4 = null, cidr_ipv6 = "::/0" }
  }
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = local.internet

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from the internet (${each.key})"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value.cidr_ipv4
  cidr_ipv6         = each.value.cidr_ipv6
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  #checkov:skip=CKV_AWS_260: port 80 is open on purpose: the HTTP listener only answers 301 to HTTPS.
  for_each = local.internet

  security_group_id = aws_security_group.alb.id
  description       = "HTTP from the internet (${each.key}), answered with a 301 to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value.cidr_ipv4
  cidr_ipv6         = each.value.cidr_ipv6
}

resource "aws_vpc_security_group_egress_rule" "alb_to_web" {
  security_group_id            = aws_security_group.alb.id
  description                  = "Forward requests and health checks to web tasks"
  ip_protocol                  = "tcp"
  from_port                    = local.app_port
  to_port                      = local.app_port
  referenced_security_group_id = aws_security_group.web.id
}

# --- Web tasks --------------------------------------------------------------------------------

resource "aws_vpc_security_group_ingress_rule" "web_from_alb" {
  security_group_id            = aws_security_group.web.id
  description                  = "gunicorn from the ALB"
  ip_protocol                  = "tcp"
  from_port                    = local.app_port
  to_port                      = local.app_port
  referenced_security_group_id = aws_security_group.alb.id
}

# The Prometheus task scrapes /metrics on 8080 of every web task directly (the ALB never routes
# /metrics), and the Celery worker's metrics endpoint on 9808 (CELERY_METRICS_PORT).
resource "aws_vpc_security_group_ingress_rule" "web_from_prometheus" {
  security_group_id            = aws_security_group.web.id
  description                  = "Prometheus scrape of /metrics"
  ip_protocol                  = "tcp"
  from_port                    = local.app_port
  to_port                      = local.app_port
  referenced_security_group_id = aws_security_group.prometheus.id
}

resource "aws_vpc_security_group_ingress_rule" "worker_from_prometheus" {
  security_group_id            = aws_security_group.worker.id
  description                  = "Prometheus scrape of the Celery worker's metrics"
  ip_protocol                  = "tcp"
  from_port                    = local.worker_metrics_port
  to_port                      = local.worker_metrics_port
  referenced_security_group_id = aws_security_group.prometheus.id
}

# --- Egress shared by the web and worker tasks --------------------------------------------------

locals {
  task_security_groups = {
    web    = aws_security_group.web.id
    worker = aws_security_group.worker.id
  }
}

# AWS APIs (ECR, Secrets Manager, CloudWatch Logs, X-Ray, S3) over HTTPS, through the NAT gateway
# or the S3 gateway endpoint. Nothing else leaves the tasks.
resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  for_each = local.task_security_groups

  security_group_id = each.value
  description       = "HTTPS to AWS APIs (ECR, Secrets Manager, Logs, X-Ray, S3)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "tasks_to_rds" {
  for_each = local.task_security_groups

  security_group_id            = each.value
  description                  = "PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.rds.id
}

resource "aws_vpc_security_group_egress_rule" "tasks_to_redis" {
  for_each = local.task_security_groups

  security_group_id            = each.value
  description                  = "Redis (TLS)"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.redis.id
}

# --- Data stores ------------------------------------------------------------------------------

resource "aws_vpc_security_group_ingress_rule" "rds_from_tasks" {
  for_each = local.task_security_groups

  security_group_id            = aws_security_group.rds.id
  description                  = "PostgreSQL from ${each.key} tasks"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_ingress_rule" "rds_from_prometheus" {
  security_group_id            = aws_security_group.rds.id
  description                  = "PostgreSQL from postgres-exporter (Prometheus task)"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.prometheus.id
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_prometheus" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from redis-exporter (Prometheus task)"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.prometheus.id
}

resource "aws_vpc_security_group_ingress_rule" "rds_from_rotation" {
  security_group_id            = aws_security_group.rds.id
  description                  = "PostgreSQL from the Secrets Manager rotation Lambda"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.db_rotation.id
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_tasks" {
  for_each = local.task_security_groups

  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from ${each.key} tasks"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = each.value
}

# --- Rotation Lambda --------------------------------------------------------------------------

resource "aws_vpc_security_group_egress_rule" "rotation_to_rds" {
  security_group_id            = aws_security_group.db_rotation.id
  description                  = "PostgreSQL (ALTER ROLE ... PASSWORD)"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.rds.id
}

resource "aws_vpc_security_group_egress_rule" "rotation_https" {
  security_group_id = aws_security_group.db_rotation.id
  description       = "HTTPS to the Secrets Manager API (through the NAT gateway)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# --- Monitoring (monitoring.tf) ---------------------------------------------------------------

resource "aws_security_group" "prometheus" {
  name        = "${local.name}-prometheus"
  description = "Prometheus task: 9090 from Grafana; scrapes web/worker, exporters reach RDS/Redis, TSDB on EFS"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name}-prometheus" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "grafana" {
  name        = "${local.name}-grafana"
  description = "Grafana tasks: 3000 from the ALB only; queries Prometheus on 9090"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name}-grafana" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "efs" {
  name        = "${local.name}-efs"
  description = "EFS mount targets of the Prometheus TSDB: NFS (2049) from the Prometheus task only"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name}-efs" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "alb_to_grafana" {
  security_group_id            = aws_security_group.alb.id
  description                  = "Forward monitoring.<domain> requests and health checks to Grafana"
  ip_protocol                  = "tcp"
  from_port                    = local.grafana_port
  to_port                      = local.grafana_port
  referenced_security_group_id = aws_security_group.grafana.id
}

resource "aws_vpc_security_group_ingress_rule" "grafana_from_alb" {
  security_group_id            = aws_security_group.grafana.id
  description                  = "Grafana from the ALB"
  ip_protocol                  = "tcp"
  from_port                    = local.grafana_port
  to_port                      = local.grafana_port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_egress_rule" "grafana_to_prometheus" {
  security_group_id            = aws_security_group.grafana.id
  description                  = "Grafana's data source queries"
  ip_protocol                  = "tcp"
  from_port                    = local.prometheus_port
  to_port                      = local.prometheus_port
  referenced_security_group_id = aws_security_group.prometheus.id
}

resource "aws_vpc_security_group_ingress_rule" "prometheus_from_grafana" {
  security_group_id            = aws_security_group.prometheus.id
  description                  = "Prometheus HTTP API from Grafana"
  ip_protocol                  = "tcp"
  from_port                    = local.prometheus_port
  to_port                      = local.prometheus_port
  referenced_security_group_id = aws_security_group.grafana.id
}

# What the Prometheus task reaches: the scrape targets, the data stores (exporters), its EFS.
locals {
  prometheus_egress = {
    web    = { port = local.app_port, group = aws_security_group.web.id, what = "scrape web tasks (/metrics)" }
    worker = { port = local.worker_metrics_port, group = aws_security_group.worker.id, what = "scrape worker tasks (Celery metrics)" }
    rds    = { port = 5432, group = aws_security_group.rds.id, what = "postgres-exporter -> PostgreSQL" }
    redis  = { port = 6379, group = aws_security_group.redis.id, what = "redis-exporter -> Redis (TLS)" }
    efs    = { port = 2049, group = aws_security_group.efs.id, what = "NFS (TLS) to the TSDB file system" }
  }
}

resource "aws_vpc_security_group_egress_rule" "prometheus" {
  for_each = local.prometheus_egress

  security_group_id            = aws_security_group.prometheus.id
  description                  = each.value.what
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = each.value.group
}

resource "aws_vpc_security_group_ingress_rule" "efs_from_prometheus" {
  security_group_id            = aws_security_group.efs.id
  description                  = "NFS from the Prometheus task"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = aws_security_group.prometheus.id
}

# AWS APIs over HTTPS through the NAT gateway, like the application tasks: ECR (images), Secrets
# Manager (secrets at start), CloudWatch Logs, the ECS API (discovery), EFS mount helper IAM auth.
# Public images (the exporters) come from their registries over HTTPS as well.
locals {
  monitoring_security_groups = {
    prometheus = aws_security_group.prometheus.id
    grafana    = aws_security_group.grafana.id
  }
}

resource "aws_vpc_security_group_egress_rule" "monitoring_https" {
  for_each = local.monitoring_security_groups

  security_group_id = each.value
  description       = "HTTPS to AWS APIs and image registries"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}
