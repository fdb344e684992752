#!/bin/sh
# Regenerates src/gen/ from proto/src/main/proto/relay/v1/relay.proto with protoc-gen-es.
# protoc and the well-known types (timestamp.proto) come from the proto module's build, so they
# are exactly the build's protobuf version: `mvn -B -q -pl proto generate-sources` puts protoc in
# proto/target/protoc-plugins/ and the protos of protobuf-java in proto/target/protoc-dependencies/.
set -eu
cd "$(dirname "$0")/.."
PROTOC=$(find ../proto/target/protoc-plugins -name 'protoc-[0-9]*.exe' 2>/dev/null | head -1)
TIMESTAMP=$(find ../proto/target/protoc-dependencies -path '*/google/protobuf/timestamp.proto' 2>/dev/null | head -1)
if [ -z "$PROTOC" ] || [ -z "$TIMESTAMP" ]; then
  echo "generate: protoc not built yet; run first (from the repository root): mvn -B -q -pl proto generate-sources" >&2
  exit 1
fi
WKT=$(dirname "$(dirname "$(dirname "$TIMESTAMP")")")
chmod +x "$PROTOC"
rm -rf src/gen
mkdir -p src/gen
"$PROTOC" -I ../proto/src/main/proto -I "$WKT" \
  --plugin=protoc-gen-es=node_modules/.bin/protoc-gen-es \
  --es_out=src/gen --es_opt=target=ts,import_extension=js \
  relay/v1/relay.proto
echo "generated src/gen/relay/v1/relay_pb.ts with $(basename "$PROTOC")"
