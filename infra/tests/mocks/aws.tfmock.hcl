# Values the mocked hashicorp/aws provider returns in `terraform test`
# (infra/stacks/*/tests). Computed ARNs are well formed, so the provider's own
# ARN validation accepts them when a mocked apply feeds them to other
# resources; everything else not listed here is a random string.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "111111111111"
    arn        = "arn:aws:iam::111111111111:role/mock"
    user_id    = "AROAMOCK"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "ap-southeast-2"
  }
}

mock_data "aws_availability_zones" {
  defaults = {
    names = ["ap-southeast-2a", "ap-southeast-2b", "ap-southeast-2c"]
  }
}

mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}

mock_data "aws_kms_alias" {
  defaults = {
    target_key_arn = "arn:aws:kms:ap-southeast-2:111111111111:key/00000000-0000-0000-0000-000000000000"
  }
}

mock_data "aws_vpc" {
  defaults = {
    id  = "vpc-0123456789abcdef0"
    arn = "arn:aws:ec2:ap-southeast-2:111111111111:vpc/vpc-0123456789abcdef0"
  }
}

mock_data "aws_subnets" {
  defaults = {
    ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  }
}

mock_data "aws_security_group" {
  defaults = {
    id  = "sg-0123456789abcdef0"
    arn = "arn:aws:ec2:ap-southeast-2:111111111111:security-group/sg-0123456789abcdef0"
  }
}

mock_data "aws_db_instance" {
  defaults = {
    address     = "geo-dev.abcdefghijkl.ap-southeast-2.rds.amazonaws.com"
    port        = 5432
    db_name     = "app"
    resource_id = "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn       = "arn:aws:iam::111111111111:role/mock"
    unique_id = "AROAMOCKROLE"
  }
}

mock_resource "aws_iam_policy" {
  defaults = {
    arn = "arn:aws:iam::111111111111:policy/mock"
  }
}

mock_resource "aws_iam_openid_connect_provider" {
  defaults = {
    arn = "arn:aws:iam::111111111111:oidc-provider/gitlab.com"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::mock-bucket"
  }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:ap-southeast-2:111111111111:key/00000000-0000-0000-0000-000000000000"
    key_id = "00000000-0000-0000-0000-000000000000"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:ap-southeast-2:111111111111:log-group:mock"
  }
}

mock_resource "aws_codebuild_project" {
  defaults = {
    arn = "arn:aws:codebuild:ap-southeast-2:111111111111:project/mock"
  }
}

mock_resource "aws_sqs_queue" {
  defaults = {
    arn = "arn:aws:sqs:ap-southeast-2:111111111111:mock"
    url = "https://sqs.ap-southeast-2.amazonaws.com/111111111111/mock"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn           = "arn:aws:lambda:ap-southeast-2:111111111111:function:mock"
    invoke_arn    = "arn:aws:apigateway:ap-southeast-2:lambda:path/2015-03-31/functions/arn:aws:lambda:ap-southeast-2:111111111111:function:mock/invocations"
    qualified_arn = "arn:aws:lambda:ap-southeast-2:111111111111:function:mock:1"
  }
}

mock_resource "aws_sfn_state_machine" {
  defaults = {
    arn                       = "arn:aws:states:ap-southeast-2:111111111111:stateMachine:mock"
    state_machine_version_arn = "arn:aws:states:ap-southeast-2:111111111111:stateMachine:mock:1"
  }
}

mock_resource "aws_db_instance" {
  defaults = {
    arn     = "arn:aws:rds:ap-southeast-2:111111111111:db:mock"
    address = "mock.abcdefghijkl.ap-southeast-2.rds.amazonaws.com"
    port    = 5432
    master_user_secret = [{
      secret_arn    = "arn:aws:secretsmanager:ap-southeast-2:111111111111:secret:rds!db-mock-AbCdEf"
      kms_key_id    = "arn:aws:kms:ap-southeast-2:111111111111:key/00000000-0000-0000-0000-000000000000"
      secret_status = "active"
    }]
  }
}

mock_resource "aws_sagemaker_model" {
  defaults = {
    arn = "arn:aws:sagemaker:ap-southeast-2:111111111111:model/mock"
  }
}

mock_resource "aws_lambda_invocation" {
  defaults = {
    result = "{\"action\":\"create\"}"
  }
}

mock_resource "aws_codestarconnections_connection" {
  defaults = {
    arn = "arn:aws:codestar-connections:ap-southeast-2:111111111111:connection/00000000-0000-0000-0000-000000000000"
  }
}

mock_resource "aws_codestarconnections_host" {
  defaults = {
    arn = "arn:aws:codestar-connections:ap-southeast-2:111111111111:host/mock-00000000"
  }
}

mock_resource "aws_codepipeline" {
  defaults = {
    arn = "arn:aws:codepipeline:ap-southeast-2:111111111111:mock"
  }
}

# Artifacts in the replica: S3's SHA-256 (base64) of the bytes the rendered
# test tfvars record (sha256 "ff...ff"), and the version the plan pins.
mock_data "aws_s3_object" {
  defaults = {
    checksum_sha256 = "//////////////////////////////////////////8="
    version_id      = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
  }
}
