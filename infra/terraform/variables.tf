# --- Naming and placement ---------------------------------------------------------------------

variable "project" {
  description = "Short project name, used as the prefix of every resource name."
  type        = string
  default     = "activelog"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.project))
    error_message = "project must be 2-16 lowercase letters, digits or hyphens, starting with a letter (ALB and target group names are limited to 32 characters)."
  }
}

variable "environment" {
  description = "Environment name (prod, staging, ...); part of every resource name."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,7}$", var.environment))
    error_message = "environment must be 2-8 lowercase letters or digits, starting with a letter."
  }
}

variable "region" {
  description = "AWS region for the whole stack."
  type        = string
  default     = "us-east-1"
}

variable "tags" {
  description = "Extra tags added to every resource (on top of Project/Environment/ManagedBy)."
  type        = map(string)
  default     = {}
}

# --- DNS and TLS ------------------------------------------------------------------------------

variable "domain_name" {
  description = "Public host name of the application, e.g. app.example.com (A/AAAA alias to the ALB)."
  type        = string
}

variable "hosted_zone_name" {
  description = "Existing public Route 53 hosted zone that contains domain_name, e.g. example.com."
  type        = string
}

# --- Network ----------------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC; /16 recommended (subnets are /24 slices of it)."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be a valid IPv4 CIDR of size /20 or larger."
  }
}

variable "availability_zones" {
  description = "Availability zone names to use (2 or 3), pinned so the subnets never move. Empty: <region>a and <region>b (and <region>c when az_count = 3)."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || (length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3)
    error_message = "availability_zones must be empty or list 2-3 zone names."
  }
}

variable "az_count" {
  description = "Number of availability zones when availability_zones is empty (each AZ gets a public, a private and a data subnet)."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "az_count must be 2 or 3 (Multi-AZ RDS and ElastiCache need at least 2)."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper, but an AZ outage cuts egress for the others)."
  type        = bool
  default     = false
}

variable "service_discovery_namespace" {
  description = "Private Cloud Map DNS namespace: prometheus.<namespace> is Grafana's data source; web tasks also register as web.<namespace> (A records, not used for scraping)."
  type        = string
  default     = "activelog.internal"
}

# --- Container image and ECS sizing -----------------------------------------------------------

variable "image_tag" {
  description = "Image tag (git SHA) used for the task definitions Terraform registers; later revisions come from the deploy script."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be a valid, immutable Docker tag (not 'latest'), normally the git SHA."
  }
}

variable "cpu_architecture" {
  description = "Fargate CPU architecture of the image: X86_64 or ARM64."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "web_cpu" {
  description = "Fargate CPU units of a web task (256 = 0.25 vCPU)."
  type        = number
  default     = 256
}

variable "web_memory" {
  description = "Fargate memory (MiB) of a web task."
  type        = number
  default     = 512
}

variable "worker_cpu" {
  description = "Fargate CPU units of a worker task."
  type        = number
  default     = 256
}

variable "worker_memory" {
  description = "Fargate memory (MiB) of a worker task."
  type        = number
  default     = 512
}

variable "web_desired_count" {
  description = "Initial number of web tasks (autoscaling owns it afterwards)."
  type        = number
  default     = 2
}

variable "web_min_count" {
  description = "Autoscaling minimum of web tasks."
  type        = number
  default     = 2
}

variable "web_max_count" {
  description = "Autoscaling maximum of web tasks (budgeted against RDS max_connections)."
  type        = number
  default     = 10
}

variable "web_cpu_target" {
  description = "Target average CPU utilisation (%) of the web service for target tracking."
  type        = number
  default     = 70
}

variable "worker_desired_count" {
  description = "Initial number of Celery worker tasks."
  type        = number
  default     = 2
}

variable "worker_min_count" {
  description = "Autoscaling minimum of worker tasks."
  type        = number
  default     = 2
}

variable "worker_max_count" {
  description = "Autoscaling maximum of worker tasks (budgeted against RDS max_connections)."
  type        = number
  default     = 4
}

variable "worker_cpu_target" {
  description = "Target average CPU utilisation (%) of the worker service."
  type        = number
  default     = 70
}

# Sizing (README, Performance): two processes per task survive one crashing and, with the
# balanced worker (activelog/gunicorn_worker.py), share the ALB's keep-alive connections instead of
# one holding them all; four threads each overlap the waits on PostgreSQL and Redis. Under
# make bench-load the master and two workers stayed at 275-290 MiB RSS, which leaves about 220 MiB
# of the 512 MiB task for photo decodes (a 12-megapixel JPEG needs ~36 MB). Keep one process per
# vCPU when raising web_cpu above 1024, and database_pool_max_size >= gunicorn_threads.
variable "gunicorn_workers" {
  description = "gunicorn processes per web task (GUNICORN_WORKERS); one per vCPU above 1 vCPU, at least 2."
  type        = number
  default     = 2
}

variable "gunicorn_threads" {
  description = "gunicorn gthread threads per process (GUNICORN_THREADS)."
  type        = number
  default     = 4
}

variable "database_pool_max_size" {
  description = "psycopg pool max_size per process (DATABASE_POOL_MAX_SIZE); keep >= gunicorn_threads."
  type        = number
  default     = 4
}

variable "worker_concurrency" {
  description = "Celery worker processes per worker task (--concurrency)."
  type        = number
  default     = 2
}

variable "web_health_check_grace_period" {
  description = "Seconds ECS ignores failing ALB health checks after a web task starts."
  type        = number
  default     = 60
}

variable "enable_adot" {
  description = "Add the AWS Distro for OpenTelemetry collector sidecar (OTLP in, X-Ray out) to the web and worker tasks (needs web_memory and worker_memory >= 1024)."
  type        = bool
  default     = false
}

variable "adot_image" {
  description = "ADOT collector image (pinned tag)."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.1"
}

variable "enable_execute_command" {
  description = "Allow ECS Exec (aws ecs execute-command) into tasks; sessions are logged and KMS-encrypted."
  type        = bool
  default     = false
}

variable "cleanup_schedule_expression" {
  description = "EventBridge schedule of `manage.py cleanup_exports` (UTC)."
  type        = string
  default     = "cron(30 3 * * ? *)"
}

# --- Database ---------------------------------------------------------------------------------

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_engine_version" {
  description = "PostgreSQL major (or major.minor) version; minor upgrades are automatic."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^16(\\.[0-9]+)?$", var.db_engine_version))
    error_message = "This stack is written for PostgreSQL 16 (parameter group family postgres16)."
  }
}

variable "db_allocated_storage" {
  description = "Initial RDS storage (GiB)."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage" {
  description = "Storage autoscaling ceiling (GiB)."
  type        = number
  default     = 100
}

variable "db_name" {
  description = "Application database name."
  type        = string
  default     = "activelog"
}

variable "db_master_username" {
  description = "RDS master user name (its password is managed and rotated by RDS in Secrets Manager)."
  type        = string
  default     = "activelog_admin"
}

variable "db_app_username" {
  description = "Application database user (created by the db-bootstrap task; see README)."
  type        = string
  default     = "activelog_app"
}

variable "db_backup_retention_days" {
  description = "Automated backup retention (days); enables point-in-time recovery."
  type        = number
  default     = 14

  validation {
    condition     = var.db_backup_retention_days >= 7 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 7 and 35."
  }
}

variable "db_max_connections" {
  description = "PostgreSQL max_connections; must cover the connection budget computed in rds.tf."
  type        = number
  default     = 200
}

variable "db_iam_auth_enabled" {
  description = "Enable IAM database authentication (optional; the app uses the password user)."
  type        = bool
  default     = true
}

variable "db_rotation_lambda_arn" {
  description = "ARN of the Secrets Manager rotation Lambda for the app DB user (SAR SecretsManagerRDSPostgreSQLRotationMultiUser). null = no rotation yet (see README)."
  type        = string
  default     = null
}

variable "db_rotation_days" {
  description = "Rotate the application DB user's password every N days."
  type        = number
  default     = 30
}

variable "db_bootstrap_image" {
  description = "Image with psql used by the one-off db-bootstrap task (creates the application DB user)."
  type        = string
  default     = "public.ecr.aws/docker/library/postgres:16-alpine"
}

variable "db_monitoring_username" {
  description = "Read-only PostgreSQL login of postgres-exporter (pg_monitor; created by the db-bootstrap task)."
  type        = string
  default     = "activelog_monitoring"
}

# --- Redis ------------------------------------------------------------------------------------

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "redis_engine_version" {
  description = "Redis engine version."
  type        = string
  default     = "7.1"
}

variable "redis_num_cache_clusters" {
  description = "Nodes in the replication group (primary + replicas)."
  type        = number
  default     = 2

  validation {
    condition     = var.redis_num_cache_clusters >= 2
    error_message = "Automatic failover and Multi-AZ need at least 2 nodes."
  }
}

# --- Storage, logs, WAF -----------------------------------------------------------------------

variable "exports_expiration_days" {
  description = "Objects under exports/ in the media bucket expire after N days."
  type        = number
  default     = 7
}

variable "noncurrent_version_expiration_days" {
  description = "Overwritten/deleted media versions are kept this many days (restore window)."
  type        = number
  default     = 30
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention (days)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention value CloudWatch Logs accepts."
  }
}

variable "access_logs_expiration_days" {
  description = "ALB access logs and S3 server access logs expire after N days."
  type        = number
  default     = 365
}

variable "enable_waf" {
  description = "Attach an AWS WAF web ACL (managed rule groups + per-IP rate limit) to the ALB."
  type        = bool
  default     = true
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes per client IP before WAF blocks it."
  type        = number
  default     = 2000
}

# --- Alarms -----------------------------------------------------------------------------------

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm SNS topic (each must confirm the subscription)."
  type        = list(string)
  default     = []
}

variable "alarm_5xx_threshold" {
  description = "ALB + target 5xx responses per 5 minutes that raise the alarm."
  type        = number
  default     = 10
}

variable "alarm_p95_response_time_seconds" {
  description = "p95 target response time (seconds) that raises the alarm."
  type        = number
  default     = 1.5
}

variable "alarm_db_free_storage_bytes" {
  description = "RDS FreeStorageSpace below this raises the alarm."
  type        = number
  default     = 5368709120 # 5 GiB
}

# --- Monitoring (monitoring.tf) ---------------------------------------------------------------

variable "monitoring_image_tag" {
  description = "Tag (git SHA) of the three monitoring images in ECR: <name>/prometheus, <name>/grafana, <name>/ecs-discovery (README, \"Monitoring in AWS\")."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.monitoring_image_tag)) && var.monitoring_image_tag != "latest"
    error_message = "monitoring_image_tag must be a valid, immutable Docker tag (not 'latest'), normally the git SHA."
  }
}

variable "prometheus_retention" {
  description = "How long Prometheus keeps samples (--storage.tsdb.retention.time), e.g. 30d, 8w."
  type        = string
  default     = "30d"

  validation {
    condition     = can(regex("^[0-9]+(h|d|w|y)$", var.prometheus_retention))
    error_message = "prometheus_retention must be a Prometheus duration in hours, days, weeks or years, e.g. 30d."
  }
}

variable "prometheus_discovery_interval" {
  description = "Seconds between two ECS discovery rounds of the Prometheus sidecar (the container health check allows up to 100)."
  type        = number
  default     = 30

  validation {
    condition     = var.prometheus_discovery_interval >= 5 && var.prometheus_discovery_interval <= 100
    error_message = "prometheus_discovery_interval must be between 5 and 100 seconds."
  }
}

variable "prometheus_cpu" {
  description = "Fargate CPU units of the Prometheus task (Prometheus, discovery and two exporters)."
  type        = number
  default     = 512
}

variable "prometheus_memory" {
  description = "Fargate memory (MiB) of the Prometheus task."
  type        = number
  default     = 2048
}

variable "grafana_cpu" {
  description = "Fargate CPU units of the Grafana task."
  type        = number
  default     = 256
}

variable "grafana_memory" {
  description = "Fargate memory (MiB) of the Grafana task."
  type        = number
  default     = 512
}

variable "postgres_exporter_image" {
  description = "postgres_exporter image (pinned tag), a sidecar of the Prometheus task."
  type        = string
  default     = "quay.io/prometheuscommunity/postgres-exporter:v0.20.1" # quay.io: no Docker Hub pull limits
}

variable "redis_exporter_image" {
  description = "redis_exporter image (pinned tag), a sidecar of the Prometheus task."
  type        = string
  default     = "oliver006/redis_exporter:v1.90.0"
}
