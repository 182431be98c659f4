#!/usr/bin/env bash
# Mirrors the providers the Terraform stacks' lock files pin into a local
# filesystem mirror, for the real-provider specs (test/infra/terraform-cli.ts
# installs from TF_PLUGIN_DIR, else /opt/tf-plugins, and never from a registry).
#   bash tools/ci/terraform-mirror.sh [dir]      default: $TF_PLUGIN_DIR, else /opt/tf-plugins
# Does nothing when the mirror already holds hashicorp/aws. Runs init on a copy
# of infra/, so no .terraform/ folder lands in the checkout (the tests copy it).
# Needs terraform on PATH (buildspecs/install-terraform.sh) and the registry.
set -euo pipefail
dir="${1:-${TF_PLUGIN_DIR:-/opt/tf-plugins}}"
if [ -d "$dir/registry.terraform.io/hashicorp/aws" ]; then
  echo "terraform-mirror: $dir already holds hashicorp/aws"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r infra "$work/"
for stack in "$work"/infra/stacks/*/; do
  terraform -chdir="$stack" init -backend=false -input=false >/dev/null
  terraform -chdir="$stack" providers mirror "$dir" >/dev/null
done
echo "terraform-mirror: mirrored the lock files' providers into $dir"
