{
  "name": "aws-otel-collector",
  "image": "${adot_image}",
  "essential": false,
  "readonlyRootFilesystem": true,
  "privileged": false,
  "command": ["--config=/etc/ecs/ecs-default-config.yaml"],
  "portMappings": [],
  "environment": [],
  "mountPoints": [],
  "volumesFrom": [],
  "logConfiguration": {
    "logDriver": "awslogs",
    "options": {
      "awslogs-group": "${log_group}",
      "awslogs-region": "${aws_region}",
      "awslogs-stream-prefix": "adot"
    }
  }
}
