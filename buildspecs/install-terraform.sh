#!/usr/bin/env bash
# Installs the pinned terraform CLI when the build will run Terraform, for the
# buildspecs' install phase (in CodeBuild and in the GitLab job that runs the
# buildspec itself). The archive's sha256 is pinned here, from HashiCorp's
# terraform_<version>_SHA256SUMS; a download that does not match is refused.
#
#   bash buildspecs/install-terraform.sh            install if terraform <version> is not on PATH
#   TERRAFORM_INSTALL_DIR=/opt/bin bash ...          where to put it (default /usr/local/bin, else ~/.local/bin)
#
# Needs curl, unzip and sha256sum (all on node:20-bookworm and the CodeBuild standard images).
set -euo pipefail

TERRAFORM_VERSION="1.11.4"

# sha256 of terraform_<version>_<platform>.zip.
terraform_archive_sha256() {
  case "$1" in
    linux_amd64) echo "1ce994251c00281d6845f0f268637ba50c0005657eb3cf096b92f753b42ef4dc" ;;
    linux_arm64) echo "a43d1d0da9b9bab214a8305a39db0e40869572594ccf50c416a7756499143633" ;;
    *) return 1 ;;
  esac
}

terraform_platform() {
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) echo linux_amd64 ;;
    Linux-aarch64 | Linux-arm64) echo linux_arm64 ;;
    *) echo "install-terraform: no pinned terraform for $(uname -s)-$(uname -m)" >&2; return 1 ;;
  esac
}

# Checks an archive against the pinned sha256, then puts its terraform binary in a folder.
#   verify_and_install <archive.zip> <expected sha256> <folder>
verify_and_install() {
  local archive="$1" expected="$2" dest="$3" actual
  actual="$(sha256sum "$archive" | cut -d ' ' -f 1)"
  if [ "$actual" != "$expected" ]; then
    echo "install-terraform: checksum mismatch for $(basename "$archive"): expected $expected, got $actual; refusing to install" >&2
    return 1
  fi
  local unpacked
  unpacked="$(mktemp -d)"
  unzip -q -o "$archive" terraform -d "$unpacked"
  mkdir -p "$dest"
  install -m 0755 "$unpacked/terraform" "$dest/terraform"
  rm -rf "$unpacked"
}

main() {
  local present=""
  # CHECKPOINT_DISABLE: `terraform version` would otherwise ask HashiCorp for a newer release.
  if command -v terraform >/dev/null 2>&1; then present="$(CHECKPOINT_DISABLE=1 terraform version 2>/dev/null || true)"; fi
  if [ "${present%%$'\n'*}" = "Terraform v$TERRAFORM_VERSION" ]; then
    echo "install-terraform: terraform $TERRAFORM_VERSION is already on PATH ($(command -v terraform))"
    return 0
  fi
  local platform expected dest
  platform="$(terraform_platform)"
  expected="$(terraform_archive_sha256 "$platform")"
  dest="${TERRAFORM_INSTALL_DIR:-}"
  if [ -z "$dest" ]; then
    if [ -w /usr/local/bin ]; then dest=/usr/local/bin; else dest="$HOME/.local/bin"; fi
  fi
  INSTALL_TERRAFORM_WORK="$(mktemp -d)"
  trap 'rm -rf "$INSTALL_TERRAFORM_WORK"' EXIT
  local work="$INSTALL_TERRAFORM_WORK"
  local file="terraform_${TERRAFORM_VERSION}_${platform}.zip"
  curl -fsSL --retry 3 -o "$work/$file" "https://releases.hashicorp.com/terraform/${TERRAFORM_VERSION}/$file"
  verify_and_install "$work/$file" "$expected" "$dest"
  case ":$PATH:" in *":$dest:"*) ;; *) echo "install-terraform: $dest is not on PATH; add it" >&2 ;; esac
  echo "install-terraform: installed terraform $TERRAFORM_VERSION ($platform, sha256 $expected) in $dest"
}

# Sourced (tests): define the functions only.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
