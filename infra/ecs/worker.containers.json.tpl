[
  {
    "name": "worker",
    "image": "${image}",
    "essential": true,
    "user": "10001",
    "readonlyRootFilesystem": true,
    "privileged": false,
    "command": ["celery", "-A", "activelog", "worker", "--loglevel", "INFO", "--concurrency", "${worker_concurrency}"],
    "portMappings": [
      {"containerPort": 9808, "hostPort": 9808, "protocol": "tcp"}
    ],
    "environment": [
      {"name": "DJANGO_ENV", "value": "production"},
      {"name": "DJANGO_ALLOWED_HOSTS", "value": "${allowed_hosts}"},
      {"name": "DJANGO_CSRF_TRUSTED_ORIGINS", "value": "${csrf_trusted_origins}"},
      {"name": "AWS_STORAGE_BUCKET_NAME", "value": "${media_bucket}"},
      {"name": "AWS_S3_REGION_NAME", "value": "${aws_region}"},
      {"name": "AWS_REGION", "value": "${aws_region}"},
      {"name": "APP_VERSION", "value": "${app_version}"},
      {"name": "NUM_PROXIES", "value": "1"},
      {"name": "CELERY_METRICS_PORT", "value": "9808"},
      {"name": "PROMETHEUS_MULTIPROC_DIR", "value": "/tmp/prometheus-multiproc"},
      {"name": "CLOUDWATCH_LOG_GROUP", "value": "${app_log_group}"},
      {"name": "OTEL_SERVICE_NAME", "value": "${app_name}-worker"},
      {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://localhost:4318"},
      {"name": "OTEL_SDK_DISABLED", "value": "${otel_sdk_disabled}"},
      {"name": "OTEL_AWS_XRAY", "value": "true"},
      {"name": "OTEL_TRACES_SAMPLER", "value": "parentbased_traceidratio"},
      {"name": "OTEL_TRACES_SAMPLER_ARG", "value": "0.1"},
      {"name": "DATABASE_POOL_MAX_SIZE", "value": "${database_pool_max_size}"},
      {"name": "DATABASE_STATEMENT_TIMEOUT", "value": "120"},
      {"name": "DATABASE_LOCK_TIMEOUT", "value": "10"}
    ],
    "secrets": [
      {"name": "DJANGO_SECRET_KEY", "valueFrom": "${django_secret_key_secret_arn}"},
      {"name": "JWT_SIGNING_KEY", "valueFrom": "${jwt_signing_key_secret_arn}"},
      {"name": "DATABASE_URL", "valueFrom": "${database_url_secret_arn}"},
      {"name": "DATABASE_USER", "valueFrom": "${app_db_secret_arn}:username::"},
      {"name": "DATABASE_PASSWORD", "valueFrom": "${app_db_secret_arn}:password::"},
      {"name": "REDIS_URL", "valueFrom": "${redis_url_secret_arn}"},
      {"name": "CELERY_BROKER_URL", "valueFrom": "${celery_broker_url_secret_arn}"},
      {"name": "METRICS_TOKEN", "valueFrom": "${metrics_token_secret_arn}"}
    ],
    "mountPoints": [
      {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": false}
    ],
    "volumesFrom": [],
    "linuxParameters": {"initProcessEnabled": true},
    "stopTimeout": 40,
    "logConfiguration": {
      "logDriver": "awslogs",
      "options": {
        "awslogs-group": "${log_group}",
        "awslogs-region": "${aws_region}",
        "awslogs-stream-prefix": "worker"
      }
    }
  }
]
