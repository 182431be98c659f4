################################################################################
# Read-only role of the scheduled drift check (.gitlab-ci.yml job `drift`,
# CI_ROLE_ARN_DRIFT_<ENV>; docs/lifecycle.md): it compares the main biome's
# ledger in the devops store with what runs here. GitLab's ID token signs in
# directly, so the account has its own OIDC provider for the GitLab issuer;
# only pipelines of the protected branches (ref_protected) may assume it.
################################################################################

locals {
  drift_enabled = var.gitlab_oidc != null
  drift_role    = "${var.name_prefix}-drift-${var.environment}"
  gitlab_host   = local.drift_enabled ? trimprefix(var.gitlab_oidc.url, "https://") : ""
}

resource "aws_iam_openid_connect_provider" "gitlab" {
  count = local.drift_enabled ? 1 : 0

  url            = var.gitlab_oidc.url
  client_id_list = [var.gitlab_oidc.audience]
  tags           = var.tags
}

data "aws_iam_policy_document" "drift_trust" {
  count = local.drift_enabled ? 1 : 0

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.gitlab[0].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.gitlab_host}:aud"
      values   = [var.gitlab_oidc.audience]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.gitlab_host}:ref_protected"
      values   = ["true"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.gitlab_host}:sub"
      values   = [for ref in var.gitlab_oidc.protected_branches : "project_path:${var.gitlab_oidc.project_path}:ref_type:branch:ref:${ref}"]
    }
  }
}

resource "aws_iam_role" "drift" {
  count = local.drift_enabled ? 1 : 0

  name                 = local.drift_role
  description          = "Scheduled drift check of ${var.environment}: reads biome functions, state machines, models and the store's ledgers; writes nothing."
  assume_role_policy   = data.aws_iam_policy_document.drift_trust[0].json
  max_session_duration = 3600
  tags                 = var.tags
}

# What infra:biome-drift calls (src/adapters/workload.ts) and the ledger it reads.
data "aws_iam_policy_document" "drift" {
  count = local.drift_enabled ? 1 : 0

  statement {
    sid       = "ReadBiomeFunctions"
    actions   = ["lambda:GetFunction"]
    resources = ["${local.lambda_arn}:function:${local.biome_pattern}"]
  }

  statement {
    sid       = "ReadBiomeStateMachines"
    actions   = ["states:DescribeStateMachine", "states:DescribeStateMachineAlias"]
    resources = ["${local.states_arn}:stateMachine:${local.biome_pattern}"]
  }

  statement {
    sid       = "ReadPlacedModels"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${local.models_bucket}/${var.model_prefix}${var.environment}*"]
  }

  statement {
    sid       = "DecryptModels"
    actions   = ["kms:Decrypt"]
    resources = ["${local.kms_arn}:key/*"]

    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "kms:ResourceAliases"
      values   = ["alias/${local.models_bucket}"]
    }
  }

  dynamic "statement" {
    for_each = var.store_bucket_arn == null ? [] : [1]

    content {
      sid       = "ReadStoreLedgers"
      actions   = ["s3:GetObject", "s3:ListBucket"]
      resources = [var.store_bucket_arn, "${var.store_bucket_arn}/biomes/*"]
    }
  }

  dynamic "statement" {
    for_each = var.store_kms_key_arn == null ? [] : [1]

    content {
      sid       = "DecryptStore"
      actions   = ["kms:Decrypt"]
      resources = [var.store_kms_key_arn]
    }
  }
}

resource "aws_iam_role_policy" "drift" {
  count = local.drift_enabled ? 1 : 0

  name   = "read-only-drift"
  role   = aws_iam_role.drift[0].id
  policy = data.aws_iam_policy_document.drift[0].json
}
