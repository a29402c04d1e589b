output "app_url" {
  description = "Public URL of the application."
  value       = "https://${var.domain_name}"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer (the domain is an alias of it)."
  value       = aws_lb.main.dns_name
}

output "ecr_repository_url" {
  description = "Push images here, tagged with the git SHA (tags are immutable)."
  value       = aws_ecr_repository.app.repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster."
  value       = aws_ecs_cluster.main.name
}

output "ecs_services" {
  description = "ECS service names."
  value = {
    web    = aws_ecs_service.web.name
    worker = aws_ecs_service.worker.name
  }
}

output "ecs_task_definition_families" {
  description = "Task definition families (the deploy script registers new revisions in them)."
  value = {
    web          = aws_ecs_task_definition.web.family
    worker       = aws_ecs_task_definition.worker.family
    db_bootstrap = aws_ecs_task_definition.db_bootstrap.family
  }
}

output "ecs_task_role_arns" {
  description = "Execution and task roles referenced by the web/worker task definitions."
  value = {
    execution = aws_iam_role.ecs_execution.arn
    task      = aws_iam_role.ecs_task.arn
  }
}

output "ecs_template_variables" {
  description = "Values of the variables of the container-definition templates in infra/ecs/ (non-secret: secrets are referenced by ARN). The deploy script sets image and app_version per release."
  value       = local.ecs_template_variables
}

output "one_off_task_network" {
  description = "awsvpcConfiguration for one-off tasks (migrations, db-bootstrap): private subnets, the no-inbound worker security group."
  value = {
    subnets        = aws_subnet.private[*].id
    securityGroups = [aws_security_group.worker.id]
    assignPublicIp = "DISABLED"
  }
}

output "private_subnet_ids" {
  description = "Private (task) subnets; also the subnets for the rotation Lambda."
  value       = aws_subnet.private[*].id
}

output "db_rotation_security_group_id" {
  description = "Security group to give the Secrets Manager rotation Lambda (reaches PostgreSQL)."
  value       = aws_security_group.db_rotation.id
}

output "secret_arns" {
  description = "Secrets Manager ARNs (values are never output)."
  value = merge(
    { for name, secret in aws_secretsmanager_secret.app : name => secret.arn },
    {
      REDIS_AUTH_TOKEN          = aws_secretsmanager_secret.redis_auth_token.arn
      APP_DB_CREDENTIALS        = aws_secretsmanager_secret.app_db.arn
      RDS_MASTER                = aws_db_instance.main.master_user_secret[0].secret_arn
      GRAFANA_ADMIN_PASSWORD    = aws_secretsmanager_secret.grafana_admin.arn
      MONITORING_DB_CREDENTIALS = aws_secretsmanager_secret.monitoring_db.arn
    },
  )
}

output "kms_key_arn" {
  description = "Customer-managed key of the stack (secrets, RDS, Redis, media, logs, SNS)."
  value       = aws_kms_key.main.arn
}

output "rds_endpoint" {
  description = "PostgreSQL endpoint (host:port), private."
  value       = aws_db_instance.main.endpoint
}

output "rds_instance_identifier" {
  description = "RDS instance identifier (point-in-time restores start from it)."
  value       = aws_db_instance.main.identifier
}

output "redis_primary_endpoint" {
  description = "Redis primary endpoint, private, TLS only."
  value       = aws_elasticache_replication_group.main.primary_endpoint_address
}

output "media_bucket" {
  description = "Private media bucket (AWS_STORAGE_BUCKET_NAME)."
  value       = aws_s3_bucket.media.id
}

output "logs_bucket" {
  description = "ALB and S3 access logs."
  value       = aws_s3_bucket.logs.id
}

output "log_groups" {
  description = "CloudWatch log groups of the application."
  value       = { for key, group in aws_cloudwatch_log_group.main : key => group.name }
}

output "monitoring_url" {
  description = "Grafana (user admin, password in the grafana-admin-password secret)."
  value       = "https://${local.monitoring_domain}"
}

output "prometheus_internal_url" {
  description = "Prometheus inside the VPC (Cloud Map name; Grafana's data source). Not reachable from outside."
  value       = local.prometheus_url
}

output "monitoring_ecr_repository_urls" {
  description = "Push the monitoring images here, tagged with monitoring_image_tag (tags are immutable)."
  value       = { for name, repository in aws_ecr_repository.monitoring : name => repository.repository_url }
}

output "monitoring_services" {
  description = "ECS services of the monitoring stack."
  value = {
    prometheus = aws_ecs_service.prometheus.name
    grafana    = aws_ecs_service.grafana.name
  }
}

output "alarm_topic_arn" {
  description = "SNS topic of the CloudWatch alarms."
  value       = aws_sns_topic.alarms.arn
}
