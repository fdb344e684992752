#!/usr/bin/env bash
# Offline checks for otel/: Prometheus config and rules, alert unit tests, dashboard PromQL,
# dashboard/provisioning structure and the collector config. Needs: promtool (Debian package
# `prometheus`), python3 and PyYAML (`python3-yaml`). Exits non-zero on any problem.
#
#   otel/check.sh            (also run by `mvn test` in this module)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
start=$(date +%s)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
failed_names=()

step() {  # step <name> <command...>
  local name="$1"; shift
  local log="$tmp/step.log"
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    echo "FAIL $name"
    sed 's/^/     /' "$log"
  fi
}

missing=()
command -v promtool >/dev/null 2>&1 || missing+=("promtool (apt-get install -y prometheus)")
command -v python3 >/dev/null 2>&1 || missing+=("python3 (apt-get install -y python3)")
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import yaml' >/dev/null 2>&1; then
  missing+=("PyYAML (apt-get install -y python3-yaml)")
fi
if ((${#missing[@]})); then
  printf 'FAIL missing tool: %s\n' "${missing[@]}"
  echo "otel checks: FAILED (missing tools)"
  exit 2
fi

echo "otel checks with $(promtool --version 2>&1 | head -n1)"

step "promtool check config prometheus/prometheus.yml" promtool check config prometheus/prometheus.yml
step "promtool check rules prometheus/alerts.yml"      promtool check rules prometheus/alerts.yml
step "promtool test rules prometheus/alerts_test.yml"  promtool test rules prometheus/alerts_test.yml
# Collector, dashboards (JSON, unique ids, variables), provisioning, alert metadata, metric contract;
# also writes every dashboard expression into a rules file for the next step.
step "structure: collector, dashboards, provisioning, alerts, metric contract" \
  python3 "$here/check_configs.py" "$here" "$tmp/dashboard_rules.yml"
if [[ -s "$tmp/dashboard_rules.yml" ]]; then
  step "promtool check rules <dashboard PromQL>" promtool check rules "$tmp/dashboard_rules.yml"
else
  failed=$((failed + 1)); failed_names+=("dashboard PromQL (nothing extracted)")
  echo "FAIL dashboard PromQL: nothing extracted"
fi

secs=$(( $(date +%s) - start ))
if ((failed)); then
  echo "otel checks: FAILED ${failed}/$((passed + failed)) steps in ${secs}s: ${failed_names[*]}"
  exit 1
fi
echo "otel checks: OK ${passed}/${passed} steps in ${secs}s"
