################################################################################
# HCP Terraform dynamic provider credentials (only with var.hcp_terraform)
#
# Each run of a workspace gets a workload identity token whose sub claim is
# organization:<org>:project:<project>:workspace:<workspace>:run_phase:<plan|apply>
# and whose aud is aws.workload.identity; AWS evaluates only aud and sub. The
# main deploy role trusts exactly the main biome's workspace in the main
# project, the sandpit deploy role only sandpit workspaces (<prefix>-<env>-*)
# in the sandpit project (a separate project, so a branch pipeline's token can
# be kept out of the main workspaces). Workspace and
# organization names cannot hold ":", so no pattern reaches across fields,
# and "<prefix>-<env>-*" never matches the main workspace "<prefix>-<env>".
################################################################################

locals {
  hcp_terraform_audience = "aws.workload.identity"
  hcp_terraform_subject  = var.hcp_terraform == null ? null : "organization:${var.hcp_terraform.organization}:project:${var.hcp_terraform.project}:workspace"
  hcp_sandpit_subject    = var.hcp_terraform == null ? null : "organization:${var.hcp_terraform.organization}:project:${var.hcp_terraform.sandpit_project}:workspace"
  main_workspace         = "${var.name_prefix}-${var.environment}"
  # The provider's ARN from its documented form, not from the resource: the
  # trust documents then render at plan time (and can be checked before any
  # apply); the roles wait for the provider with depends_on.
  hcp_terraform_provider_arns = var.hcp_terraform == null ? [] : ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/${var.hcp_terraform.hostname}"]
}

resource "aws_iam_openid_connect_provider" "hcp_terraform" {
  count = var.hcp_terraform == null ? 0 : 1

  url            = "https://${var.hcp_terraform.hostname}"
  client_id_list = [local.hcp_terraform_audience]
  tags           = var.tags
}
