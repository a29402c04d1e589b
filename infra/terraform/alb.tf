# Public, dual-stack Application Load Balancer. TLS terminates here (TLS 1.2/1.3 only); plain HTTP
# only ever answers 301 -> HTTPS; /metrics is answered 404 by the ALB itself and never forwarded.

resource "aws_lb" "main" {
  #checkov:skip=CKV2_AWS_76: the Log4j rule group (AWSManagedRulesKnownBadInputsRuleSet) is attached; the check also demands AnonymousIpList, which would block VPN and cloud-hosted users (a product decision, not a Log4j control).
  name               = local.name
  load_balancer_type = "application"
  internal           = false
  ip_address_type    = "dualstack"
  subnets            = aws_subnet.public[*].id
  security_groups    = [aws_security_group.alb.id]

  # Requests with header names that are not valid HTTP tokens are dropped, not forwarded.
  drop_invalid_header_fields = true
  desync_mitigation_mode     = "defensive"
  enable_deletion_protection = true
  enable_http2               = true
  # gunicorn keepalive (75 s) > ALB idle timeout (60 s): the ALB always closes idle connections
  # first, so it never reuses a connection gunicorn has just closed (random 502s).
  idle_timeout = 60

  access_logs {
    enabled = true
    bucket  = aws_s3_bucket.logs.id
    prefix  = "alb"
  }

  tags = { Name = local.name }

  # The log delivery permission must exist before the ALB verifies it can write.
  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_lb_target_group" "web" {
  #checkov:skip=CKV_AWS_378: TLS terminates at the ALB; ALB -> task traffic stays inside the VPC (private subnets, SG-chained).
  name             = "${local.name}-web"
  port             = local.app_port
  protocol         = "HTTP"
  protocol_version = "HTTP1"
  target_type      = "ip" # Fargate awsvpc tasks register by IP
  vpc_id           = aws_vpc.main.id

  # ECS deregisters a stopping task, waits this long for in-flight requests, then sends SIGTERM
  # (gunicorn graceful_timeout 25 s < container stopTimeout 40 s).
  deregistration_delay = 30

  health_check {
    enabled             = true
    protocol            = "HTTP"
    port                = "traffic-port"
    path                = "/health/live" # liveness only: a database blip must not replace every task
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = { Name = "${local.name}-web" }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.main.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = aws_acm_certificate_validation.main.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.main.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }
}

# Prometheus metrics are for the VPC only (the Prometheus task scrapes each task directly). The app
# also checks METRICS_TOKEN; this rule makes sure the internet never even reaches it, on any host
# name (Grafana's own /metrics included): priority 1 outranks every other rule.
resource "aws_lb_listener_rule" "block_metrics" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 1

  action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = "Not Found"
      status_code  = "404"
    }
  }

  condition {
    path_pattern {
      values = ["/metrics", "/metrics/*"]
    }
  }
}

# --- Grafana: https://monitoring.<domain_name> -------------------------------------------------
# Same listener and certificate (monitoring.<domain_name> is a SAN of it, dns.tf); requests with
# that Host header go to the Grafana tasks, everything else to the application as before.

resource "aws_lb_target_group" "grafana" {
  #checkov:skip=CKV_AWS_378: TLS terminates at the ALB; ALB -> Grafana traffic stays inside the VPC (private subnets, SG-chained).
  name             = "${local.name}-grafana"
  port             = local.grafana_port
  protocol         = "HTTP"
  protocol_version = "HTTP1"
  target_type      = "ip"
  vpc_id           = aws_vpc.main.id

  deregistration_delay = 15

  health_check {
    enabled             = true
    protocol            = "HTTP"
    port                = "traffic-port"
    path                = "/api/health"
    matcher             = "200"
    interval            = 30
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = { Name = "${local.name}-grafana" }
}

resource "aws_lb_listener_rule" "grafana" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.grafana.arn
  }

  condition {
    host_header {
      values = [local.monitoring_domain]
    }
  }
}

# --- WAF --------------------------------------------------------------------------------------

resource "aws_wafv2_web_acl" "main" {
  count = var.enable_waf ? 1 : 0

  name        = local.name
  description = "${local.name}: AWS managed rules and a per-IP rate limit in front of the ALB"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  rule {
    name     = "aws-ip-reputation"
    priority = 10

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesAmazonIpReputationList"
        vendor_name = "AWS"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name}-ip-reputation"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-common"
    priority = 20

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesCommonRuleSet"
        vendor_name = "AWS"

        # Photo uploads are multipart bodies far above the rule's 8 KB limit; the app enforces
        # its own upload size limits.
        rule_action_override {
          name = "SizeRestrictions_BODY"

          action_to_use {
            count {}
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name}-common"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-known-bad-inputs"
    priority = 30

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesKnownBadInputsRuleSet" # includes the Log4j (CVE-2021-44228) rules
        vendor_name = "AWS"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name}-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "rate-limit-per-ip"
    priority = 40

    action {
      block {}
    }

    statement {
      rate_based_statement {
        limit              = var.waf_rate_limit
        aggregate_key_type = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name}-rate-limit"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = local.name
    sampled_requests_enabled   = true
  }
}

resource "aws_wafv2_web_acl_association" "alb" {
  count = var.enable_waf ? 1 : 0

  resource_arn = aws_lb.main.arn
  web_acl_arn  = aws_wafv2_web_acl.main[0].arn
}

resource "aws_wafv2_web_acl_logging_configuration" "main" {
  count = var.enable_waf ? 1 : 0

  resource_arn            = aws_wafv2_web_acl.main[0].arn
  log_destination_configs = [aws_cloudwatch_log_group.waf[0].arn]

  # Tokens never reach a log: JWTs travel in Authorization, sessions in Cookie.
  redacted_fields {
    single_header {
      name = "authorization"
    }
  }

  redacted_fields {
    single_header {
      name = "cookie"
    }
  }

  redacted_fields {
    query_string {}
  }
}
