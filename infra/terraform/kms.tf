# One customer-managed key for the stack's data at rest: Secrets Manager secrets, RDS (storage,
# Performance Insights, the RDS-managed master secret), ElastiCache, the media bucket, CloudWatch
# log groups, the SNS alarm topic, ECR and ECS Exec sessions. AWS services use it through grants
# created on behalf of the calling principal; IAM policies in iam.tf say who may use it, and for
# what (kms:ViaService conditions).

resource "aws_kms_key" "main" {
  description             = "${local.name}: secrets, database, cache, media, logs, alarms"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_key_policy.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.main.key_id
}

# Key policy. In a key policy, Resource "*" means "this key".
data "aws_iam_policy_document" "kms_key_policy" {
  #checkov:skip=CKV_AWS_109: key policy: Resource "*" is this key only, and the root principal delegates to IAM (AWS default key policy).
  #checkov:skip=CKV_AWS_111: key policy: Resource "*" is this key only; service statements are bound by encryption-context/source-account conditions.
  #checkov:skip=CKV_AWS_356: key policy: Resource "*" is the only valid resource in a KMS key policy (it means this key).
  # Delegate to IAM: the account's IAM policies decide who may use and administer the key.
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # CloudWatch Logs encrypts this account's log groups in this region, and nothing else.
  statement {
    sid = "CloudWatchLogsEncryptsLogGroups"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }

  # CloudWatch alarms publish to the encrypted SNS topic.
  statement {
    sid       = "CloudWatchAlarmsPublishToEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}
