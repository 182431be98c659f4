data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  # Built from the name, not from the project resource: the role's policy must exist before the project.
  project_arn = "arn:${data.aws_partition.current.partition}:codebuild:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:project/${var.name}"
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["codebuild.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/codebuild/${var.name}"
  retention_in_days = var.log_retention_in_days
  tags              = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "WriteBuildLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.source_connection_arn == null ? [] : [var.source_connection_arn]

    content {
      sid = "CloneThroughConnection"
      # Both prefixes: connections made as codestar-connections (the Terraform resource) answer to either.
      actions   = ["codeconnections:UseConnection", "codeconnections:GetConnectionToken", "codeconnections:GetConnection", "codestar-connections:UseConnection", "codestar-connections:GetConnectionToken", "codestar-connections:GetConnection"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.cache.type == "S3" ? [split("/", var.cache.location)[0]] : []

    content {
      sid       = "UseBuildCache"
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = ["arn:aws:s3:::${var.cache.location}/*"]
    }
  }

  dynamic "statement" {
    for_each = var.cache.type == "S3" ? [split("/", var.cache.location)[0]] : []

    content {
      sid       = "LocateBuildCache"
      actions   = ["s3:GetBucketLocation", "s3:GetBucketAcl"]
      resources = ["arn:aws:s3:::${statement.value}"]
    }
  }

  dynamic "statement" {
    for_each = var.batch_builds == null ? [] : [local.project_arn]

    content {
      # A batch runs its builds as this role: it starts, stops and retries builds of this project only.
      sid       = "RunBatchBuilds"
      actions   = ["codebuild:StartBuild", "codebuild:StopBuild", "codebuild:RetryBuild"]
      resources = [statement.value]
    }
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
  name   = "build"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_codebuild_project" "this" {
  name                   = var.name
  description            = var.description
  service_role           = aws_iam_role.this.arn
  build_timeout          = var.build_timeout
  concurrent_build_limit = var.concurrent_build_limit

  source {
    type      = var.source_type
    location  = var.source_type == "CODEPIPELINE" ? null : var.source_location
    buildspec = var.buildspec

    # Full history: nx affected needs the base commit, and a shallow clone
    # makes it fail or, worse, report nothing affected. (From CodePipeline, the
    # source action's CODEBUILD_CLONE_REF output gives a full clone.)
    git_clone_depth = var.source_type == "CODEPIPELINE" ? null : 0

    dynamic "auth" {
      for_each = var.source_connection_arn == null ? [] : [var.source_connection_arn]

      content {
        type     = "CODECONNECTIONS"
        resource = auth.value
      }
    }
  }

  environment {
    type         = "LINUX_CONTAINER"
    compute_type = var.compute_type
    image        = var.image

    dynamic "environment_variable" {
      for_each = var.environment_variables

      content {
        name  = environment_variable.key
        value = environment_variable.value
      }
    }
  }

  artifacts {
    type = var.source_type == "CODEPIPELINE" ? "CODEPIPELINE" : "NO_ARTIFACTS"
  }

  dynamic "build_batch_config" {
    for_each = var.batch_builds == null ? [] : [var.batch_builds]

    content {
      service_role      = aws_iam_role.this.arn
      combine_artifacts = false
      timeout_in_mins   = build_batch_config.value.timeout_minutes

      restrictions {
        maximum_builds_allowed = build_batch_config.value.maximum_builds
        compute_types_allowed  = [var.compute_type]
      }
    }
  }

  # Keeps the buildspec's cache.paths (.nx/cache, the npm cache) between builds.
  # Each project has its own: a sandpit build never writes a cache a main build reads.
  cache {
    type     = var.cache.type
    modes    = var.cache.type == "LOCAL" ? var.cache.modes : null
    location = var.cache.type == "S3" ? var.cache.location : null
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.this.name
    }
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.this]
}
