################################################################################
# CodeBuild projects split by trust (docs/pipeline.md, "Trust split").
#
# sandpit  deploy-<env>-sandpit, destroy-<env>: started for merge requests and
#          personal biomes, i.e. for code of any branch. Each build says which
#          biome (BIOME); the buildspec refuses any biome outside
#          ALLOWED_BIOMES ("<env>-*": never the main biome), the role may
#          not write the main biome's keys at all, and in the workload account
#          it may assume only <prefix>-deploy-<env>-sandpit, which cannot change
#          the main biome's resources or state (main.tf, workload-baseline).
# main     deploy-<first env>, promote-<env>: the main biomes. CodeBuild cannot
#          forbid overrides by itself, so (1) the project fixes BIOME /
#          FROM_BIOME / TO_ENV / TERRAFORM_APPLY and the allowed list, (2) IAM
#          denies any StartBuild on these projects that overrides the
#          buildspec, the source, the image, the service role or any
#          environment variable other than the CI job's identity, and (3) only
#          principals tied to protected refs (the GitLab release role, or the
#          pipeline) may start them at all: IAM has no condition key for the
#          commit (sourceVersion) a build runs.
################################################################################

variable "main_terraform_apply" {
  description = "Whether the main-biome projects run terraform plan/apply after deploying or promoting (their fixed TERRAFORM_APPLY)."
  type        = bool
  default     = false
}

variable "build_cache_bucket" {
  description = "S3 bucket for the CodeBuild caches (.nx/cache, npm), one prefix per project; null keeps a LOCAL cache on the build hosts."
  type        = string
  default     = null
}

locals {
  # Variables a StartBuild of a main project may still set: who started it, from where.
  ci_identity_variables = ["GITLAB_USER_LOGIN", "CI_JOB_URL", "CI_PIPELINE_URL", "CI_COMMIT_REF_NAME", "CI_MERGE_REQUEST_IID"]

  job_settings = {
    for key, job in local.jobs : key => {
      source_type = job.trust == "main" && var.main_orchestrator == "codepipeline" ? "CODEPIPELINE" : local.codebuild_source_type
      cache       = var.build_cache_bucket == null ? { type = "LOCAL", location = null } : { type = "S3", location = "${var.build_cache_bucket}/codebuild-cache/${var.name_prefix}-${key}" }
      # BIOME_NX_CACHE_SCOPE (docs/pipeline.md, "Shared build cache"): a main
      # project builds the protected branch (CodePipeline passes no ref), so it
      # says main; a sandpit project runs any branch and cannot prove which,
      # so it writes nothing and reads main's scope only.
      variables = job.trust == "sandpit" ? { ALLOWED_BIOMES = "${job.env}-*", BIOME_NX_CACHE_SCOPE = "none" } : job.job == "deploy" ? {
        BIOME                = job.env
        BASE_FALLBACK        = "all"
        ALLOWED_BIOMES       = job.env
        TERRAFORM_APPLY      = tostring(var.main_terraform_apply)
        BIOME_NX_CACHE_SCOPE = "main"
        } : {
        FROM_BIOME         = job.from
        TO_ENV             = job.env
        ALLOWED_PROMOTIONS = "${job.from}:${job.env}"
        TERRAFORM_APPLY    = tostring(var.main_terraform_apply)
      }
    }
  }

  main_project_arns    = [for key, job in local.jobs : module.codebuild[key].project_arn if job.trust == "main"]
  sandpit_project_keys = [for key, job in local.jobs : key if job.trust == "sandpit"]
}

data "aws_iam_policy_document" "main_projects_fixed" {
  statement {
    sid       = "NoBuildspecOverride"
    effect    = "Deny"
    actions   = ["codebuild:StartBuild", "codebuild:StartBuildBatch"]
    resources = local.main_project_arns

    condition {
      test     = "Null"
      variable = "codebuild:source.buildspec"
      values   = ["false"]
    }
  }

  statement {
    sid       = "NoSourceOverride"
    effect    = "Deny"
    actions   = ["codebuild:StartBuild", "codebuild:StartBuildBatch"]
    resources = local.main_project_arns

    condition {
      test     = "Null"
      variable = "codebuild:source.location"
      values   = ["false"]
    }
  }

  statement {
    sid       = "NoServiceRoleOverride"
    effect    = "Deny"
    actions   = ["codebuild:StartBuild", "codebuild:StartBuildBatch"]
    resources = local.main_project_arns

    condition {
      test     = "Null"
      variable = "codebuild:serviceRole"
      values   = ["false"]
    }
  }

  statement {
    sid       = "NoImageOverride"
    effect    = "Deny"
    actions   = ["codebuild:StartBuild", "codebuild:StartBuildBatch"]
    resources = local.main_project_arns

    condition {
      test     = "Null"
      variable = "codebuild:environment.image"
      values   = ["false"]
    }
  }

  statement {
    sid       = "OnlyIdentityVariables"
    effect    = "Deny"
    actions   = ["codebuild:StartBuild", "codebuild:StartBuildBatch"]
    resources = local.main_project_arns

    condition {
      test     = "ForAnyValue:StringNotEquals"
      variable = "codebuild:environment.environmentVariables.name"
      values   = local.ci_identity_variables
    }
  }
}

resource "aws_iam_policy" "main_projects_fixed" {
  name        = "${var.name_prefix}-codebuild-main-projects-fixed"
  description = "Denies StartBuild overrides (buildspec, source, role, image, variables) on the main-biome CodeBuild projects; attach to every principal that may start them."
  policy      = data.aws_iam_policy_document.main_projects_fixed.json
}

resource "aws_iam_role_policy_attachment" "main_projects_fixed" {
  for_each = {
    gitlab_release = aws_iam_role.gitlab_release.name
    gitlab_sandpit = aws_iam_role.gitlab_sandpit.name
  }

  role       = each.value
  policy_arn = aws_iam_policy.main_projects_fixed.arn
}

# Sandpit principals (any branch's code) never write or delete a main biome's
# ledger, history or metadata, and write artifacts once: a main biome's record
# names artifacts/<p>/<p>-<sha>.zip, so replacing those bytes would change
# what it runs at its next apply. A PutObject without If-None-Match (which S3
# refuses when the key exists) and every delete of an artifact are denied.
data "aws_iam_policy_document" "sandpit_not_main_biomes" {
  statement {
    sid       = "NoMainBiomeWrites"
    effect    = "Deny"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = [for env in local.sandpit_environments : "${module.artifact_bucket[env].bucket_arn}/biomes/${env}/*"]
  }

  # Nor a main biome's lease or main's collection lease (docs/reliability.md,
  # "Collection leases"): an entry there would make a main deploy wait and
  # fail with BIOME_LOCKED. Their own: locks/biomes/<env>-*, locks/gc-sandpits/.
  statement {
    sid       = "NoMainLeases"
    effect    = "Deny"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = flatten([for env in local.environment_names : ["${module.artifact_bucket[env].bucket_arn}/locks/biomes/${env}/*", "${module.artifact_bucket[env].bucket_arn}/locks/gc/*"]])
  }

  statement {
    sid       = "ArtifactsWriteOnce"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = [for env in local.environment_names : "${module.artifact_bucket[env].bucket_arn}/artifacts/*"]

    condition {
      test     = "Null"
      variable = "s3:if-none-match"
      values   = ["true"]
    }
  }

  statement {
    sid       = "ArtifactsNeverDeleted"
    effect    = "Deny"
    actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:PutObjectLegalHold", "s3:BypassGovernanceRetention"]
    resources = [for env in local.environment_names : "${module.artifact_bucket[env].bucket_arn}/artifacts/*"]
  }
}

resource "aws_iam_role_policy" "sandpit_not_main_biomes" {
  for_each = merge(
    { for key in local.sandpit_project_keys : key => module.codebuild[key].role_name },
    { gitlab-sandpit = aws_iam_role.gitlab_sandpit.name },
  )

  name   = "not-main-biomes"
  role   = each.value
  policy = data.aws_iam_policy_document.sandpit_not_main_biomes.json
}
