#!/usr/bin/env bash
# Installs llama.cpp as the simulated GGUF devices run it: node-llama-cpp's prebuilt CPU build from npm, at the
# versions and checksums scripts/llama-cpp/package-lock.json pins (about 730 MB, 30 s on a fast link). Nothing is
# compiled and nothing is fetched at run time. Prints the install folder; a second run with the same lock file is a
# no-op. The folder is $COALORA_LLAMA_CPP, else $COALORA_CACHE/llama-cpp, else ~/.cache/coalora/llama-cpp.
# usage: scripts/install-llama-cpp.sh [--check]   (--check: only say whether it is installed; exit 1 if not)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/scripts/llama-cpp"
dir="${COALORA_LLAMA_CPP:-${COALORA_CACHE:-$HOME/.cache/coalora}/llama-cpp}"
lock_sha="$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)"
installed() { [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$lock_sha" ] && [ -d "$dir/node_modules/node-llama-cpp" ]; }
if [ "${1:-}" = "--check" ]; then
  if installed; then echo "$dir"; exit 0; fi
  echo "llama.cpp is not installed in $dir: run scripts/install-llama-cpp.sh" >&2; exit 1
fi
if ! installed; then
  command -v node >/dev/null && command -v npm >/dev/null \
    || { echo "install-llama-cpp: Node.js 18+ and npm are needed (Debian: apt-get install nodejs npm)" >&2; exit 1; }
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 18 ] || { echo "install-llama-cpp: Node.js 18+ is needed, found $(node --version)" >&2; exit 1; }
  mkdir -p "$dir"
  rm -f "$dir/.installed"
  cp "$src/package.json" "$src/package-lock.json" "$dir/"
  # npm ci checks every package against the lock file's sha512; NODE_LLAMA_CPP_SKIP_DOWNLOAD keeps its
  # postinstall from building or downloading llama.cpp sources: only the prebuilt binary packages are used
  (cd "$dir" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci --no-audit --no-fund --loglevel=error >&2) \
    || { echo "install-llama-cpp: npm ci failed (is registry.npmjs.org reachable?)" >&2; exit 1; }
  echo "$lock_sha" > "$dir/.installed"
fi
cp "$src/perplexity.mjs" "$src/loads.mjs" "$dir/"  # the by-hand check's side; the devices' runner ships inside fleet-sim
# the prebuilt binary must load on this machine (a libc or CPU it was not built for fails here, not in a device)
(cd "$dir" && OPT_OUT_TRACKING=true node loads.mjs >&2) \
  || { echo "install-llama-cpp: the prebuilt llama.cpp binary does not load on this machine" >&2; exit 1; }
echo "$dir"
