################################################################################
# GitLab CI signs in with OIDC ID tokens: no stored AWS keys.
#
# The trust policies pin the exact project path in sub and, for the release
# role, the exact protected refs AND GitLab's ref_protected claim (a condition
# key IAM offers for GitLab ID tokens): a branch that merely shares a protected
# branch's name in a fork or after the protection was lifted gets nothing.
# The refs must be protected in GitLab as well.
################################################################################

locals {
  gitlab_host = trimprefix(var.gitlab_url, "https://")

  sandpit_environments = [for env, e in var.environments : env if e.multi_tenant]
  sandpit_jobs         = { for key, job in local.jobs : key => job if job.trust == "sandpit" }

  # The projects the release role may start: every project while GitLab drives
  # main; under CodePipeline none of the main ones (one orchestrator of main).
  release_jobs = [for key, job in local.jobs : key if !(local.use_pipeline && job.trust == "main")]

  # Starting, following and stopping builds and batch builds (the fan-out) of a project.
  codebuild_run_actions = [
    "codebuild:StartBuild",
    "codebuild:BatchGetBuilds",
    "codebuild:StopBuild",
    "codebuild:StartBuildBatch",
    "codebuild:BatchGetBuildBatches",
    "codebuild:StopBuildBatch",
    "codebuild:RetryBuildBatch",
  ]
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
      variable = "${local.gitlab_host}:ref_protected"
      values   = ["true"]
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
  # Batch builds too: the deploy fan-out (infra:codebuild --batchBuild) starts
  # a batch of the sandpit deploy project; never of a main project.
  statement {
    sid       = "RunSandpitBuilds"
    actions   = local.codebuild_run_actions
    resources = [for key, job in local.sandpit_jobs : module.codebuild[key].project_arn]
  }

  statement {
    sid       = "FollowSandpitBuildLogs"
    actions   = ["logs:GetLogEvents"]
    resources = [for key, job in local.sandpit_jobs : "arn:aws:logs:${var.aws_region}:${var.devops_account_id}:log-group:${module.codebuild[key].log_group_name}:*"]
  }

  # Content-addressed artifacts, written once: a PutObject without
  # If-None-Match and any delete are denied (codebuild-trust.tf,
  # sandpit_not_main_biomes), so a branch can add artifacts but never replace
  # bytes a main biome records. Records of sandpit biomes only:
  # biomes/<env>-* never matches the main biome's biomes/<env>/.
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

  # Leases (docs/reliability.md, "Collection leases"): a sandpit's own lease
  # folder (locks/biomes/<env>-* never matches the main biome's
  # locks/biomes/<env>/) and the sandpits' collection scope, never main's
  # locks/gc/, so a branch cannot make a main deploy wait.
  statement {
    sid       = "TakeSandpitLeases"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = flatten([for env in local.sandpit_environments : ["${module.artifact_bucket[env].bucket_arn}/locks/biomes/${env}-*", "${module.artifact_bucket[env].bucket_arn}/locks/gc-sandpits/*"]])
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

# With main_orchestrator = "codepipeline" the pipeline alone drives main: the
# release role then starts no main-biome build, writes no store and assumes no
# deploy role (it keeps reading the stores, for the board and the base).
data "aws_iam_policy_document" "gitlab_release" {
  dynamic "statement" {
    for_each = length(local.release_jobs) > 0 ? [1] : []

    content {
      sid       = "RunReleaseBuilds"
      actions   = local.codebuild_run_actions
      resources = [for key in local.release_jobs : module.codebuild[key].project_arn]
    }
  }

  dynamic "statement" {
    for_each = length(local.release_jobs) > 0 ? [1] : []

    content {
      sid       = "FollowReleaseBuildLogs"
      actions   = ["logs:GetLogEvents"]
      resources = [for key in local.release_jobs : "arn:aws:logs:${var.aws_region}:${var.devops_account_id}:log-group:${module.codebuild[key].log_group_name}:*"]
    }
  }

  statement {
    sid       = "UseStores"
    actions   = local.use_pipeline ? ["s3:GetObject"] : ["s3:GetObject", "s3:PutObject"]
    resources = [for env in local.environment_names : "${module.artifact_bucket[env].bucket_arn}/*"]
  }

  # A lease is released (and a stale one cleared) by deleting its entry.
  dynamic "statement" {
    for_each = local.use_pipeline ? [] : [1]

    content {
      sid       = "ReleaseLeases"
      actions   = ["s3:DeleteObject"]
      resources = [for env in local.environment_names : "${module.artifact_bucket[env].bucket_arn}/locks/*"]
    }
  }

  statement {
    sid       = "ListStores"
    actions   = ["s3:ListBucket"]
    resources = [for env in local.environment_names : module.artifact_bucket[env].bucket_arn]
  }

  statement {
    sid       = "UseStoreKeys"
    actions   = local.use_pipeline ? ["kms:Decrypt"] : ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [for env in local.environment_names : module.artifact_bucket[env].kms_key_arn]
  }

  statement {
    sid       = "ReadReplicas"
    actions   = ["s3:ListBucket", "s3:GetObject"]
    resources = flatten([for env in local.environment_names : ["arn:aws:s3:::${local.replica_bucket[env]}", "arn:aws:s3:::${local.replica_bucket[env]}/artifacts/*"]])
  }

  dynamic "statement" {
    for_each = local.use_pipeline ? [] : [1]

    content {
      sid       = "AssumeDeployRoles"
      actions   = ["sts:AssumeRole", "sts:TagSession"]
      resources = [for env in local.environment_names : local.deploy_role[env]]
    }
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

################################################################################
# Read-only roles of the scheduled jobs (docs/lifecycle.md): the biome board
# (CI_ROLE_ARN_BOARD) reads every environment's store here; the drift check
# (CI_ROLE_ARN_DRIFT_<ENV>) has a role in each workload account
# (workload-baseline, drift.tf). Both only for protected refs.
################################################################################

resource "aws_iam_role" "gitlab_board" {
  name                 = "${var.name_prefix}-gitlab-board"
  description          = "GitLab CI of ${var.gitlab_project_path}, protected refs: the biome board reads every store"
  assume_role_policy   = data.aws_iam_policy_document.gitlab_release_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "gitlab_board" {
  statement {
    sid       = "ReadStores"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = flatten([for env in local.environment_names : [module.artifact_bucket[env].bucket_arn, "${module.artifact_bucket[env].bucket_arn}/biomes/*"]])
  }

  statement {
    sid       = "DecryptStores"
    actions   = ["kms:Decrypt"]
    resources = [for env in local.environment_names : module.artifact_bucket[env].kms_key_arn]
  }
}

resource "aws_iam_role_policy" "gitlab_board" {
  name   = "read-only-board"
  role   = aws_iam_role.gitlab_board.id
  policy = data.aws_iam_policy_document.gitlab_board.json
}
