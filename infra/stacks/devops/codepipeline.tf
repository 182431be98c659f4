################################################################################
# AWS CodePipeline (V2): the alternative orchestrator of the default branch
# (docs/pipeline.md, "Which orchestrator drives main").
#
#   Source (GitLab push to main, through a CodeConnections connection)
#   → DeployDev        CodeBuild <prefix>-deploy-<first env>   buildspecs/deploy.yml
#   → ApproveStaging   manual approval
#   → PromoteStaging   CodeBuild <prefix>-promote-<2nd env>    buildspecs/promote.yml
#   → ApproveProd      manual approval
#   → PromoteProd      CodeBuild <prefix>-promote-<3rd env>    buildspecs/promote.yml
#
# A failed action fails its stage and the execution stops there: nothing later
# runs (on_failure FAIL). With main_orchestrator = "codepipeline" the main-biome
# CodeBuild projects take their source from this pipeline only, and
# .gitlab-ci.yml must set MAIN_ORCHESTRATOR=codepipeline so its deploy:dev and
# promote jobs leave main alone (nothing deploys twice).
#
# The connection is created PENDING: an administrator completes the GitLab
# handshake once in the console (Developer Tools › Settings › Connections).
################################################################################

variable "main_orchestrator" {
  description = "Who deploys and promotes the default branch: \"gitlab\" (the GitLab pipeline's deploy:dev and promote jobs) or \"codepipeline\" (this stack's pipeline). Set MAIN_ORCHESTRATOR to the same value in .gitlab-ci.yml."
  type        = string
  default     = "gitlab"

  validation {
    condition     = contains(["gitlab", "codepipeline"], var.main_orchestrator)
    error_message = "main_orchestrator must be gitlab or codepipeline."
  }
}

variable "gitlab_provider_type" {
  description = "CodeConnections provider of the GitLab instance: GitLab (gitlab.com) or GitLabSelfManaged (then gitlab_url is its host)."
  type        = string
  default     = "GitLab"

  validation {
    condition     = contains(["GitLab", "GitLabSelfManaged"], var.gitlab_provider_type)
    error_message = "gitlab_provider_type must be GitLab or GitLabSelfManaged."
  }
}

variable "pipeline_branch" {
  description = "Branch whose pushes start the pipeline (a protected branch)."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]+$", var.pipeline_branch))
    error_message = "pipeline_branch must be an exact branch name."
  }
}

locals {
  use_pipeline = var.main_orchestrator == "codepipeline"

  # One connection for CodeBuild's clones and the pipeline's source, unless one is given.
  create_connection     = var.source_connection_arn == null
  source_connection_arn = local.create_connection ? aws_codestarconnections_connection.gitlab[0].arn : var.source_connection_arn
  codebuild_source_type = var.gitlab_provider_type == "GitLab" ? "GITLAB" : "GITLAB_SELF_MANAGED"

  pipeline_name = "${var.name_prefix}-main"
  first_env     = var.promotion_order[0]
  # The pipeline's stages after the source: deploy the first environment, then approve and promote each next one.
  pipeline_steps = concat(
    [{ stage = "Deploy${title(local.first_env)}", project = "deploy-${local.first_env}", approval = false }],
    flatten([for env in slice(var.promotion_order, 1, length(var.promotion_order)) : [
      { stage = "Approve${title(env)}", project = null, approval = true },
      { stage = "Promote${title(env)}", project = "promote-${env}", approval = false },
    ]]),
  )
  pipeline_projects = [for s in local.pipeline_steps : s.project if s.project != null]
}

resource "aws_codestarconnections_host" "gitlab" {
  count = local.create_connection && var.gitlab_provider_type == "GitLabSelfManaged" ? 1 : 0

  name              = "${var.name_prefix}-gitlab"
  provider_endpoint = var.gitlab_url
  provider_type     = "GitLabSelfManaged"
}

resource "aws_codestarconnections_connection" "gitlab" {
  count = local.create_connection ? 1 : 0

  name          = "${var.name_prefix}-gitlab"
  provider_type = var.gitlab_provider_type == "GitLab" ? "GitLab" : null
  host_arn      = var.gitlab_provider_type == "GitLabSelfManaged" ? aws_codestarconnections_host.gitlab[0].arn : null
}

# The pipeline's artifact store: the source action's clone reference and nothing else.
module "pipeline_artifacts" {
  source = "../../modules/artifact-bucket"
  count  = local.use_pipeline ? 1 : 0

  bucket = "${var.name_prefix}-devops-pipeline-${var.devops_account_id}"
}

data "aws_iam_policy_document" "pipeline_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["codepipeline.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "pipeline" {
  count = local.use_pipeline ? 1 : 0

  name               = "${local.pipeline_name}-pipeline"
  assume_role_policy = data.aws_iam_policy_document.pipeline_assume.json
}

data "aws_iam_policy_document" "pipeline" {
  count = local.use_pipeline ? 1 : 0

  statement {
    sid       = "UseArtifactStore"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:GetBucketVersioning"]
    resources = [module.pipeline_artifacts[0].bucket_arn, "${module.pipeline_artifacts[0].bucket_arn}/*"]
  }

  statement {
    sid       = "UseArtifactKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.pipeline_artifacts[0].kms_key_arn]
  }

  statement {
    sid       = "ReadSource"
    actions   = ["codeconnections:UseConnection", "codestar-connections:UseConnection"]
    resources = [local.source_connection_arn]
  }

  statement {
    sid       = "RunMainBuilds"
    actions   = ["codebuild:StartBuild", "codebuild:BatchGetBuilds"]
    resources = [for key in local.pipeline_projects : module.codebuild[key].project_arn]
  }
}

resource "aws_iam_role_policy" "pipeline" {
  count = local.use_pipeline ? 1 : 0

  name   = "pipeline"
  role   = aws_iam_role.pipeline[0].id
  policy = data.aws_iam_policy_document.pipeline[0].json
}

# The main-biome builds read the clone reference from the artifact store.
data "aws_iam_policy_document" "pipeline_builds" {
  count = local.use_pipeline ? 1 : 0

  statement {
    sid       = "ReadPipelineArtifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${module.pipeline_artifacts[0].bucket_arn}/*"]
  }

  statement {
    sid       = "DecryptPipelineArtifacts"
    actions   = ["kms:Decrypt"]
    resources = [module.pipeline_artifacts[0].kms_key_arn]
  }
}

resource "aws_iam_role_policy" "pipeline_builds" {
  for_each = local.use_pipeline ? toset(local.pipeline_projects) : toset([])

  name   = "pipeline-artifacts"
  role   = module.codebuild[each.value].role_name
  policy = data.aws_iam_policy_document.pipeline_builds[0].json
}

resource "aws_codepipeline" "main" {
  count = local.use_pipeline ? 1 : 0

  name          = local.pipeline_name
  pipeline_type = "V2"
  # A newer push overtakes an older execution still waiting (e.g. at an approval).
  execution_mode = "SUPERSEDED"
  role_arn       = aws_iam_role.pipeline[0].arn

  artifact_store {
    type     = "S3"
    location = module.pipeline_artifacts[0].bucket_id

    encryption_key {
      type = "KMS"
      id   = module.pipeline_artifacts[0].kms_key_arn
    }
  }

  # Only pushes to the branch start the pipeline (no polling, no tags).
  trigger {
    provider_type = "CodeStarSourceConnection"

    git_configuration {
      source_action_name = "GitLab"

      push {
        branches {
          includes = [var.pipeline_branch]
        }
      }
    }
  }

  stage {
    name = "Source"

    action {
      name             = "GitLab"
      category         = "Source"
      owner            = "AWS"
      provider         = "CodeStarSourceConnection"
      version          = "1"
      output_artifacts = ["source"]

      configuration = {
        ConnectionArn    = local.source_connection_arn
        FullRepositoryId = var.gitlab_project_path
        BranchName       = var.pipeline_branch
        # A full git clone for the builds (nx affected needs the history), not a zip of the tree.
        OutputArtifactFormat = "CODEBUILD_CLONE_REF"
        DetectChanges        = "false"
      }
    }
  }

  dynamic "stage" {
    for_each = local.pipeline_steps

    content {
      name = stage.value.stage

      # A failed build or a rejected approval ends the execution here.
      on_failure {
        result = "FAIL"
      }

      dynamic "action" {
        for_each = stage.value.approval ? [stage.value] : []

        content {
          name     = "Approve"
          category = "Approval"
          owner    = "AWS"
          provider = "Manual"
          version  = "1"

          configuration = {
            CustomData = "Promote what the previous stage left in its biome to the next environment."
          }
        }
      }

      dynamic "action" {
        for_each = stage.value.approval ? [] : [stage.value]

        content {
          name            = "Build"
          category        = "Build"
          owner           = "AWS"
          provider        = "CodeBuild"
          version         = "1"
          input_artifacts = ["source"]

          # The project fixes the buildspec and the biome; the pipeline passes nothing.
          configuration = {
            ProjectName = module.codebuild[action.value.project].project_name
          }
        }
      }
    }
  }

  depends_on = [aws_iam_role_policy.pipeline]
}

output "codepipeline_name" {
  description = "The pipeline that drives the default branch (null while main_orchestrator is gitlab)."
  value       = local.use_pipeline ? aws_codepipeline.main[0].name : null
}

output "gitlab_connection_arn" {
  description = "CodeConnections connection to GitLab (complete its handshake once in the console)."
  value       = local.source_connection_arn
}
