#!/usr/bin/env bash
# Print a Terraform CLI config. When the given directory holds a provider
# mirror (offline machines), install hashicorp providers from it; otherwise
# print an empty config so Terraform uses the public registry as usual.
set -euo pipefail
mirror="${1:-}"
if [[ -n "$mirror" && -d "$mirror/registry.terraform.io" ]]; then
  cat <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
CFG
else
  echo "# no local provider mirror: providers come from the registry"
fi
