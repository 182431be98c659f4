locals {
  tags = merge(var.tags, { managed_by = "terraform/infra/stacks/devops" })

  environment_names = sort(keys(var.environments))

  # Source bucket of each environment in the devops account: CI publishes
  # artifacts and ledgers here; S3 replicates them to the workload account.
  source_buckets = { for env in local.environment_names : env => "${var.name_prefix}-devops-artifacts-${env}-${var.devops_account_id}" }
  replica_bucket = { for env, e in var.environments : env => "${var.name_prefix}-artifacts-${env}-${e.account_id}" }
  deploy_role    = { for env, e in var.environments : env => "arn:aws:iam::${e.account_id}:role/${var.name_prefix}-deploy-${env}" }
  # workload-baseline's sandpit deploy role (multi-tenant environments): what
  # the sandpit projects, which run any branch's buildspec, assume instead.
  sandpit_deploy_role = { for env, e in var.environments : env => "arn:aws:iam::${e.account_id}:role/${var.name_prefix}-deploy-${env}-sandpit" }

  # CodeBuild projects, split by trust (codebuild-trust.tf): "sandpit" ones
  # (deploy and destroy sandpit biomes where sandpits live) take any branch's
  # code and per-build variables; "main" ones (deploy the first environment's
  # main biome, promote into every later environment) have their buildspec and
  # variables fixed.
  jobs = merge(
    { for env, e in var.environments : "deploy-${env}-sandpit" => { job = "deploy", env = env, from = null, trust = "sandpit" } if e.multi_tenant },
    { for env, e in var.environments : "destroy-${env}" => { job = "destroy", env = env, from = null, trust = "sandpit" } if e.multi_tenant },
    { "deploy-${var.promotion_order[0]}" = { job = "deploy", env = var.promotion_order[0], from = null, trust = "main" } },
    { for i, env in var.promotion_order : "promote-${env}" => { job = "promote", env = env, from = var.promotion_order[i - 1], trust = "main" } if i > 0 },
  )
}

################################################################################
# Source artifact buckets and their replication to the workload accounts
################################################################################

data "aws_iam_policy_document" "replication_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
  }
}

# Created first and on their own, so the workload buckets and keys can name
# them as principals before the replication rules that use them exist.
resource "aws_iam_role" "replication" {
  for_each = var.environments

  name               = "${var.name_prefix}-artifacts-${each.key}-replication"
  assume_role_policy = data.aws_iam_policy_document.replication_assume.json
}

module "artifact_bucket" {
  source   = "../../modules/artifact-bucket"
  for_each = var.environments

  bucket                  = local.source_buckets[each.key]
  create_replication_role = false
  replication_role_arn    = aws_iam_role.replication[each.key].arn
  # The drift check reads the environment's ledgers from its own account.
  read_principal_arns = [local.drift_roles[each.key]]

  replication_destinations = {
    (each.key) = {
      bucket_arn               = local.replicas[each.key].bucket_arn
      account_id               = each.value.account_id
      kms_key_arn              = local.replicas[each.key].kms_key_arn
      replication_time_control = var.replication_time_control
    }
  }
}

################################################################################
# CodeBuild: buildspecs/<job>.yml, one project per job and environment
################################################################################

module "codebuild" {
  source   = "../../modules/codebuild-job"
  for_each = local.jobs

  name                  = "${var.name_prefix}-${each.key}"
  description           = "${each.value.job} (${each.value.env}) from buildspecs/${each.value.job}.yml"
  buildspec             = "buildspecs/${each.value.job}.yml"
  source_location       = var.source_location
  source_connection_arn = local.source_connection_arn
  source_type           = local.job_settings[each.key].source_type
  cache                 = local.job_settings[each.key].cache

  # Deploys of one environment run one at a time; the pipeline also serialises per biome.
  concurrent_build_limit = each.value.job == "promote" ? 1 : null

  environment_variables = merge(
    {
      NX_DAEMON   = "false"
      NX_NO_CLOUD = "true"
      TARGET_ENV  = each.value.env
      # Sandpit projects open the state through the sandpit deploy role (backends/<env>-sandpit.s3.tfbackend).
      TF_CLI_ARGS_init = "-backend-config=backends/${each.value.env}${each.value.trust == "sandpit" ? "-sandpit" : ""}.s3.tfbackend"
      # The shared Nx cache (cache.tf): the buildspecs start nx run infra:cache-serve when it is set.
      BIOME_NX_CACHE = "s3://${aws_s3_bucket.nx_cache.bucket}/${local.nx_cache_prefix}"
    },
    # The stores this job reads and writes: the devops source buckets.
    { for env in compact([each.value.env, each.value.from]) : "BIOME_STORE_${upper(env)}" => "s3://${local.source_buckets[env]}" },
    # What the job may touch (and, for a main project, its fixed variables).
    local.job_settings[each.key].variables,
  )

  policy_statements = {
    for sid, s in {
      ListStore = {
        enabled   = true
        actions   = ["s3:ListBucket"]
        resources = distinct([for env in compact([each.value.env, each.value.from]) : module.artifact_bucket[env].bucket_arn])
      }
      WriteStore = {
        enabled   = true
        actions   = ["s3:GetObject", "s3:PutObject"]
        resources = ["${module.artifact_bucket[each.value.env].bucket_arn}/*"]
      }
      # A lease is released (and a stale one cleared) by deleting its entry;
      # a sandpit project is denied main's leases (sandpit_not_main_biomes).
      ReleaseLeases = {
        enabled   = each.value.job != "destroy"
        actions   = ["s3:DeleteObject"]
        resources = ["${module.artifact_bucket[each.value.env].bucket_arn}/locks/*"]
      }
      PruneStore = {
        enabled   = each.value.job == "destroy"
        actions   = ["s3:DeleteObject"]
        resources = ["${module.artifact_bucket[each.value.env].bucket_arn}/*"]
      }
      ReadPromotionSource = {
        enabled   = each.value.from != null
        actions   = ["s3:GetObject"]
        resources = ["${module.artifact_bucket[coalesce(each.value.from, each.value.env)].bucket_arn}/*"]
      }
      UseStoreKeys = {
        enabled   = true
        actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
        resources = distinct([for env in compact([each.value.env, each.value.from]) : module.artifact_bucket[env].kms_key_arn])
      }
      # The replica in the workload account: the replication wait HEADs artifacts there.
      ReadReplica = {
        enabled   = true
        actions   = ["s3:ListBucket", "s3:GetObject"]
        resources = ["arn:aws:s3:::${local.replica_bucket[each.value.env]}", "arn:aws:s3:::${local.replica_bucket[each.value.env]}/artifacts/*"]
      }
      # A sandpit project runs a branch's buildspec: it may assume only the
      # sandpit deploy role, never the one that can change the main biome.
      AssumeDeployRole = {
        enabled   = true
        actions   = ["sts:AssumeRole", "sts:TagSession"]
        resources = [each.value.trust == "sandpit" ? local.sandpit_deploy_role[each.value.env] : local.deploy_role[each.value.env]]
      }
    } : sid => { actions = s.actions, resources = s.resources } if s.enabled
  }
}
