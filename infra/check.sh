#!/usr/bin/env bash
# Offline checks of everything under infra/ and deploy/ plus the relay image (Jib in relay-service/pom.xml).
# Run: bash infra/check.sh   (also the `test` phase of the infra Maven module).
# Needs: terraform (1.9+), node + `npm ci` in infra/tools, python3 with PyYAML, shellcheck, openssl.
# Never touches a provider registry, a cloud API or the network.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tf="$here/terraform"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Terraform must never reach the registry or checkpoint service, and must not leave .terraform/
# folders in the tree: one TF_DATA_DIR per root under $work, an empty CLI config.
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
export TF_CLI_CONFIG_FILE="$work/terraformrc"
: >"$TF_CLI_CONFIG_FILE"
unset TF_PLUGIN_CACHE_DIR

passed=0
failed=0
failures=()
step() { # name command...
  local name="$1"
  shift
  local log="$work/log.$((passed + failed))"
  local t0=$SECONDS
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    printf 'ok    %-44s %3ss  %s\n' "$name" "$((SECONDS - t0))" "$(grep -v '^\s*$' "$log" | tail -n 1 | cut -c1-90)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf 'FAIL  %-44s %3ss\n' "$name" "$((SECONDS - t0))"
    sed 's/^/      | /' "$log" | tail -n 40
  fi
}

need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "infra-checks: missing tool: $tool (see infra/README.md, 'Running the checks')" >&2; exit 2; }
  done
}
need terraform node python3 shellcheck openssl
python3 -c 'import yaml' 2>/dev/null || { echo "infra-checks: python3 lacks PyYAML (apt-get install python3-yaml)" >&2; exit 2; }
[[ -d "$here/tools/node_modules/@cdktf/hcl2json" ]] || { echo "infra-checks: run 'npm ci' in infra/tools first" >&2; exit 2; }

tf_module() { # dir: init + validate + test, offline
  local dir="$1" data
  data="$work/tfdata.$(basename "$1")"
  TF_DATA_DIR="$data" terraform -chdir="$dir" init -backend=false -input=false -no-color >/dev/null &&
    TF_DATA_DIR="$data" terraform -chdir="$dir" validate -no-color &&
    TF_DATA_DIR="$data" terraform -chdir="$dir" test -no-color
}

render_fixture() { # apply the provider-free fixture root; outputs -> $work/render.json, script -> $work/bootstrap.sh
  local data="$work/tfdata.render" state="$work/render.tfstate"
  TF_DATA_DIR="$data" terraform -chdir="$tf/fixtures/render" init -backend=false -input=false -no-color >/dev/null &&
    TF_DATA_DIR="$data" terraform -chdir="$tf/fixtures/render" apply -auto-approve -input=false -no-color -state="$state" >/dev/null &&
    TF_DATA_DIR="$data" terraform -chdir="$tf/fixtures/render" output -state="$state" -json >"$work/render.json" &&
    TF_DATA_DIR="$data" terraform -chdir="$tf/fixtures/render" output -state="$state" -raw bootstrap_script >"$work/bootstrap.sh" &&
    echo "rendered $(wc -c <"$work/bootstrap.sh") byte bootstrap script"
}

hcl_negative() { # the structural checker must reject the bad fixture
  if node "$here/tools/check-hcl.mjs" "$here/tools/testdata/bad-root" >"$work/neg.out" 2>&1; then
    echo "check-hcl.mjs accepted testdata/bad-root"
    return 1
  fi
  local n
  n=$(grep -c 'HCL-CHECK FAIL' "$work/neg.out")
  [[ "$n" -ge 6 ]] || { cat "$work/neg.out"; echo "expected >= 6 findings, got $n"; return 1; }
  echo "bad fixture rejected with $n findings"
}

bootstrap_lint() {
  bash -n "$work/bootstrap.sh" && shellcheck -S style -s bash "$work/bootstrap.sh" && echo "bash -n and shellcheck clean"
}

dev_certs() {
  bash "$root/deploy/compose/gen-dev-certs.sh" "$work/certs" &&
    openssl verify -CAfile "$work/certs/ca.crt" "$work/certs/envoy/server.crt" "$work/certs/client/client.crt" &&
    python3 -c 'import json,sys; k=json.load(open(sys.argv[1]))["keys"][0]; assert k["kty"]=="OKP" and k["crv"]=="Ed25519" and len(k["x"])==43' \
      "$work/certs/relay/verify-keys.jwks.json"
}

render_envoy_k8s() {
  if [[ ! -f "$root/envoy/envoy.yaml" ]]; then echo "envoy/envoy.yaml not present yet: skipped"; return 0; fi
  python3 "$root/deploy/k8s/render-envoy-config.py" --configmap --replicas 8 "$root/envoy/envoy.yaml" >"$work/envoy-cm.yaml" &&
    python3 -c 'import yaml,sys; cm=yaml.safe_load(open(sys.argv[1])); yaml.safe_load(cm["data"]["envoy.yaml"]); print("envoy-config ConfigMap renders")' "$work/envoy-cm.yaml"
}

capacity_tests() { # the calculator's unit tests, including: docs/capacity.md shows what it computes
  (cd "$here/capacity" && python3 -m unittest -q test_capacity) && echo "calculator tests pass; docs/capacity.md is current"
}

capacity_agreement() { # modules/sizing and the calculator answer the same for the same inputs
  local data="$work/tfdata.capacity" sc
  TF_DATA_DIR="$data" terraform -chdir="$tf/fixtures/capacity" init -backend=false -input=false -no-color >/dev/null || return 1
  for sc in baseline cross-node-30 w8-target kvm8; do
    python3 "$here/capacity/capacity.py" --scenario "$sc" --terraform-vars >"$work/capacity-$sc.tfvars.json" &&
      TF_DATA_DIR="$data" terraform -chdir="$tf/fixtures/capacity" apply -auto-approve -input=false -no-color \
        -state="$work/capacity-$sc.tfstate" -var-file="$work/capacity-$sc.tfvars.json" >/dev/null &&
      TF_DATA_DIR="$data" terraform -chdir="$tf/fixtures/capacity" output -state="$work/capacity-$sc.tfstate" -json \
        >"$work/capacity-$sc.out.json" &&
      python3 "$here/capacity/capacity.py" --scenario "$sc" --compare-terraform "$work/capacity-$sc.out.json" || return 1
  done
}

shell_scripts() {
  shellcheck -S style "$here/check.sh" "$root/deploy/compose/gen-dev-certs.sh" "$root/deploy/k8s/apply.sh" &&
    echo "check.sh, gen-dev-certs.sh, apply.sh clean"
}

cd "$root" || exit 2
echo "infra-checks: terraform $(terraform version | head -n 1 | cut -d' ' -f2), node $(node --version), $(shellcheck --version | sed -n 2p)"
fmt_check() { terraform fmt -check -recursive -diff "$here" && echo "all .tf/.tftest.hcl files formatted"; }
step "terraform fmt -check -recursive" fmt_check
for m in "$tf"/modules/*/; do
  step "terraform validate+test modules/$(basename "$m")" tf_module "${m%/}"
done
step "render fixture (terraform apply, no providers)" render_fixture
step "hcl structure envs/* vs provider allowlists" node "$here/tools/check-hcl.mjs" "$tf"/envs/*/
step "hcl checker rejects bad fixture" hcl_negative
step "dns pools vs cloudflare v5 schema" python3 "$here/checks/deploy_checks.py" pools "$work/render.json" "$here/tools/provider-allowlist.json"
step "bootstrap: bash -n + shellcheck" bootstrap_lint
step "bootstrap: content, size, no secrets" python3 "$here/checks/deploy_checks.py" bootstrap "$work/bootstrap.sh"
step "k8s manifests" python3 "$here/checks/deploy_checks.py" k8s "$root" "$work/render.json"
step "k8s envoy config render" render_envoy_k8s
step "compose file" python3 "$here/checks/deploy_checks.py" compose "$root"
step "relays behind Envoy trust only Envoy (xff)" python3 "$here/checks/deploy_checks.py" trusted-proxy "$root"
step "trusted-proxy check refuses broken copies" python3 "$here/checks/deploy_checks.py" trusted-proxy-selftest "$root"
step "dev certs + keys generate and verify" dev_certs
step "relay image (Jib) + compose runs it" python3 "$here/checks/deploy_checks.py" image "$root"
step "image check refuses broken copies" python3 "$here/checks/deploy_checks.py" image-selftest "$root"
step "capacity calculator: tests, docs tables" capacity_tests
step "capacity calculator = modules/sizing" capacity_agreement
step "shellcheck of deploy scripts" shell_scripts

echo
if [[ $failed -gt 0 ]]; then
  echo "infra-checks: FAILED: ${failures[*]}"
  echo "infra-checks: $passed passed, $failed failed"
  exit 1
fi
echo "infra-checks: $passed passed, $failed failed"
