#!/bin/sh
# Regenerates src/gen/ from proto/src/main/proto/relay/v1/relay.proto with protoc-gen-es.
# protoc comes from the local Maven repository (the proto module's build downloads it); the
# well-known types (timestamp.proto) come from the protobuf-java jar next to it.
set -eu
cd "$(dirname "$0")/.."
M2="${M2_REPO:-$HOME/.m2/repository}"
PROTOC=$(ls "$M2"/com/google/protobuf/protoc/*/protoc-*-linux-x86_64.exe | sort -V | tail -1)
JAR=$(ls "$M2"/com/google/protobuf/protobuf-java/*/protobuf-java-*.jar | grep -v sources | sort -V | tail -1)
WKT=$(mktemp -d)
trap 'rm -rf "$WKT"' EXIT
(cd "$WKT" && unzip -q "$JAR" 'google/protobuf/*.proto')
chmod +x "$PROTOC"
rm -rf src/gen
mkdir -p src/gen
"$PROTOC" -I ../proto/src/main/proto -I "$WKT" \
  --plugin=protoc-gen-es=node_modules/.bin/protoc-gen-es \
  --es_out=src/gen --es_opt=target=ts,import_extension=js \
  relay/v1/relay.proto
echo "generated src/gen/relay/v1/relay_pb.ts from $(basename "$PROTOC")"
