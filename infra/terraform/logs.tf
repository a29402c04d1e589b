# CloudWatch log groups. Every group is created here, with retention and KMS encryption, so that no
# AWS service or library auto-creates a never-expiring, unencrypted one. The application never
# creates log groups itself (no logs:CreateLogGroup anywhere in iam.tf).

locals {
  log_groups = {
    # stdout/stderr of the containers, shipped by the awslogs driver (execution role).
    web    = "/ecs/${local.name}/web"
    worker = "/ecs/${local.name}/worker"
    # The same JSON records sent directly by watchtower (task role), one stream per process.
    app = "/${local.name}/app"
    # One-off operational tasks (db-bootstrap).
    ops = "/ecs/${local.name}/ops"
    # ECS Exec session transcripts.
    exec = "/ecs/${local.name}/exec"
    # Monitoring (monitoring.tf): Prometheus and its sidecars (stream prefixes prometheus,
    # ecs-discovery, postgres-exporter, redis-exporter), Grafana.
    prometheus = "/ecs/${local.name}/prometheus"
    grafana    = "/ecs/${local.name}/grafana"
  }
}

resource "aws_cloudwatch_log_group" "main" {
  for_each = local.log_groups

  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_cloudwatch_log_group" "vpc_flow_logs" {
  name              = "/vpc/${local.name}/flow-logs"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

# WAF requires the aws-waf-logs- prefix.
resource "aws_cloudwatch_log_group" "waf" {
  count = var.enable_waf ? 1 : 0

  name              = "aws-waf-logs-${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

# RDS would create these on first export, without retention or encryption.
resource "aws_cloudwatch_log_group" "rds" {
  for_each = toset(["postgresql", "upgrade"])

  name              = "/aws/rds/instance/${local.name}-postgres/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_cloudwatch_log_group" "redis_slow_log" {
  name              = "/elasticache/${local.name}/slow-log"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}
