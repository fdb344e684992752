#!/usr/bin/env bash
# Dev-only TLS material and relay keys for deploy/compose (never use these in production).
#   deploy/compose/gen-dev-certs.sh [-f] [OUT_DIR]   default: deploy/compose/certs; existing files are kept (-f to renew)
# Creates:
#   ca.crt / ca.key                     dev CA (signs everything below)
#   envoy/server.crt, envoy/server.key  Envoy listeners 8443/8444 (localhost, relay.localhost, envoy, 127.0.0.1, ::1)
#   envoy/client-ca.crt                 CA that native mTLS clients on :8444 must chain to
#   client/client.crt, client/client.key  a native client certificate for trying :8444
#   relay/signing-key.jwk.json          private Ed25519 JWK (issuer node)      -> RELAY_SIGNING_KEY
#   relay/verify-keys.jwks.json         public JWK Set                          -> RELAY_VERIFY_KEYS
#   relay/issuer-keys.txt               one random issuer API key               -> RELAY_ISSUER_KEYS_FILE
#   nats/servers.env                    the relay nodes' NATS passwords          -> NATS servers (nats/auth.conf)
#   nats/relay-0.env, nats/relay-1.env  each relay's own NATS user and password -> that relay only
set -euo pipefail

force=0
if [[ "${1:-}" == "-f" ]]; then force=1; shift; fi
out="${1:-$(cd "$(dirname "$0")" && pwd)/certs}"
if [[ -f "$out/ca.crt" && $force -eq 0 ]]; then
  echo "gen-dev-certs: $out already populated (use -f to regenerate)"
  exit 0
fi
command -v openssl >/dev/null || { echo "gen-dev-certs: openssl is required" >&2; exit 1; }
mkdir -p "$out/envoy" "$out/client" "$out/relay" "$out/nats"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

days=825
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# CA
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
  -subj "/CN=CheckMate Relay dev CA" -keyout "$out/ca.key" -out "$out/ca.crt" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

issue() { # name subject san eku outdir
  local name="$1" subj="$2" san="$3" eku="$4" dir="$5"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj" \
    -keyout "$dir/$name.key" -out "$tmp/$name.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' \
    "$san" "$eku" >"$tmp/$name.ext"
  openssl x509 -req -in "$tmp/$name.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
    -days "$days" -extfile "$tmp/$name.ext" -out "$dir/$name.crt" 2>/dev/null
}
issue server "/CN=relay.localhost" \
  "DNS:localhost,DNS:relay.localhost,DNS:envoy,IP:127.0.0.1,IP:::1" serverAuth "$out/envoy"
issue client "/CN=dev-native-client" "DNS:dev-native-client" clientAuth "$out/client"
cp "$out/ca.crt" "$out/envoy/client-ca.crt"

# Ed25519 ticket signing key as JWK (RFC 8037: x = public key, d = private seed), kid by date.
openssl genpkey -algorithm ed25519 -out "$tmp/sign.pem"
d="$(openssl pkey -in "$tmp/sign.pem" -outform DER | tail -c 32 | b64url)"
x="$(openssl pkey -in "$tmp/sign.pem" -pubout -outform DER | tail -c 32 | b64url)"
kid="dev-$(date -u +%Y%m%d)"
printf '{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig","kid":"%s","x":"%s","d":"%s"}\n' "$kid" "$x" "$d" \
  >"$out/relay/signing-key.jwk.json"
printf '{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig","kid":"%s","x":"%s"}]}\n' "$kid" "$x" \
  >"$out/relay/verify-keys.jwks.json"
openssl rand -hex 32 >"$out/relay/issuer-keys.txt"

# One NATS user per relay node (nats/auth.conf): the servers know every password, each relay only its own.
: >"$out/nats/servers.env"
for n in 0 1; do
  pw="$(openssl rand -hex 24)"
  printf 'RELAY_%s_NATS_PASSWORD=%s\n' "$n" "$pw" >>"$out/nats/servers.env"
  printf 'RELAY_NATS_USER=relay-%s\nRELAY_NATS_PASSWORD=%s\n' "$n" "$pw" >"$out/nats/relay-$n.env"
done

# Dev only: containers run as non-root users other than yours, so keys must be world-readable.
chmod 0644 "$out"/envoy/* "$out"/client/* "$out"/relay/* "$out"/nats/*
chmod 0600 "$out/ca.key"
openssl verify -CAfile "$out/ca.crt" "$out/envoy/server.crt" "$out/client/client.crt" >/dev/null
echo "gen-dev-certs: wrote dev CA, Envoy server cert, client cert, relay keys and NATS users to $out"
