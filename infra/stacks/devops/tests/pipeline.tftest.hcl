# Plans the devops stack's CodeBuild trust split and its CodePipeline with
# mocked providers (no AWS account is contacted):
#
#   terraform -chdir=infra/stacks/devops init -backend=false
#   terraform -chdir=infra/stacks/devops test

mock_provider "aws" {
  source = "../../tests/mocks"
}

mock_provider "aws" {
  alias  = "dev"
  source = "../../tests/mocks"
}

mock_provider "aws" {
  alias  = "staging"
  source = "../../tests/mocks"
}

mock_provider "aws" {
  alias  = "prod"
  source = "../../tests/mocks"
}

variables {
  devops_account_id   = "444444444444"
  gitlab_project_path = "geo/monorepo"
  source_location     = "https://gitlab.com/geo/monorepo.git"
  environments = {
    dev     = { account_id = "111111111111", region = "ap-southeast-2", multi_tenant = true }
    staging = { account_id = "222222222222", region = "ap-southeast-2" }
    prod    = { account_id = "333333333333", region = "ap-southeast-2" }
  }
}

run "gitlab_drives_main_by_default" {
  command = plan

  assert {
    condition     = length(aws_codepipeline.main) == 0 && length(aws_codestarconnections_connection.gitlab) == 1
    error_message = "By default GitLab drives main: no pipeline, but the connection CodeBuild clones through exists."
  }

  assert {
    condition     = toset(keys(module.codebuild)) == toset(["deploy-dev-sandpit", "destroy-dev", "deploy-dev", "promote-staging", "promote-prod"])
    error_message = "Projects split by trust: deploy-dev-sandpit and destroy-dev (sandpit), deploy-dev and promote-* (main)."
  }

  assert {
    condition     = local.job_settings["deploy-dev-sandpit"].variables.ALLOWED_BIOMES == "dev-*" && local.job_settings["deploy-dev"].variables.BIOME == "dev" && local.job_settings["deploy-dev"].variables.ALLOWED_BIOMES == "dev"
    error_message = "The sandpit project may deploy dev-* only; the main one has BIOME=dev fixed."
  }

  assert {
    condition     = local.job_settings["promote-prod"].variables.FROM_BIOME == "staging" && local.job_settings["promote-prod"].variables.ALLOWED_PROMOTIONS == "staging:prod"
    error_message = "promote-prod promotes staging to prod, and nothing else."
  }

  assert {
    condition     = toset(keys(local.sandpit_jobs)) == toset(["deploy-dev-sandpit", "destroy-dev"])
    error_message = "The GitLab sandpit role may start the sandpit projects only."
  }

  assert {
    condition     = alltrue([for k, s in local.job_settings : s.source_type == "GITLAB" && s.cache.type == "LOCAL"])
    error_message = "With GitLab driving main every project clones from GitLab, with a local build cache."
  }
}

run "codepipeline_drives_main" {
  command = plan

  variables {
    main_orchestrator    = "codepipeline"
    build_cache_bucket   = "geo-build-cache-444444444444"
    gitlab_provider_type = "GitLabSelfManaged"
    gitlab_url           = "https://gitlab.example.com"
  }

  assert {
    condition     = length(aws_codestarconnections_host.gitlab) == 1 && aws_codestarconnections_host.gitlab[0].provider_endpoint == "https://gitlab.example.com"
    error_message = "A self-managed GitLab gets a CodeConnections host for its URL."
  }

  assert {
    condition     = aws_codepipeline.main[0].pipeline_type == "V2" && aws_codepipeline.main[0].name == "geo-main"
    error_message = "One V2 pipeline, geo-main."
  }

  assert {
    condition     = [for s in aws_codepipeline.main[0].stage : s.name] == ["Source", "DeployDev", "ApproveStaging", "PromoteStaging", "ApproveProd", "PromoteProd"]
    error_message = "Stages: source, deploy dev, approve, promote staging, approve, promote prod."
  }

  assert {
    condition     = aws_codepipeline.main[0].stage[1].action[0].configuration.ProjectName == "geo-deploy-dev" && aws_codepipeline.main[0].stage[3].action[0].configuration.ProjectName == "geo-promote-staging" && aws_codepipeline.main[0].stage[5].action[0].configuration.ProjectName == "geo-promote-prod"
    error_message = "The build stages run the main-biome projects."
  }

  assert {
    condition     = alltrue([for s in slice(aws_codepipeline.main[0].stage, 1, 6) : s.on_failure[0].result == "FAIL"])
    error_message = "A failure stops the pipeline at its stage."
  }

  assert {
    condition     = aws_codepipeline.main[0].trigger[0].git_configuration[0].push[0].branches[0].includes == tolist(["main"]) && aws_codepipeline.main[0].stage[0].action[0].configuration.OutputArtifactFormat == "CODEBUILD_CLONE_REF"
    error_message = "Pushes to main start it, and the builds get a full clone."
  }

  assert {
    condition     = local.job_settings["deploy-dev"].source_type == "CODEPIPELINE" && local.job_settings["deploy-dev-sandpit"].source_type == "GITLAB_SELF_MANAGED"
    error_message = "Main projects take their source from the pipeline only; sandpit projects still clone from (self-managed) GitLab."
  }

  assert {
    condition     = local.job_settings["deploy-dev"].cache.location == "geo-build-cache-444444444444/codebuild-cache/geo-deploy-dev" && local.job_settings["deploy-dev-sandpit"].cache.location != local.job_settings["deploy-dev"].cache.location
    error_message = "Each project caches under its own S3 prefix."
  }
}

run "unknown_orchestrator_is_refused" {
  command = plan

  variables {
    main_orchestrator = "jenkins"
  }

  expect_failures = [var.main_orchestrator]
}
