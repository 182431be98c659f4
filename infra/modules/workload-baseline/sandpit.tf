################################################################################
# Sandpit deploy role (multi-tenant environments only)
#
# The sandpit CodeBuild projects run a branch's buildspec, so whatever role
# they hold, a merge request holds. They get <prefix>-deploy-<env>-sandpit
# instead of the deploy role: the same actions, on sandpit names only.
#
# Names (tools/nx-biome/src/core/names.ts): a project's resources are
# <prefix>-<biome>--<project>, biome and project names hold single hyphens
# only, and a sandpit biome is <env>-<suffix>. So
#   <prefix>-<env>-?*--*   matches geo-dev-bob--assay-ingest (sandpit dev-bob)
#                          but never geo-dev--assay-ingest (main biome dev):
#                          after "geo-dev-" comes "-assay-ingest", whose tail
#                          "assay-ingest" would have to hold a "--".
# The two biome-level names follow <prefix>-<biome>-<what>; the main biome's
# is exactly <prefix>-<env>-<what>, too short for <prefix>-<env>-?*-<what>.
# A main project named e.g. "x-scheduler" gives the main role
# geo-dev--x-scheduler, which geo-dev-?*-scheduler DOES match, and a
# qualified ARN (geo-dev--wf:a--b) can match the project pattern: the
# explicit Deny on <prefix>-<env>--* (never_main_biome) closes both, and
# never matches a sandpit name (a biome name cannot start with "-").
################################################################################

locals {
  sandpit_deploy_role   = "${local.deploy_role}-sandpit"
  sandpit_boundary_name = "${local.boundary_name}-sandpit"
  sandpit_boundary_arn  = "arn:${local.partition}:iam::${local.account}:policy/${local.sandpit_boundary_name}"

  # <prefix>-<env>-<suffix>--<project>: a sandpit's functions, state machines,
  # schedules, log groups and roles.
  sandpit_pattern = "${var.name_prefix}-${var.environment}-?*--*"
  # <prefix>-<env>--<project>: the main biome's.
  main_pattern = "${var.name_prefix}-${var.environment}--*"

  sandpit_role_arns = [
    "arn:${local.partition}:iam::${local.account}:role/${local.sandpit_pattern}",
    "arn:${local.partition}:iam::${local.account}:role/${var.name_prefix}-${var.environment}-?*-scheduler",
  ]
  sandpit_data_buckets = "arn:${local.partition}:s3:::${var.name_prefix}-${var.environment}-?*-data-${local.account}"
  main_data_bucket     = "arn:${local.partition}:s3:::${var.name_prefix}-${var.environment}-data-${local.account}"

  # The S3 backend stores workspace <biome> at <workspace_key_prefix>/<biome>/<key>
  # (stacks/biome/backends/*.s3.tfbackend: "biomes"); the default workspace
  # (<key>) and the shared stack's state are outside both patterns.
  sandpit_state_objects = "${module.state_bucket.bucket_arn}/${var.state_workspace_key_prefix}/${var.environment}-?*/*"
  main_state_objects    = "${module.state_bucket.bucket_arn}/${var.state_workspace_key_prefix}/${var.environment}/*"
}

# Nothing of the main biome, whatever an Allow elsewhere says: attached to the
# sandpit deploy role and part of the sandpit boundary, so neither the role nor
# any role it creates can touch a main-biome function, state machine,
# execution, schedule, log group, role, data bucket, state, model or database
# user, nor invoke the schema manager that serves the main biome.
data "aws_iam_policy_document" "never_main_biome" {
  statement {
    sid     = "NoMainBiomeResources"
    effect  = "Deny"
    actions = ["lambda:*", "states:*", "scheduler:*", "logs:*", "iam:*", "s3:*", "rds-db:*", "sts:*"]
    resources = [
      "${local.lambda_arn}:function:${local.main_pattern}",
      "${local.lambda_arn}:function:${local.schema_manager}",
      "${local.states_arn}:stateMachine:${local.main_pattern}",
      "${local.states_arn}:execution:${local.main_pattern}",
      "${local.scheduler_arn}:schedule/*/${local.main_pattern}",
      "${local.logs_arn}:log-group:/aws/lambda/${local.main_pattern}",
      "${local.logs_arn}:log-group:/aws/vendedlogs/states/${local.main_pattern}",
      "arn:${local.partition}:iam::${local.account}:role/${local.main_pattern}",
      "arn:${local.partition}:iam::${local.account}:role/${var.name_prefix}-${var.environment}-scheduler",
      "arn:${local.partition}:iam::${local.account}:role/${local.deploy_role}",
      local.main_data_bucket,
      "${local.main_data_bucket}/*",
      local.main_state_objects,
      "arn:${local.partition}:s3:::${local.models_bucket}/${var.model_prefix}${var.environment}/*",
      "${local.rds_db_arn}:dbuser:*/biome_${var.environment}",
    ]
  }
}

# What a sandpit's role may reach of its OWN biome only, replacing the
# environment-wide statements of the boundary (same sids): parameters and
# secrets under /<prefix>/<env>/<biome>/, the biome's database user, its data
# bucket. The biome stack tags every role with biome and database_user
# (provider default_tags); the tag must name a sandpit (<env>-?*, biome_<env>_?*),
# never the main biome, whose names never_main_biome denies as well.
data "aws_iam_policy_document" "sandpit_own_biome" {
  statement {
    sid       = "UseBiomeDataBuckets"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.name_prefix}-&{aws:PrincipalTag/biome}-data-${local.account}", "arn:${local.partition}:s3:::${var.name_prefix}-&{aws:PrincipalTag/biome}-data-${local.account}/*"]

    condition {
      test     = "StringLike"
      variable = "aws:PrincipalTag/biome"
      values   = ["${var.environment}-?*"]
    }
  }

  statement {
    sid     = "ReadEnvironmentSecrets"
    actions = ["ssm:GetParameter", "secretsmanager:GetSecretValue"]
    resources = [
      "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter/${var.name_prefix}/${var.environment}/&{aws:PrincipalTag/biome}/*",
      "arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:${var.name_prefix}/${var.environment}/&{aws:PrincipalTag/biome}/*",
    ]

    condition {
      test     = "StringLike"
      variable = "aws:PrincipalTag/biome"
      values   = ["${var.environment}-?*"]
    }
  }

  statement {
    sid       = "ConnectAsBiomeRole"
    actions   = ["rds-db:connect"]
    resources = ["${local.rds_db_arn}:dbuser:*/&{aws:PrincipalTag/database_user}"]

    condition {
      test     = "StringLike"
      variable = "aws:PrincipalTag/database_user"
      values   = ["biome_${replace(var.environment, "-", "_")}_?*"]
    }
  }
}

# Upper bound of every role a sandpit creates: the environment's boundary
# without the main biome, and with the biome's own data, secrets and database
# user instead of the environment's.
data "aws_iam_policy_document" "sandpit_boundary" {
  source_policy_documents   = [data.aws_iam_policy_document.boundary.json, data.aws_iam_policy_document.never_main_biome.json]
  override_policy_documents = [data.aws_iam_policy_document.sandpit_own_biome.json]
}

resource "aws_iam_policy" "sandpit_boundary" {
  count = var.multi_tenant ? 1 : 0

  name        = local.sandpit_boundary_name
  description = "Upper bound of the permissions of every role a ${var.environment} sandpit creates: never the main biome."
  policy      = data.aws_iam_policy_document.sandpit_boundary.json
  tags        = var.tags
}

data "aws_iam_policy_document" "sandpit_deploy_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "AWS"
      identifiers = var.sandpit_deployer_role_arns
    }
  }

  # HCP Terraform: sandpit workspaces <prefix>-<env>-<suffix> of the sandpit project only (never the main biome's <prefix>-<env>).
  dynamic "statement" {
    for_each = local.hcp_terraform_provider_arns

    content {
      sid     = "HcpTerraformSandpitWorkspaces"
      actions = ["sts:AssumeRoleWithWebIdentity"]

      principals {
        type        = "Federated"
        identifiers = [statement.value]
      }

      condition {
        test     = "StringEquals"
        variable = "${var.hcp_terraform.hostname}:aud"
        values   = [local.hcp_terraform_audience]
      }

      condition {
        test     = "StringLike"
        variable = "${var.hcp_terraform.hostname}:sub"
        values   = [for phase in ["plan", "apply"] : "${local.hcp_sandpit_subject}:${local.main_workspace}-?*:run_phase:${phase}"]
      }
    }
  }
}

resource "aws_iam_role" "sandpit_deploy" {
  count = var.multi_tenant ? 1 : 0

  name                 = local.sandpit_deploy_role
  description          = "Applies sandpit biome stacks of ${var.environment}; scoped to ${local.sandpit_pattern} resources, never the main biome."
  assume_role_policy   = data.aws_iam_policy_document.sandpit_deploy_assume.json
  max_session_duration = 7200
  tags                 = var.tags

  # IAM refuses a trust policy naming an OIDC provider that does not exist yet.
  depends_on = [aws_iam_openid_connect_provider.hcp_terraform]
}

data "aws_iam_policy_document" "sandpit_deploy" {
  source_policy_documents = [data.aws_iam_policy_document.deploy_common.json]

  # The sandpit schema manager only: it refuses the main biome's schema.
  statement {
    sid       = "InvokeSandpitSchemaManager"
    actions   = ["lambda:InvokeFunction"]
    resources = ["${local.lambda_arn}:function:${local.schema_manager}-sandpit"]
  }

  statement {
    sid       = "SandpitTerraformState"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [local.sandpit_state_objects]
  }

  # Model keys are <model_prefix><biome>/...: "<env>-" never starts the main biome's "<env>/".
  statement {
    sid       = "PlaceSandpitModels"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging", "s3:PutObjectTagging"]
    resources = ["arn:${local.partition}:s3:::${local.models_bucket}/${var.model_prefix}${var.environment}-*"]
  }

  statement {
    sid       = "ManageSandpitFunctions"
    actions   = local.function_actions
    resources = ["${local.lambda_arn}:function:${local.sandpit_pattern}"]
  }

  statement {
    sid       = "ManageSandpitStateMachines"
    actions   = local.state_machine_actions
    resources = ["${local.states_arn}:stateMachine:${local.sandpit_pattern}"]
  }

  statement {
    sid       = "ManageSandpitSchedules"
    actions   = local.schedule_actions
    resources = ["${local.scheduler_arn}:schedule/default/${local.sandpit_pattern}"]
  }

  statement {
    sid       = "ManageBoundedSandpitRoles"
    actions   = local.bounded_role_actions
    resources = local.sandpit_role_arns

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.sandpit_boundary_arn]
    }
  }

  statement {
    sid       = "AttachOnlyVpcAccessToBoundedSandpitRoles"
    actions   = ["iam:AttachRolePolicy"]
    resources = local.sandpit_role_arns

    condition {
      test     = "ArnEquals"
      variable = "iam:PolicyARN"
      values   = ["arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"]
    }

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.sandpit_boundary_arn]
    }
  }

  # Never iam:UpdateAssumeRolePolicy: a branch must not make a sandpit role
  # assumable from elsewhere (the trust CreateRole sets is the biome stack's:
  # IAM has no condition key on a trust document, see docs/pipeline.md).
  statement {
    sid       = "ReadAndRetireSandpitRoles"
    actions   = [for a in local.role_actions : a if a != "iam:UpdateAssumeRolePolicy"]
    resources = local.sandpit_role_arns
  }

  statement {
    sid       = "PassSandpitRoles"
    actions   = ["iam:PassRole"]
    resources = local.sandpit_role_arns

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["lambda.amazonaws.com", "states.amazonaws.com", "scheduler.amazonaws.com"]
    }
  }

  statement {
    sid       = "ManageSandpitLogGroups"
    actions   = local.log_group_actions
    resources = ["${local.logs_arn}:log-group:/aws/lambda/${local.sandpit_pattern}", "${local.logs_arn}:log-group:/aws/vendedlogs/states/${local.sandpit_pattern}"]
  }

  statement {
    sid       = "ManageSandpitDataBuckets"
    actions   = local.data_bucket_actions
    resources = [local.sandpit_data_buckets]
  }

  statement {
    sid       = "EmptySandpitDataBuckets"
    actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = ["${local.sandpit_data_buckets}/*"]
  }
}

resource "aws_iam_role_policy" "sandpit_deploy" {
  count = var.multi_tenant ? 1 : 0

  name   = "deploy-sandpits"
  role   = aws_iam_role.sandpit_deploy[0].id
  policy = data.aws_iam_policy_document.sandpit_deploy.json
}

resource "aws_iam_role_policy" "sandpit_never_main_biome" {
  count = var.multi_tenant ? 1 : 0

  name   = "never-main-biome"
  role   = aws_iam_role.sandpit_deploy[0].id
  policy = data.aws_iam_policy_document.never_main_biome.json
}
