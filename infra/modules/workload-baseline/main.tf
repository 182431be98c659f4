data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name

  # Every biome resource is named <prefix>-<biome>-..., and a biome name starts
  # with its environment, so <prefix>-<env>-* covers exactly the environment's
  # biomes. The deploy role and the boundary are named <prefix>-deploy-<env> and
  # <prefix>-boundary-<env>: outside that pattern, so the role cannot edit itself.
  biome_pattern = "${var.name_prefix}-${var.environment}-*"

  artifact_bucket = "${var.name_prefix}-artifacts-${var.environment}-${local.account}"
  state_bucket    = "${var.name_prefix}-tfstate-${var.environment}-${local.account}"
  models_bucket   = "${var.name_prefix}-models-${var.environment}-${local.account}"
  deploy_role     = "${var.name_prefix}-deploy-${var.environment}"
  boundary_name   = "${var.name_prefix}-boundary-${var.environment}"
  boundary_arn    = "arn:${local.partition}:iam::${local.account}:policy/${local.boundary_name}"

  # "arn:<partition>:<service>:<region>:<account>" of each regional service the
  # policies below name: every ARN carries its own service name.
  lambda_arn       = "arn:${local.partition}:lambda:${local.region}:${local.account}"
  logs_arn         = "arn:${local.partition}:logs:${local.region}:${local.account}"
  states_arn       = "arn:${local.partition}:states:${local.region}:${local.account}"
  scheduler_arn    = "arn:${local.partition}:scheduler:${local.region}:${local.account}"
  rds_arn          = "arn:${local.partition}:rds:${local.region}:${local.account}"
  rds_db_arn       = "arn:${local.partition}:rds-db:${local.region}:${local.account}"
  kms_arn          = "arn:${local.partition}:kms:${local.region}:${local.account}"
  sagemaker_arn    = "arn:${local.partition}:sagemaker:${local.region}:${local.account}"
  schema_manager   = "${var.name_prefix}-schema-manager-${var.environment}"
  role_arn_pattern = "arn:${local.partition}:iam::${local.account}:role/${local.biome_pattern}"

  # What the biome stack calls on the resources of one biome: shared by the
  # deploy role and the sandpit deploy role (sandpit.tf), which differ only in
  # the names they may touch.
  function_actions = [
    "lambda:CreateFunction",
    "lambda:DeleteFunction",
    "lambda:GetFunction",
    "lambda:GetFunctionConfiguration",
    "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetFunctionConcurrency",
    "lambda:GetRuntimeManagementConfig",
    "lambda:ListVersionsByFunction",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "lambda:PutFunctionConcurrency",
    "lambda:DeleteFunctionConcurrency",
    "lambda:TagResource",
    "lambda:UntagResource",
    "lambda:ListTags",
  ]
  state_machine_actions = [
    "states:CreateStateMachine",
    "states:UpdateStateMachine",
    "states:DeleteStateMachine",
    "states:DescribeStateMachine",
    "states:ListStateMachineVersions",
    "states:PublishStateMachineVersion",
    "states:DeleteStateMachineVersion",
    "states:CreateStateMachineAlias",
    "states:UpdateStateMachineAlias",
    "states:DeleteStateMachineAlias",
    "states:DescribeStateMachineAlias",
    "states:ListStateMachineAliases",
    "states:TagResource",
    "states:UntagResource",
    "states:ListTagsForResource",
  ]
  bounded_role_actions = [
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
  ]
  role_actions = [
    "iam:GetRole",
    "iam:DeleteRole",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy",
    "iam:GetRolePolicy",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
  ]
  log_group_actions = [
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:PutRetentionPolicy",
    "logs:DeleteRetentionPolicy",
    "logs:TagResource",
    "logs:UntagResource",
    "logs:ListTagsForResource",
    "logs:TagLogGroup",
    "logs:UntagLogGroup",
    "logs:ListTagsLogGroup",
  ]
  data_bucket_actions = [
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:GetBucketLocation",
    "s3:GetBucketAcl",
    "s3:GetBucketCORS",
    "s3:GetBucketWebsite",
    "s3:GetBucketVersioning",
    "s3:GetBucketRequestPayment",
    "s3:GetBucketLogging",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketTagging",
    "s3:PutBucketTagging",
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:GetBucketOwnershipControls",
    "s3:PutBucketOwnershipControls",
    "s3:GetBucketPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock",
    "s3:GetEncryptionConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:GetAccelerateConfiguration",
  ]
  schedule_actions = ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule"]
}

# The replica of the devops artifact bucket: Lambda reads code from a bucket in
# its own region and account, and the artifact deployer reacts to replicated
# ledger records.
module "artifact_bucket" {
  source = "../artifact-bucket"

  bucket                       = local.artifact_bucket
  replication_source_role_arns = var.replication_source_role_arns
  tags                         = var.tags

  # Before an apply, CI HEADs every artifact here until replication has
  # delivered it (infra:deploy --apply). No key grant: a HEAD decrypts nothing.
  artifact_head_principal_arns = concat(var.deployer_role_arns, var.sandpit_deployer_role_arns)
}

# Terraform state of the shared stack and of every biome workspace.
module "state_bucket" {
  source = "../artifact-bucket"

  bucket                             = local.state_bucket
  noncurrent_version_expiration_days = 90
  tags                               = var.tags
}

################################################################################
# Permissions boundary of every role a biome creates
################################################################################

data "aws_iam_policy_document" "boundary" {
  statement {
    sid       = "WriteBiomeLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.logs_arn}:log-group:/aws/lambda/${local.biome_pattern}", "${local.logs_arn}:log-group:/aws/vendedlogs/states/${local.biome_pattern}"]
  }

  statement {
    sid       = "UseBiomeDataBuckets"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${local.biome_pattern}"]
  }

  # Shared data sets (read-only) and the environment's own parameters and
  # secrets that settings refer to; each function role grants itself only the
  # prefixes and names its project declares (infra/stacks/biome/datasets.tf).
  statement {
    sid       = "ReadSharedDataSets"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.name_prefix}-datasets-${var.environment}-${local.account}", "arn:${local.partition}:s3:::${var.name_prefix}-datasets-${var.environment}-${local.account}/*"]
  }

  statement {
    sid       = "ReadEnvironmentSecrets"
    actions   = ["ssm:GetParameter", "secretsmanager:GetSecretValue"]
    resources = ["arn:${local.partition}:ssm:${local.region}:${local.account}:parameter/${var.name_prefix}/${var.environment}/*", "arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:${var.name_prefix}/${var.environment}/*"]
  }

  statement {
    sid       = "InvokeBiomeFunctions"
    actions   = ["lambda:InvokeFunction"]
    resources = ["${local.lambda_arn}:function:${local.biome_pattern}"]
  }

  statement {
    sid       = "RunBiomeStateMachines"
    actions   = ["states:StartExecution", "states:DescribeExecution", "states:StopExecution"]
    resources = ["${local.states_arn}:stateMachine:${local.biome_pattern}", "${local.states_arn}:execution:${local.biome_pattern}"]
  }

  statement {
    sid       = "ConnectAsBiomeRole"
    actions   = ["rds-db:connect"]
    resources = ["${local.rds_db_arn}:dbuser:*/biome_*"]
  }

  statement {
    sid       = "InvokeSharedModels"
    actions   = ["sagemaker:InvokeEndpoint"]
    resources = ["${local.sagemaker_arn}:endpoint/${var.name_prefix}-${var.environment}-models"]
  }

  # Network interfaces of VPC-attached functions and log delivery of state
  # machines: these actions support no resource-level permissions.
  statement {
    sid = "ServiceNetworkingAndLogDelivery"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
      "ec2:DescribeSubnets",
      "ec2:DescribeVpcs",
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "DecryptThroughS3"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["${local.kms_arn}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "boundary" {
  name        = local.boundary_name
  description = "Upper bound of the permissions of every role a ${var.environment} biome creates."
  policy      = data.aws_iam_policy_document.boundary.json
  tags        = var.tags
}

################################################################################
# Cross-account deploy role (assumed by the devops CodeBuild projects)
################################################################################

data "aws_iam_policy_document" "deploy_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "AWS"
      identifiers = var.deployer_role_arns
    }
  }

  # HCP Terraform: the main biome's workspace only, in either run phase.
  dynamic "statement" {
    for_each = local.hcp_terraform_provider_arns

    content {
      sid     = "HcpTerraformMainWorkspace"
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
        test     = "StringEquals"
        variable = "${var.hcp_terraform.hostname}:sub"
        values   = [for phase in ["plan", "apply"] : "${local.hcp_terraform_subject}:${local.main_workspace}:run_phase:${phase}"]
      }
    }
  }
}

resource "aws_iam_role" "deploy" {
  name                 = local.deploy_role
  description          = "Applies the biome stack of ${var.environment}; scoped to ${local.biome_pattern} resources."
  assume_role_policy   = data.aws_iam_policy_document.deploy_assume.json
  max_session_duration = 7200
  tags                 = var.tags

  # IAM refuses a trust policy naming an OIDC provider that does not exist yet.
  depends_on = [aws_iam_openid_connect_provider.hcp_terraform]
}

# What both deploy roles need whatever biome they apply: the state bucket's
# key and listing, artifacts, the models bucket's listing and key, and
# plan-time reads of the shared layer.
data "aws_iam_policy_document" "deploy_common" {
  statement {
    sid       = "TerraformStateList"
    actions   = ["s3:ListBucket"]
    resources = [module.state_bucket.bucket_arn]
  }

  statement {
    sid       = "TerraformStateKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.state_bucket.kms_key_arn]
  }

  # Lambda reads a function's package with the caller's permissions; the CI
  # also HEADs every artifact here before an apply (replication wait).
  statement {
    sid       = "ReadArtifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"]
    resources = ["${module.artifact_bucket.bucket_arn}/artifacts/*"]
  }

  statement {
    sid       = "ListArtifacts"
    actions   = ["s3:ListBucket"]
    resources = [module.artifact_bucket.bucket_arn]
  }

  statement {
    sid       = "DecryptArtifacts"
    actions   = ["kms:Decrypt"]
    resources = [module.artifact_bucket.kms_key_arn]
  }

  statement {
    sid       = "ListModels"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${local.models_bucket}"]
  }

  statement {
    sid       = "EncryptModels"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = ["${local.kms_arn}:key/*"]

    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "kms:ResourceAliases"
      values   = ["alias/${local.models_bucket}"]
    }
  }

  statement {
    sid       = "ReadSharedDatabase"
    actions   = ["rds:DescribeDBInstances"]
    resources = ["${local.rds_arn}:db:${var.name_prefix}-${var.environment}"]
  }

  # Read-only lookups of the shared network (aws_vpc reads the VPC's DNS
  # attributes), log delivery for state machine logging, and the generic
  # definition check the provider runs at plan time: none of these actions
  # supports resource-level permissions.
  statement {
    sid = "DescribeSharedResources"
    actions = [
      "ec2:DescribeVpcs",
      "ec2:DescribeVpcAttribute",
      "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeNetworkInterfaces",
      "logs:DescribeLogGroups",
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "states:ValidateStateMachineDefinition",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "DescribeSharedEndpoint"
    actions   = ["sagemaker:DescribeEndpoint"]
    resources = ["${local.sagemaker_arn}:endpoint/${var.name_prefix}-${var.environment}-models"]
  }
}

data "aws_iam_policy_document" "deploy" {
  source_policy_documents = [data.aws_iam_policy_document.deploy_common.json]

  # The biome stack's aws_lambda_invocation creates, updates and drops the
  # biome's schema and role through the shared schema manager.
  statement {
    sid       = "InvokeSchemaManager"
    actions   = ["lambda:InvokeFunction"]
    resources = ["${local.lambda_arn}:function:${local.schema_manager}"]
  }

  statement {
    sid       = "TerraformStateObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${module.state_bucket.bucket_arn}/*"]
  }

  statement {
    sid       = "PlaceModels"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging", "s3:PutObjectTagging"]
    resources = ["arn:${local.partition}:s3:::${local.models_bucket}/${var.model_prefix}${var.environment}*"]
  }

  statement {
    sid       = "ManageBiomeFunctions"
    actions   = local.function_actions
    resources = ["${local.lambda_arn}:function:${local.biome_pattern}"]
  }

  statement {
    sid     = "ManageBiomeStateMachines"
    actions = local.state_machine_actions
    # Versions and aliases are <state machine ARN>:<n|alias>, matched by the trailing *.
    resources = ["${local.states_arn}:stateMachine:${local.biome_pattern}"]
  }

  statement {
    sid       = "ManageBiomeSchedules"
    actions   = local.schedule_actions
    resources = ["${local.scheduler_arn}:schedule/default/${local.biome_pattern}"]
  }

  # A biome role can only be created, and its policies only changed, while it
  # carries the boundary: the deploy role can never mint or widen a role
  # beyond what the boundary allows. IAM evaluates iam:PermissionsBoundary on
  # exactly these actions.
  statement {
    sid       = "ManageBoundedBiomeRoles"
    actions   = local.bounded_role_actions
    resources = [local.role_arn_pattern]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.boundary_arn]
    }
  }

  statement {
    sid       = "AttachOnlyVpcAccessToBoundedRoles"
    actions   = ["iam:AttachRolePolicy"]
    resources = [local.role_arn_pattern]

    condition {
      test     = "ArnEquals"
      variable = "iam:PolicyARN"
      values   = ["arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"]
    }

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.boundary_arn]
    }
  }

  # Reads, tags, trust policy and deletion: none of them can raise what a
  # role may do above its boundary (every role in the pattern carries it; the
  # shared stack names its own roles outside the pattern).
  statement {
    sid       = "ReadAndRetireBiomeRoles"
    actions   = local.role_actions
    resources = [local.role_arn_pattern]
  }

  statement {
    sid       = "PassBiomeRoles"
    actions   = ["iam:PassRole"]
    resources = [local.role_arn_pattern]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["lambda.amazonaws.com", "states.amazonaws.com", "scheduler.amazonaws.com"]
    }
  }

  statement {
    sid     = "ManageBiomeLogGroups"
    actions = local.log_group_actions
    resources = [
      "${local.logs_arn}:log-group:/aws/lambda/${local.biome_pattern}",
      "${local.logs_arn}:log-group:/aws/vendedlogs/states/${local.biome_pattern}",
    ]
  }

  # What aws_s3_bucket and its companion resources call on a data bucket
  # (Delete* of public access block, ownership controls and encryption are
  # authorised by the matching Put* action).
  statement {
    sid       = "ManageBiomeDataBuckets"
    actions   = local.data_bucket_actions
    resources = ["arn:${local.partition}:s3:::${local.biome_pattern}"]
  }

  # force_destroy of a sandpit's data bucket empties it first.
  statement {
    sid       = "EmptySandpitDataBuckets"
    actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = ["arn:${local.partition}:s3:::${local.biome_pattern}/*"]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy-biomes"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}
