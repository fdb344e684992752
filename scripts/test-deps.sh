#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, then returns. Idempotent: it only
# installs what is missing. Needs root (or sudo) for apt-get; JDK 17, Maven and Node.js 20 come
# with the machine image.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nats-server >/dev/null || need+=(nats-server)
command -v chromium >/dev/null || need+=(chromium)
command -v promtool >/dev/null || need+=(prometheus)
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v openssl >/dev/null || need+=(openssl)
command -v node >/dev/null || need+=(nodejs npm)
/usr/bin/python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "test-deps: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Prometheus' package starts a server we do not need for tests.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi

for dir in infra/tools client-web; do
  if [ -f "$dir/package-lock.json" ]; then
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done
if ! command -v terraform >/dev/null; then
  echo "test-deps: terraform (>= 1.9) is not on PATH; the infra checks need it" >&2
  exit 1
fi
echo "test-deps: ready"
