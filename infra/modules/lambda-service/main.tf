locals {
  # Reserved concurrency 0 throttles every invocation: the function and its
  # configuration stay, nothing runs and nothing is billed.
  reserved_concurrent_executions = var.asleep ? 0 : var.reserved_concurrent_executions
  attach_vpc                     = length(var.vpc_subnet_ids) > 0
}

data "aws_partition" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.function_name
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_in_days
  tags              = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.policy_statements

    content {
      sid       = statement.key
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "access"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_iam_role_policy_attachment" "vpc" {
  count = local.attach_vpc ? 1 : 0

  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_lambda_function" "this" {
  function_name = var.function_name
  description   = var.description
  role          = aws_iam_role.this.arn

  # The package was built, hashed and published by the plugin; Terraform only
  # points the function at it. source_code_hash makes a new key with new bytes
  # update the code, and the same bytes leave it alone.
  s3_bucket         = var.s3_bucket
  s3_key            = var.s3_key
  s3_object_version = var.s3_version
  source_code_hash  = var.source_code_hash

  handler       = var.handler
  runtime       = var.runtime
  architectures = var.architectures
  memory_size   = var.memory_size
  timeout       = var.timeout

  reserved_concurrent_executions = local.reserved_concurrent_executions

  dynamic "environment" {
    for_each = length(var.environment_variables) > 0 ? [var.environment_variables] : []

    content {
      variables = environment.value
    }
  }

  dynamic "vpc_config" {
    for_each = local.attach_vpc ? [1] : []

    content {
      subnet_ids         = var.vpc_subnet_ids
      security_group_ids = var.vpc_security_group_ids
    }
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tags = var.tags

  # The artifact deployer (apps/services/artifact-deployer) records on the
  # function which ledger record it runs; an apply must not strip those tags,
  # or the deployer would take a late, older record for a newer one.
  lifecycle {
    ignore_changes = [
      tags["biome:deployed-at"],
      tags["biome:git-sha"],
      tags["biome:sequence"],
      tags["biome:incarnation"],
      tags_all["biome:deployed-at"],
      tags_all["biome:git-sha"],
      tags_all["biome:sequence"],
      tags_all["biome:incarnation"],
    ]
  }

  depends_on = [aws_iam_role_policy.this, aws_iam_role_policy_attachment.vpc]
}
