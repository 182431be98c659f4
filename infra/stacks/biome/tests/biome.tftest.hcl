# Plans the biome stack with mocked providers and the variables given on the
# command line (a rendered dist/terraform/<biome>.tfvars.json):
#
#   terraform -chdir=infra/stacks/biome init -backend=false
#   terraform -chdir=infra/stacks/biome workspace select -or-create <biome>
#   terraform -chdir=infra/stacks/biome test -var-file=../../../dist/terraform/<biome>.tfvars.json
#
# No AWS account or database is contacted. The test suite (test/infra) runs it
# with the tfvars the plugin renders, once awake and once asleep, and applies
# them (mocked) from an empty state.

# Well-formed ARNs for computed attributes: the mocked apply below feeds them
# to resources whose arguments the provider validates.
mock_provider "aws" {
  source = "../../tests/mocks"
}

# The mocked S3 gives every object one checksum, so the runs below that plan
# the rendered tfvars do not check them; the last two runs do.
variables {
  verify_artifact_checksums = false
}

run "rendered_biome_plans" {
  command = plan

  assert {
    condition     = length(module.service) == length(var.services) && length(module.workflow) == length(var.workflows) && length(module.model) == length(var.models)
    error_message = "Every service, workflow and model of the tfvars gets its resources."
  }

  assert {
    condition     = alltrue([for name, m in module.service : m.function_name == var.services[name].function_name])
    error_message = "Functions take the rendered names."
  }

  assert {
    condition     = endswith(local.deploy_role_arn, var.sandpit ? ":role/${var.name_prefix}-deploy-${var.environment}-sandpit" : ":role/${var.name_prefix}-deploy-${var.environment}") && endswith(local.permissions_boundary_arn, var.sandpit ? ":policy/${var.name_prefix}-boundary-${var.environment}-sandpit" : ":policy/${var.name_prefix}-boundary-${var.environment}")
    error_message = "A sandpit is applied by the sandpit deploy role and its roles carry the sandpit boundary; the main biome keeps <prefix>-deploy-<env> and <prefix>-boundary-<env>."
  }

  assert {
    condition     = alltrue([for name, m in module.service : m.reserved_concurrent_executions == (var.asleep ? 0 : -1)])
    error_message = "An asleep biome has reserved concurrency 0 on every function; an awake one is unreserved."
  }

  assert {
    condition     = alltrue([for name, m in module.model : m.key == "${var.model_prefix}${var.models[name].target_path}"])
    error_message = "Models are placed at <model_prefix><target_path>."
  }

  assert {
    condition     = alltrue([for name, w in module.workflow : w.state_machine_name == var.workflows[name].state_machine_name])
    error_message = "State machines take the rendered names."
  }

  assert {
    condition     = output.sagemaker_endpoint_name == "${var.name_prefix}-${var.environment}-models"
    error_message = "The biome uses its environment's shared endpoint."
  }
}

run "rendered_biome_applies" {
  command = apply

  assert {
    condition     = alltrue([for name, m in module.service : m.reserved_concurrent_executions == (var.asleep ? 0 : -1)]) && alltrue([for s in aws_scheduler_schedule.this : s.state == (var.asleep ? "DISABLED" : "ENABLED")])
    error_message = "Applied, an asleep biome throttles every function and disables its schedules; an awake one runs them."
  }

  assert {
    condition     = output.database_schema == (var.database_enabled ? var.database_schema : null) && length(module.database) == (var.database_enabled ? 1 : 0)
    error_message = "The biome's schema is made through the schema manager (one invocation), not a database provider."
  }

  assert {
    condition     = aws_s3_bucket.data.bucket == var.data_bucket
    error_message = "The biome's data bucket exists after the first apply."
  }
}

run "sandpit_in_single_tenant_environment_is_refused" {
  command = plan

  variables {
    environment = "staging"
    biome       = "staging-bob"
    data_bucket = "geo-staging-bob-data-222222222222"
    sandpit     = true
    services    = {}
    workflows   = {}
    models      = {}
  }

  expect_failures = [var.sandpit]
}

# Bytes replaced under a recorded key (or a replica without S3's checksum):
# the plan stops before any function points at them.
# One service whose recorded sha256 is "ff...ff": the mocked S3 reports that
# checksum (tests/mocks) unless a run overrides it.
run "artifact_bytes_equal_to_the_ledger_are_deployed_at_the_version_checked" {
  command = plan

  variables {
    verify_artifact_checksums = true
    workflows                 = {}
    models                    = {}
    services = {
      assay-ingest = {
        function_name    = "${var.name_prefix}-${var.biome}--assay-ingest"
        s3_key           = "artifacts/assay-ingest/assay-ingest-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.zip"
        source_code_hash = "//////////////////////////////////////////8="
        sha256           = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        git_sha          = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        dirty            = false
        handler          = "main.handler"
        runtime          = "nodejs22.x"
        memory_size      = 256
        timeout          = 30
        environment      = {}
        model            = null
        deployed_at      = "2026-11-20T10:00:00.000Z"
      }
    }
  }

  assert {
    condition     = module.service["assay-ingest"].s3_object_version == "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    error_message = "The function is pinned to the version whose checksum the plan checked."
  }
}

# Bytes replaced under a recorded key (or a replica without S3's checksum):
# the plan stops before any function points at them.
run "artifact_bytes_differing_from_the_ledger_are_refused" {
  command = plan

  variables {
    verify_artifact_checksums = true
    workflows                 = {}
    models                    = {}
    services = {
      assay-ingest = {
        function_name    = "${var.name_prefix}-${var.biome}--assay-ingest"
        s3_key           = "artifacts/assay-ingest/assay-ingest-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.zip"
        source_code_hash = "//////////////////////////////////////////8="
        sha256           = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        git_sha          = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        dirty            = false
        handler          = "main.handler"
        runtime          = "nodejs22.x"
        memory_size      = 256
        timeout          = 30
        environment      = {}
        model            = null
        deployed_at      = "2026-11-20T10:00:00.000Z"
      }
    }
  }

  override_data {
    target = data.aws_s3_object.service_package["assay-ingest"]
    values = {
      checksum_sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
      version_id      = "replaced"
    }
  }

  expect_failures = [data.aws_s3_object.service_package]
}
