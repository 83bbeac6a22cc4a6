#!/usr/bin/env bash
# Lists package-level dependency cycles among compiled classes (jdeps), one line per
# strongly connected group, followed by the edges inside it. Exits 1 when there is a cycle.
# Usage: scripts/package-cycles.sh [classes-dir] [package-prefix]
set -euo pipefail
classes=${1:-services/engine/target/classes}
prefix=${2:-ai.coalora}
[ -d "$classes" ] || { echo "no $classes: compile first" >&2; exit 2; }

jdeps -verbose:package -filter:none "$classes" 2>/dev/null \
  | awk -v p="$prefix" '
      $2 == "->" && index($1, p) == 1 && index($3, p) == 1 && $1 != $3 { print $1, $3 }' \
  | sort -u \
  | awk '
      { edge[$1, $2] = 1; reach[$1, $2] = 1; node[$1] = 1; node[$2] = 1 }
      END {
        # transitive closure (Floyd-Warshall); a handful of packages, so cubic is fine
        for (k in node) for (i in node) if ((i, k) in reach) for (j in node) if ((k, j) in reach) reach[i, j] = 1
        n = 0
        for (a in node) {
          if (a in seen) continue
          group = a; size = 1
          for (b in node) if (b != a && ((a, b) in reach) && ((b, a) in reach)) { group = group " " b; seen[b] = 1; size++ }
          if (size < 2) continue
          n++
          printf "cycle %d: %s\n", n, group
          split(group, members, " ")
          for (x in members) for (y in members)
            if ((members[x], members[y]) in edge) printf "    %s -> %s\n", members[x], members[y]
        }
        printf "%d package cycle(s)\n", n
        exit n > 0
      }'
