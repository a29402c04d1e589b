# ElastiCache Redis: cache, sessions, throttles and the Celery broker. Primary + replica in two
# AZs with automatic failover, TLS in transit, KMS at rest, AUTH token from secrets.tf.
#
# The default parameter group keeps maxmemory-policy = volatile-lru: under memory pressure only
# keys with a TTL (cache entries) are evicted, never the Celery queues (no TTL). The Evictions
# alarm in alarms.tf says when the node type is too small.

locals {
  # Known at plan time (alarms.tf derives the member cluster ids from it).
  redis_replication_group_id = "${local.name}-redis"
}

resource "aws_elasticache_subnet_group" "main" {
  name        = "${local.name}-redis"
  description = "${local.name}: private data subnets"
  subnet_ids  = aws_subnet.data[*].id
}

resource "aws_elasticache_replication_group" "main" {
  replication_group_id = local.redis_replication_group_id
  description          = "${local.name}: cache, sessions, throttles, Celery broker"

  engine               = "redis"
  engine_version       = var.redis_engine_version
  node_type            = var.redis_node_type
  port                 = 6379
  parameter_group_name = "default.redis7"
  num_cache_clusters   = var.redis_num_cache_clusters

  subnet_group_name  = aws_elasticache_subnet_group.main.name
  security_group_ids = [aws_security_group.redis.id]

  automatic_failover_enabled = true
  multi_az_enabled           = true

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.main.arn
  transit_encryption_enabled = true
  auth_token                 = random_password.redis_auth_token.result
  auth_token_update_strategy = "ROTATE"

  snapshot_retention_limit   = 7
  snapshot_window            = "01:00-02:00"
  maintenance_window         = "sun:05:00-sun:06:00"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.redis_slow_log.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }

  tags = { Name = "${local.name}-redis" }
}
