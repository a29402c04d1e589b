data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  az_names = length(var.availability_zones) > 0 ? var.availability_zones : [
    for suffix in slice(["a", "b", "c"], 0, var.az_count) : "${var.region}${suffix}"
  ]
}

# The zones are an allowlist: a zone AWS adds later never changes the subnet layout.
data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "zone-name"
    values = local.az_names
  }

  lifecycle {
    postcondition {
      condition     = length(self.names) == length(local.az_names)
      error_message = "Not every zone in ${join(", ", local.az_names)} is available to this account; set availability_zones explicitly."
    }
  }
}

locals {
  name       = "${var.project}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  azs        = sort(data.aws_availability_zones.available.names)
  az_count   = length(local.az_names)

  tags = merge(var.tags, {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  # The one port the application listens on (gunicorn; ALB target group; Cloud Map scrape target).
  app_port = 8080

  # Container names inside the task definitions (infra/ecs/*.containers.json.tpl).
  web_container_name    = "web"
  worker_container_name = "worker"

  image = "${aws_ecr_repository.app.repository_url}:${var.image_tag}"
}
