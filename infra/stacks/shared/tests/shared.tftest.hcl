# Plans the shared stack with mocked providers (no AWS account is contacted):
#
#   terraform -chdir=infra/stacks/shared init -backend=false
#   terraform -chdir=infra/stacks/shared test

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_availability_zones" {
    defaults = {
      names = ["ap-southeast-2a", "ap-southeast-2b", "ap-southeast-2c"]
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_kms_alias" {
    defaults = {
      target_key_arn = "arn:aws:kms:ap-southeast-2:111111111111:key/00000000-0000-0000-0000-000000000000"
    }
  }
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
    condition     = module.artifact_deployer[0].function_name == "geo-artifact-deployer-dev" && module.artifact_deployer[0].reserved_concurrent_executions == 1
    error_message = "One deployer per account, <prefix>-artifact-deployer-<env>, reserved concurrency 1."
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
