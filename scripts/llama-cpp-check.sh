#!/usr/bin/env bash
# By-hand check, not part of the test suite: does a real llama.cpp give what our decoder gives on the files
# `coalora gguf` wrote? DIR holds model.gguf and adapter.gguf; TOKENIZER is the model's tokenizer.json.
# Both sides score the same token windows of the sentiment test sentences (64 tokens, each window from an empty
# context), without and with the adapter: ours reads the GGUF back (GgufDecoderExport.read, the adapter merged),
# llama.cpp is node-llama-cpp 3.21.1's prebuilt CPU build (npm, pinned by package-lock.json with checksums).
# usage: scripts/llama-cpp-check.sh DIR TOKENIZER [WINDOWS=32]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$(cd "$1" && pwd)"; tokenizer="$2"; windows="${3:-32}"
cache="$("$root/scripts/install-llama-cpp.sh")"  # node-llama-cpp, pinned (about 730 MB, once)
[ -f "$root/services/cli/target/classpath.txt" ] || (cd "$root" && ./mvnw -q -B -DskipTests install >&2)
export OPT_OUT_TRACKING=true
java -Dai.djl.offline=true -cp "$root/services/cli/target/classes:$(cat "$root/services/cli/target/classpath.txt")" \
  "$root/scripts/llama-cpp/JavaPerplexity.java" "$dir" "$tokenizer" "$windows" 2>"$cache/java.err" | grep '^java' \
  || { echo "our side failed; see $cache/java.err" >&2; exit 1; }
(cd "$cache" && node perplexity.mjs "$dir" 2>"$cache/node.err" | grep '^llama.cpp') || { echo "llama.cpp side failed; see $cache/node.err" >&2; exit 1; }
