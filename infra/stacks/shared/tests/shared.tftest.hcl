# Plans the shared stack with mocked providers (no AWS account is contacted):
#
#   terraform -chdir=infra/stacks/shared init -backend=false
#   terraform -chdir=infra/stacks/shared test
#
# The last run applies the whole stack (artifact deployer and schema manager
# included) from an empty state.

# Well-formed ARNs for computed attributes: a mocked apply feeds them to
# resources whose arguments the provider validates.
mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  environment     = "dev"
  aws_region      = "ap-southeast-2"
  aws_account_id  = "111111111111"
  inference_image = "111111111111.dkr.ecr.ap-southeast-2.amazonaws.com/inference:1"
}

run "without_a_package_no_artifact_deployer" {
  command = plan

  assert {
    condition     = length(module.artifact_deployer) == 0 && length(aws_sqs_queue.artifact_deployer) == 0 && length(aws_s3_bucket_notification.artifact_bucket) == 0 && length(aws_lambda_event_source_mapping.artifact_deployer) == 0
    error_message = "Without artifact_deployer_s3_key the stack deploys no artifact deployer and leaves the bucket's notifications alone."
  }
}

run "artifact_deployer_is_wired" {
  command = plan

  variables {
    artifact_deployer_s3_key           = "artifacts/artifact-deployer/artifact-deployer-0123456789abcdef0123456789abcdef01234567.zip"
    artifact_deployer_source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }

  assert {
    condition     = module.artifact_deployer[0].function_name == "geo-artifact-deployer-dev" && module.artifact_deployer[0].reserved_concurrent_executions == 2
    error_message = "One deployer per account, <prefix>-artifact-deployer-<env>, reserved concurrency 2 (not below the event source's maximum concurrency)."
  }

  assert {
    condition     = output.artifact_deployer_function_name == "geo-artifact-deployer-dev"
    error_message = "The output names the deployer."
  }

  assert {
    condition = alltrue([
      for q in aws_s3_bucket_notification.artifact_bucket[0].queue :
      q.filter_prefix == "biomes/" && q.filter_suffix == ".json" && q.events == toset(["s3:ObjectCreated:*"])
    ]) && aws_s3_bucket_notification.artifact_bucket[0].bucket == "geo-artifacts-dev-111111111111"
    error_message = "Ledger records created in the account's artifact bucket notify the queue."
  }

  assert {
    condition     = aws_sqs_queue.artifact_deployer[0].visibility_timeout_seconds == 1800 && aws_sqs_queue.artifact_deployer[0].sqs_managed_sse_enabled && aws_sqs_queue.artifact_deployer_dlq[0].sqs_managed_sse_enabled
    error_message = "The queues are encrypted and a message in work stays hidden for 1800 s."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.artifact_deployer[0].batch_size == 1
    error_message = "One event per invocation."
  }
}

run "package_key_without_its_hash_is_refused" {
  command = plan

  variables {
    artifact_deployer_s3_key = "artifacts/artifact-deployer/artifact-deployer-0123456789abcdef0123456789abcdef01234567.zip"
  }

  expect_failures = [var.artifact_deployer_source_code_hash]
}

run "package_outside_the_deployer_prefix_is_refused" {
  command = plan

  variables {
    artifact_deployer_s3_key           = "artifacts/assay-ingest/assay-ingest-0123456789abcdef0123456789abcdef01234567.zip"
    artifact_deployer_source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }

  expect_failures = [var.artifact_deployer_s3_key]
}

run "schema_manager_runs_in_the_vpc_with_the_master_secret_by_reference" {
  command = plan

  variables {
    schema_manager_s3_key           = "artifacts/schema-manager/schema-manager-0123456789abcdef0123456789abcdef01234567.zip"
    schema_manager_source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    sandpit_schema_manager          = true
  }

  assert {
    condition     = module.schema_manager["main"].function_name == "geo-schema-manager-dev" && module.schema_manager["main"].reserved_concurrent_executions == 1
    error_message = "One schema manager per account, <prefix>-schema-manager-<env> (outside the biome pattern), one change at a time."
  }

  assert {
    condition     = module.schema_manager["sandpit"].function_name == "geo-schema-manager-dev-sandpit" && local.schema_managers["sandpit"].environment == { SCHEMA_PREFIX = "biome_dev_" } && length(local.schema_managers["main"].environment) == 0
    error_message = "The sandpit schema manager serves biome_dev_* schemas only (SCHEMA_PREFIX); the main one is unrestricted."
  }

  assert {
    condition     = contains(local.interface_endpoints, "secretsmanager")
    error_message = "The schema manager reaches Secrets Manager from the private subnets through an interface endpoint."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.database_from_schema_manager[0].from_port == 5432 && aws_vpc_security_group_egress_rule.schema_manager_https[0].cidr_ipv4 == var.vpc_cidr
    error_message = "The schema manager talks to Postgres and, over HTTPS, to endpoints inside the VPC only."
  }

  assert {
    condition     = aws_iam_role.sagemaker.name == "geo-models-endpoint-dev"
    error_message = "The endpoint's role is named outside <prefix>-<env>-*, where the deploy role could edit it."
  }
}

run "schema_manager_key_without_its_hash_is_refused" {
  command = plan

  variables {
    schema_manager_s3_key = "artifacts/schema-manager/schema-manager-0123456789abcdef0123456789abcdef01234567.zip"
  }

  expect_failures = [var.schema_manager_source_code_hash]
}

run "applies_from_an_empty_state" {
  command = apply

  variables {
    artifact_deployer_s3_key           = "artifacts/artifact-deployer/artifact-deployer-0123456789abcdef0123456789abcdef01234567.zip"
    artifact_deployer_source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    schema_manager_s3_key              = "artifacts/schema-manager/schema-manager-0123456789abcdef0123456789abcdef01234567.zip"
    schema_manager_source_code_hash    = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }

  assert {
    condition     = output.schema_manager_function_name == "geo-schema-manager-dev" && output.artifact_deployer_function_name == "geo-artifact-deployer-dev"
    error_message = "Both account-level functions exist after the first apply."
  }
}
