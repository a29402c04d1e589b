# Secrets Manager. ECS injects these into the containers at task start (`secrets` / `valueFrom` in
# the task definitions, read by the execution role); they never appear in the image, the task
# definition's plain environment, or the repository. All are encrypted with the stack's CMK.
#
# Note: generated values are also stored in the Terraform state; the state bucket must be
# encrypted and access-controlled (README.md, "Bootstrap").

resource "random_password" "django_secret_key" {
  length  = 64
  special = true
}

resource "random_password" "jwt_signing_key" {
  length  = 64
  special = true
}

# Sent by Prometheus as a bearer token; URL/header-safe characters only.
resource "random_password" "metrics_token" {
  length  = 48
  special = false
}

# ElastiCache AUTH token: 16-128 printable characters; alphanumeric keeps the rediss:// URLs valid.
resource "random_password" "redis_auth_token" {
  length  = 64
  special = false
}

# Initial password of the application database user; alphanumeric keeps DATABASE_URL valid.
resource "random_password" "app_db" {
  length  = 40
  special = false
}

locals {
  redis_host = aws_elasticache_replication_group.main.primary_endpoint_address

  # Everything the web and worker containers receive as secrets (env var name => value).
  app_secret_values = {
    DJANGO_SECRET_KEY = random_password.django_secret_key.result
    JWT_SIGNING_KEY   = random_password.jwt_signing_key.result
    # Application user, never the master user (RDS rotates the master password on its own and
    # ECS only reads secrets at task start). TLS is required by rds.force_ssl.
    DATABASE_URL = "postgres://${var.db_app_username}:${random_password.app_db.result}@${aws_db_instance.main.address}:${aws_db_instance.main.port}/${var.db_name}?sslmode=require"
    # TLS (rediss://) with the AUTH token; cache/sessions on DB 0, the Celery broker on DB 1.
    REDIS_URL         = "rediss://:${random_password.redis_auth_token.result}@${local.redis_host}:6379/0"
    CELERY_BROKER_URL = "rediss://:${random_password.redis_auth_token.result}@${local.redis_host}:6379/1?ssl_cert_reqs=required"
    METRICS_TOKEN     = random_password.metrics_token.result
  }

  app_secret_names = toset(["DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "METRICS_TOKEN"])
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57: static application keys and derived connection URLs; rotated by `terraform apply -replace` + redeploy (README), not by a Lambda.
  for_each = local.app_secret_names

  name                    = "${local.name}/${each.key}"
  description             = "${local.name}: ${each.key} (injected into the web and worker containers)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "app" {
  for_each = aws_secretsmanager_secret.app

  secret_id     = each.value.id
  secret_string = local.app_secret_values[each.key]
}

resource "aws_secretsmanager_secret" "redis_auth_token" {
  #checkov:skip=CKV2_AWS_57: ElastiCache AUTH tokens rotate through modify-replication-group (ROTATE/SET), not a Secrets Manager Lambda; see README.
  name                    = "${local.name}/REDIS_AUTH_TOKEN"
  description             = "${local.name}: ElastiCache AUTH token (source of REDIS_URL and CELERY_BROKER_URL)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "redis_auth_token" {
  secret_id     = aws_secretsmanager_secret.redis_auth_token.id
  secret_string = random_password.redis_auth_token.result
}

# --- Application database user (rotated) ------------------------------------------------------
# The JSON shape expected by the AWS "alternating users" rotation function for PostgreSQL
# (SecretsManagerRDSPostgreSQLRotationMultiUser): it clones the user as <user>_clone, alternates
# between the two, and signs in with the RDS-managed master secret given as masterarn.

resource "aws_secretsmanager_secret" "app_db" {
  name                    = "${local.name}/app-db-credentials"
  description             = "${local.name}: application database user (rotated; read by the db-bootstrap task)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "app_db" {
  secret_id = aws_secretsmanager_secret.app_db.id
  secret_string = jsonencode({
    engine    = "postgres"
    host      = aws_db_instance.main.address
    port      = aws_db_instance.main.port
    dbname    = var.db_name
    username  = var.db_app_username
    password  = random_password.app_db.result
    masterarn = aws_db_instance.main.master_user_secret[0].secret_arn
  })

  # After the first rotation the secret belongs to the rotation function.
  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_secretsmanager_secret_rotation" "app_db" {
  count = var.db_rotation_lambda_arn == null ? 0 : 1

  secret_id           = aws_secretsmanager_secret.app_db.id
  rotation_lambda_arn = var.db_rotation_lambda_arn

  rotation_rules {
    automatically_after_days = var.db_rotation_days
  }
}
