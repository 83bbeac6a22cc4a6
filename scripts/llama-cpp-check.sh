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
cache="${LLAMA_CPP_CHECK_DIR:-${COALORA_CACHE:-$HOME/.cache/coalora}/llama-cpp-check}"  # npm install of node-llama-cpp (about 730 MB)
if [ ! -d "$cache/node_modules/node-llama-cpp" ]; then
  mkdir -p "$cache"
  cp "$root/scripts/llama-cpp-check/package.json" "$root/scripts/llama-cpp-check/package-lock.json" "$cache/"
  (cd "$cache" && npm ci --no-audit --no-fund >&2)
fi
cp "$root/scripts/llama-cpp-check/perplexity.mjs" "$cache/"
[ -f "$root/services/cli/target/classpath.txt" ] || (cd "$root" && ./mvnw -q -B -DskipTests install >&2)
export OPT_OUT_TRACKING=true
java -Dai.djl.offline=true -cp "$root/services/cli/target/classes:$(cat "$root/services/cli/target/classpath.txt")" \
  "$root/scripts/llama-cpp-check/JavaPerplexity.java" "$dir" "$tokenizer" "$windows" 2>"$cache/java.err" | grep '^java' \
  || { echo "our side failed; see $cache/java.err" >&2; exit 1; }
(cd "$cache" && node perplexity.mjs "$dir" 2>"$cache/node.err" | grep '^llama.cpp') || { echo "llama.cpp side failed; see $cache/node.err" >&2; exit 1; }
