################################################################################
# GitLab CI signs in with OIDC ID tokens: no stored AWS keys.
#
# AWS evaluates only the aud and sub claims of a generic OIDC provider, so the
# trust policies pin the exact project path in sub and, for the release role,
# the exact protected refs (ref_protected is not a condition key IAM offers).
# The refs must be protected in GitLab as well.
################################################################################

locals {
  gitlab_host = trimprefix(var.gitlab_url, "https://")

  sandpit_environments = [for env, e in var.environments : env if e.multi_tenant]
  sandpit_jobs         = { for key, job in local.jobs : key => job if job.trust == "sandpit" }
}

resource "aws_iam_openid_connect_provider" "gitlab" {
  url            = var.gitlab_url
  client_id_list = [var.gitlab_audience]
}

# Any branch of the project: merge-request and personal biomes in the
# multi-tenant environments, never staging or prod.
data "aws_iam_policy_document" "gitlab_sandpit_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.gitlab.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.gitlab_host}:aud"
      values   = [var.gitlab_audience]
    }

    condition {
      test     = "StringLike"
      variable = "${local.gitlab_host}:sub"
      values   = ["project_path:${var.gitlab_project_path}:ref_type:branch:ref:*"]
    }
  }
}

# Only the protected refs of the project: deploys to dev's main biome and
# promotions to staging and prod.
data "aws_iam_policy_document" "gitlab_release_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.gitlab.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.gitlab_host}:aud"
      values   = [var.gitlab_audience]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.gitlab_host}:sub"
      values = concat(
        [for ref in var.protected_branches : "project_path:${var.gitlab_project_path}:ref_type:branch:ref:${ref}"],
        [for ref in var.protected_tags : "project_path:${var.gitlab_project_path}:ref_type:tag:ref:${ref}"],
      )
    }
  }
}

resource "aws_iam_role" "gitlab_sandpit" {
  name                 = "${var.name_prefix}-gitlab-sandpit"
  description          = "GitLab CI of ${var.gitlab_project_path}, any branch: sandpit biomes only"
  assume_role_policy   = data.aws_iam_policy_document.gitlab_sandpit_trust.json
  max_session_duration = 3600
}

resource "aws_iam_role" "gitlab_release" {
  name                 = "${var.name_prefix}-gitlab-release"
  description          = "GitLab CI of ${var.gitlab_project_path}, protected refs: deploy and promote"
  assume_role_policy   = data.aws_iam_policy_document.gitlab_release_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "gitlab_sandpit" {
  statement {
    sid       = "RunSandpitBuilds"
    actions   = ["codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"]
    resources = [for key, job in local.sandpit_jobs : module.codebuild[key].project_arn]
  }

  statement {
    sid       = "FollowSandpitBuildLogs"
    actions   = ["logs:GetLogEvents"]
    resources = [for key, job in local.sandpit_jobs : "arn:aws:logs:${var.aws_region}:${var.devops_account_id}:log-group:${module.codebuild[key].log_group_name}:*"]
  }

  # Content-addressed artifacts (never overwritten: their keys carry the
  # commit) and the records of sandpit biomes only: biomes/<env>-* never matches
  # the main biome's biomes/<env>/, so a branch cannot deploy to it through the
  # artifact deployer.
  statement {
    sid       = "PublishSandpitArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [for env in local.sandpit_environments : "${module.artifact_bucket[env].bucket_arn}/artifacts/*"]
  }

  statement {
    sid       = "ReadBiomeRecords"
    actions   = ["s3:GetObject"]
    resources = [for env in local.sandpit_environments : "${module.artifact_bucket[env].bucket_arn}/biomes/*"]
  }

  statement {
    sid       = "WriteSandpitRecords"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = [for env in local.sandpit_environments : "${module.artifact_bucket[env].bucket_arn}/biomes/${env}-*"]
  }

  statement {
    sid       = "ListSandpitStores"
    actions   = ["s3:ListBucket"]
    resources = [for env in local.sandpit_environments : module.artifact_bucket[env].bucket_arn]
  }

  statement {
    sid       = "UseSandpitStoreKeys"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [for env in local.sandpit_environments : module.artifact_bucket[env].kms_key_arn]
  }
}

data "aws_iam_policy_document" "gitlab_release" {
  statement {
    sid       = "RunReleaseBuilds"
    actions   = ["codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"]
    resources = [for key, job in local.jobs : module.codebuild[key].project_arn]
  }

  statement {
    sid       = "FollowReleaseBuildLogs"
    actions   = ["logs:GetLogEvents"]
    resources = [for key, job in local.jobs : "arn:aws:logs:${var.aws_region}:${var.devops_account_id}:log-group:${module.codebuild[key].log_group_name}:*"]
  }

  statement {
    sid       = "UseStores"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [for env in local.environment_names : "${module.artifact_bucket[env].bucket_arn}/*"]
  }

  statement {
    sid       = "ListStores"
    actions   = ["s3:ListBucket"]
    resources = [for env in local.environment_names : module.artifact_bucket[env].bucket_arn]
  }

  statement {
    sid       = "UseStoreKeys"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [for env in local.environment_names : module.artifact_bucket[env].kms_key_arn]
  }

  statement {
    sid       = "ReadReplicas"
    actions   = ["s3:ListBucket", "s3:GetObject"]
    resources = flatten([for env in local.environment_names : ["arn:aws:s3:::${local.replica_bucket[env]}", "arn:aws:s3:::${local.replica_bucket[env]}/artifacts/*"]])
  }

  statement {
    sid       = "AssumeDeployRoles"
    actions   = ["sts:AssumeRole", "sts:TagSession"]
    resources = [for env in local.environment_names : local.deploy_role[env]]
  }
}

resource "aws_iam_role_policy" "gitlab_sandpit" {
  name   = "sandpit-ci"
  role   = aws_iam_role.gitlab_sandpit.id
  policy = data.aws_iam_policy_document.gitlab_sandpit.json
}

resource "aws_iam_role_policy" "gitlab_release" {
  name   = "release-ci"
  role   = aws_iam_role.gitlab_release.id
  policy = data.aws_iam_policy_document.gitlab_release.json
}
