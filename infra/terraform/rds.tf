# PostgreSQL 16 on RDS: Multi-AZ, encrypted with the stack's CMK, TLS enforced, deletion-protected,
# automated backups with point-in-time recovery, Performance Insights and Enhanced Monitoring.
#
# Connection budget (every process has its own psycopg pool, so connections multiply):
#   web     web_max_count (10) x gunicorn_workers (2) x database_pool_max_size (4)  = 80
#   worker  worker_max_count (4) x worker_concurrency (2) x database_pool_max_size (4) = 32
#   one-off tasks (migrations, cleanup_exports) 2 x 4                                 =  8
#   people, rotation Lambda, db-bootstrap, postgres-exporter (1)                      = 10
#   total with the defaults                                                           = 130 <= max_connections 200
# The precondition on aws_db_instance.main fails the plan if a change to the sizes breaks it.

locals {
  db_connection_budget = (
    var.web_max_count * var.gunicorn_workers * var.database_pool_max_size
    + var.worker_max_count * var.worker_concurrency * var.database_pool_max_size
    + 2 * var.database_pool_max_size
    + 10
  )
}

resource "aws_db_subnet_group" "main" {
  name        = "${local.name}-postgres"
  description = "${local.name}: private data subnets"
  subnet_ids  = aws_subnet.data[*].id
}

resource "aws_db_parameter_group" "main" {
  name_prefix = "${local.name}-postgres16-"
  family      = "postgres16"
  description = "${local.name}: TLS only, connection limit, slow-query logging, pg_stat_statements"

  # Refuse every connection that does not use TLS.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name         = "max_connections"
    value        = tostring(var.db_max_connections)
    apply_method = "pending-reboot"
  }

  # Statements slower than 500 ms, and all DDL, go to the postgresql log (exported to CloudWatch).
  # Parameters are logged as well, so nothing but DDL is logged in full.
  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_lock_waits"
    value = "1"
  }

  # Per-statement statistics for postgres-exporter (--collector.stat_statements): the library is
  # loaded at server start (static: applied at the next reboot), the extension is created in the
  # application database by the db-bootstrap task (ecs.tf). Top-level statements only.
  parameter {
    name         = "shared_preload_libraries"
    value        = "pg_stat_statements"
    apply_method = "pending-reboot"
  }

  parameter {
    name  = "pg_stat_statements.track"
    value = "top"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "main" {
  identifier     = "${local.name}-postgres"
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class
  port           = 5432

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.main.arn

  db_name  = var.db_name
  username = var.db_master_username
  # RDS generates, stores (Secrets Manager, this CMK) and rotates the master password. The app
  # never uses the master user: see secrets.tf (app-db-credentials) and README (db-bootstrap).
  manage_master_user_password   = true
  master_user_secret_kms_key_id = aws_kms_key.main.arn

  iam_database_authentication_enabled = var.db_iam_auth_enabled

  multi_az               = true
  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.rds.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.main.name
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  # Automated backups + transaction logs = point-in-time recovery to any second in the window.
  backup_retention_period  = var.db_backup_retention_days
  backup_window            = "02:00-03:00"
  maintenance_window       = "sun:04:00-sun:05:00"
  copy_tags_to_snapshot    = true
  delete_automated_backups = false

  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.name}-postgres-final"

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.main.arn
  performance_insights_retention_period = 7

  monitoring_interval = 60
  monitoring_role_arn = aws_iam_role.rds_monitoring.arn

  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]

  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false
  apply_immediately           = false

  tags = { Name = "${local.name}-postgres" }

  depends_on = [aws_cloudwatch_log_group.rds]

  lifecycle {
    precondition {
      condition     = local.db_connection_budget <= var.db_max_connections
      error_message = "The worst-case connection count (autoscaling maxima x processes x pool size, see rds.tf) exceeds db_max_connections."
    }
  }
}

# Enhanced Monitoring (OS metrics every 60 s).
data "aws_iam_policy_document" "rds_monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "rds_monitoring" {
  name               = "${local.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_assume.json
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}
