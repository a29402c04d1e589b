# IAM, least privilege. Every statement names exact resources; the only "*" resources are the
# actions AWS does not allow to be scoped (ecr:GetAuthorizationToken, the X-Ray telemetry calls,
# the SSM message channels of ECS Exec, logs:DescribeLogGroups for ECS Exec).

locals {
  log_group_arns = { for key, group in aws_cloudwatch_log_group.main : key => group.arn }

  # Secrets the containers receive (valueFrom). app-db-credentials is included so that the
  # templates can inject DATABASE_USER / DATABASE_PASSWORD from its JSON keys (same credentials
  # as DATABASE_URL, so no extra privilege).
  execution_role_secret_arns = concat(
    [for name in sort(tolist(local.app_secret_names)) : aws_secretsmanager_secret.app[name].arn],
    [aws_secretsmanager_secret.app_db.arn],
  )
}

# --- Trust policies ---------------------------------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Task roles: only tasks of this account and region (confused-deputy protection).
data "aws_iam_policy_document" "ecs_task_role_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# --- Execution role: what ECS itself needs to start the containers ------------------------------

resource "aws_iam_role" "ecs_execution" {
  name               = "${local.name}-ecs-execution"
  description        = "ECS agent for ${local.name} web/worker tasks: pull the image, write container logs, read the app secrets"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "ecs_execution" {
  statement {
    sid       = "EcrAuthTokenCannotBeScoped"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PullTheApplicationImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:GetDownloadUrlForLayer",
      "ecr:BatchGetImage",
    ]
    resources = [aws_ecr_repository.app.arn]
  }

  statement {
    sid     = "ContainerLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = flatten([
      for key in ["web", "worker"] : [local.log_group_arns[key], "${local.log_group_arns[key]}:*"]
    ])
  }

  statement {
    sid       = "ReadExactlyTheAppSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = local.execution_role_secret_arns
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

resource "aws_iam_role_policy" "ecs_execution" {
  name   = "pull-logs-secrets"
  role   = aws_iam_role.ecs_execution.id
  policy = data.aws_iam_policy_document.ecs_execution.json
}

# --- Task role: what the application code (boto3, watchtower, OTel) may do ----------------------

resource "aws_iam_role" "ecs_task" {
  name               = "${local.name}-ecs-task"
  description        = "${local.name} application: media bucket prefixes, app log streams, X-Ray"
  assume_role_policy = data.aws_iam_policy_document.ecs_task_role_assume.json
}

data "aws_iam_policy_document" "ecs_task" {
  statement {
    sid     = "MediaObjectsUnderAppPrefixes"
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [
      "${aws_s3_bucket.media.arn}/users/*",
      "${aws_s3_bucket.media.arn}/exports/*",
    ]
  }

  # ListBucket is also what authorizes HeadBucket (the /health S3 probe) and turns HeadObject on a
  # missing key into 404 instead of 403 (storage.exists()). Those requests carry no s3:prefix, hence
  # ...IfExists; any listing that names a prefix must stay under the application's prefixes.
  statement {
    sid       = "ListOnlyAppPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.media.arn]

    condition {
      test     = "StringLikeIfExists"
      variable = "s3:prefix"
      values   = ["users/*", "exports/*"]
    }
  }

  statement {
    sid       = "MediaEncryptionViaS3"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.main.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  # watchtower: one stream per process in the pre-created app log group (it never creates groups).
  statement {
    sid       = "AppLogStreams"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [local.log_group_arns["app"], "${local.log_group_arns["app"]}:*"]
  }

  statement {
    sid = "XRayTelemetryCannotBeScoped"
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
      "xray:GetSamplingStatisticSummaries",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "ecs_task" {
  name   = "app"
  role   = aws_iam_role.ecs_task.id
  policy = data.aws_iam_policy_document.ecs_task.json
}

# ECS Exec (off by default): SSM message channels, session transcript to the exec log group,
# session encryption with the CMK.
data "aws_iam_policy_document" "ecs_exec" {
  statement {
    sid = "SsmMessageChannelsCannotBeScoped"
    actions = [
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ExecLoggingDescribeGroupsCannotBeScoped"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"]
  }

  statement {
    sid       = "ExecSessionTranscripts"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [local.log_group_arns["exec"], "${local.log_group_arns["exec"]}:*"]
  }

  statement {
    sid       = "ExecSessionEncryption"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
  }
}

resource "aws_iam_role_policy" "ecs_exec" {
  count = var.enable_execute_command ? 1 : 0

  name   = "ecs-exec"
  role   = aws_iam_role.ecs_task.id
  policy = data.aws_iam_policy_document.ecs_exec.json
}

# --- Scheduled cleanup_exports: EventBridge runs the web task definition -------------------------

data "aws_iam_policy_document" "events_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "events_run_task" {
  name               = "${local.name}-events-run-task"
  description        = "EventBridge: run the scheduled cleanup_exports task of ${local.name}"
  assume_role_policy = data.aws_iam_policy_document.events_assume.json
}

data "aws_iam_policy_document" "events_run_task" {
  statement {
    sid       = "RunTheWebTaskDefinitionInThisCluster"
    actions   = ["ecs:RunTask"]
    resources = ["${aws_ecs_task_definition.web.arn_without_revision}:*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.main.arn]
    }
  }

  statement {
    sid       = "PassOnlyTheTaskRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.ecs_execution.arn, aws_iam_role.ecs_task.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "events_run_task" {
  name   = "run-cleanup-task"
  role   = aws_iam_role.events_run_task.id
  policy = data.aws_iam_policy_document.events_run_task.json
}

# --- db-bootstrap one-off task (creates the application database user; README) ------------------

resource "aws_iam_role" "db_bootstrap_execution" {
  name               = "${local.name}-db-bootstrap-execution"
  description        = "ECS agent for the ${local.name} db-bootstrap task: master, app and monitoring DB secrets, ops logs"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "db_bootstrap_execution" {
  statement {
    sid       = "OpsLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.log_group_arns["ops"], "${local.log_group_arns["ops"]}:*"]
  }

  statement {
    sid     = "MasterAppAndMonitoringDbSecrets"
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      aws_db_instance.main.master_user_secret[0].secret_arn,
      aws_secretsmanager_secret.app_db.arn,
      aws_secretsmanager_secret.monitoring_db.arn,
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

resource "aws_iam_role_policy" "db_bootstrap_execution" {
  name   = "ops-logs-db-secrets"
  role   = aws_iam_role.db_bootstrap_execution.id
  policy = data.aws_iam_policy_document.db_bootstrap_execution.json
}

# --- VPC flow logs ----------------------------------------------------------------------------

data "aws_iam_policy_document" "vpc_flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:vpc-flow-log/*"]
    }
  }
}

resource "aws_iam_role" "vpc_flow_logs" {
  name               = "${local.name}-vpc-flow-logs"
  description        = "VPC flow logs of ${local.name} to CloudWatch Logs"
  assume_role_policy = data.aws_iam_policy_document.vpc_flow_logs_assume.json
}

data "aws_iam_policy_document" "vpc_flow_logs" {
  statement {
    sid       = "FlowLogStreams"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [aws_cloudwatch_log_group.vpc_flow_logs.arn, "${aws_cloudwatch_log_group.vpc_flow_logs.arn}:*"]
  }

  statement {
    sid       = "DescribeGroupsOfThisAccount"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
  }
}

resource "aws_iam_role_policy" "vpc_flow_logs" {
  name   = "flow-logs"
  role   = aws_iam_role.vpc_flow_logs.id
  policy = data.aws_iam_policy_document.vpc_flow_logs.json
}
