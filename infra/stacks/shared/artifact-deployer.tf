################################################################################
# Artifact deployer (apps/services/artifact-deployer): a ledger record
# replicated into the environment's artifact bucket deploys the recorded
# artifact to its biome's function within seconds, without waiting for
# Terraform. S3 event -> SQS queue (retries while replication catches up) ->
# one Lambda function for the whole account.
################################################################################

locals {
  artifact_deployer_enabled = var.artifact_deployer_s3_key != null
  artifact_deployer_name    = "${var.name_prefix}-artifact-deployer-${var.environment}"

  # The replica bucket the devops stack creates in this account (module
  # workload-baseline); found by name, like the biome stack does.
  artifact_bucket     = "${var.name_prefix}-artifacts-${var.environment}-${var.aws_account_id}"
  artifact_bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${local.artifact_bucket}"

  # Every biome function is <prefix>-<env>-...; the deployer's own name is
  # outside that pattern, so it can never update itself.
  biome_functions_arn = "arn:${data.aws_partition.current.partition}:lambda:${var.aws_region}:${var.aws_account_id}:function:${var.name_prefix}-${var.environment}-*"
}

# The bucket's KMS key, by the alias the artifact-bucket module gives it.
data "aws_kms_alias" "artifact_bucket" {
  count = local.artifact_deployer_enabled ? 1 : 0

  name = "alias/${local.artifact_bucket}"
}

resource "aws_sqs_queue" "artifact_deployer_dlq" {
  count = local.artifact_deployer_enabled ? 1 : 0

  name                      = "${local.artifact_deployer_name}-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "artifact_deployer" {
  count = local.artifact_deployer_enabled ? 1 : 0

  name = local.artifact_deployer_name

  # AWS asks for at least six times the function timeout (300 s), so a message
  # being worked on is never handed to a second invocation.
  visibility_timeout_seconds = 1800
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.artifact_deployer_dlq[0].arn
    maxReceiveCount     = 10
  })
}

data "aws_iam_policy_document" "artifact_deployer_queue" {
  count = local.artifact_deployer_enabled ? 1 : 0

  statement {
    sid       = "ArtifactBucketSendsEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.artifact_deployer[0].arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.artifact_bucket_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.aws_account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "artifact_deployer" {
  count = local.artifact_deployer_enabled ? 1 : 0

  queue_url = aws_sqs_queue.artifact_deployer[0].id
  policy    = data.aws_iam_policy_document.artifact_deployer_queue[0].json
}

# A bucket has one notification configuration: this resource owns it (nothing
# else configures notifications on the artifact bucket).
resource "aws_s3_bucket_notification" "artifact_bucket" {
  count = local.artifact_deployer_enabled ? 1 : 0

  bucket = local.artifact_bucket

  queue {
    id            = "artifact-deployer-ledger-records"
    queue_arn     = aws_sqs_queue.artifact_deployer[0].arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = "biomes/"
    filter_suffix = ".json"
  }

  # S3 checks it may send to the queue when the notification is created.
  depends_on = [aws_sqs_queue_policy.artifact_deployer]
}

module "artifact_deployer" {
  source = "../../modules/lambda-service"
  count  = local.artifact_deployer_enabled ? 1 : 0

  function_name    = local.artifact_deployer_name
  description      = "Deploys ledger records of every ${var.environment} biome to their functions"
  s3_bucket        = local.artifact_bucket
  s3_key           = var.artifact_deployer_s3_key
  source_code_hash = var.artifact_deployer_source_code_hash
  handler          = "main.handler"
  runtime          = "nodejs22.x"
  memory_size      = 256
  timeout          = 300

  # At least the event source's maximum concurrency (AWS: never above the
  # reserved concurrency, or invocations are throttled and the throttled
  # receives count toward the DLQ). Two records of one function are ordered by
  # their history sequence and Lambda's RevisionId, not by running one at a time.
  reserved_concurrent_executions = 2

  environment_variables = {
    NAME_PREFIX           = var.name_prefix
    ENVIRONMENT           = var.environment
    QUEUE_URL             = aws_sqs_queue.artifact_deployer[0].url
    DEAD_LETTER_QUEUE_URL = aws_sqs_queue.artifact_deployer_dlq[0].url
    MAX_WAIT_SECONDS      = "120"
    POLL_SECONDS          = "2"
  }

  log_retention_in_days = var.artifact_deployer_log_retention_in_days

  policy_statements = {
    ReadLedgerAndArtifacts = {
      actions   = ["s3:GetObject"]
      resources = ["${local.artifact_bucket_arn}/biomes/*/ledger/*", "${local.artifact_bucket_arn}/biomes/*/history/*", "${local.artifact_bucket_arn}/artifacts/*"]
    }
    # A missing key then answers 404 (retry later) instead of 403.
    ListArtifactBucket = {
      actions   = ["s3:ListBucket"]
      resources = [local.artifact_bucket_arn]
    }
    DecryptArtifacts = {
      actions   = ["kms:Decrypt"]
      resources = [data.aws_kms_alias.artifact_bucket[0].target_key_arn]
    }
    # GetFunction returns a function's tags only to callers allowed
    # lambda:ListTags; without it the deployer could not see biome:deployed-at.
    UpdateBiomeFunctions = {
      actions   = ["lambda:GetFunction", "lambda:ListTags", "lambda:UpdateFunctionCode", "lambda:TagResource"]
      resources = [local.biome_functions_arn]
    }
    # ChangeMessageVisibility: a record that cannot be deployed yet comes back
    # after 30 s, 60 s, ... instead of the 30-minute visibility timeout.
    ConsumeLedgerEvents = {
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
      resources = [aws_sqs_queue.artifact_deployer[0].arn]
    }
    # Malformed events and other environments' records go to the DLQ at once.
    DeadLetterUndeployable = {
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.artifact_deployer_dlq[0].arn]
    }
  }
}

resource "aws_lambda_event_source_mapping" "artifact_deployer" {
  count = local.artifact_deployer_enabled ? 1 : 0

  event_source_arn = aws_sqs_queue.artifact_deployer[0].arn
  function_name    = module.artifact_deployer[0].function_arn
  batch_size       = 1

  # Failed messages only come back (the handler returns batchItemFailures).
  function_response_types = ["ReportBatchItemFailures"]

  # The fewest concurrent invocations the mapping allows (2), and no more than
  # the function's reserved concurrency (2), as AWS advises: the poller is
  # never throttled, so receives count only real attempts toward the DLQ.
  scaling_config {
    maximum_concurrency = 2
  }
}

resource "aws_cloudwatch_metric_alarm" "artifact_deployer_dlq" {
  count = local.artifact_deployer_enabled ? 1 : 0

  alarm_name          = "${local.artifact_deployer_name}-dlq"
  alarm_description   = "Ledger records the artifact deployer gave up on (10 receives): see its log group, then redrive the DLQ or run the biome's Terraform apply."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.artifact_deployer_dlq[0].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.artifact_deployer_alarm_actions
}
