#!/usr/bin/env bash
# Per-configuration baseline across budgets: one LoRA fine-tune per budget on the quantized base,
# plus the references (fp32 + LoRA, quantized with no adapter) once at the first budget.
# Usage: scripts/budget-sweep.sh [task] [budgets...]   (default: sentiment 2.5 3.0 3.5 4.0 4.5 5.0)
set -euo pipefail
cd "$(dirname "$0")/.."
task="${1:-sentiment}"; shift || true
budgets=("$@"); [ ${#budgets[@]} -gt 0 ] || budgets=(2.5 3.0 3.5 4.0 4.5 5.0)
first=1
for b in "${budgets[@]}"; do
  if [ $first = 1 ]; then refs=(); first=0; else refs=(--no-references); fi
  ./coalora finetune --task "$task" --budget "$b" "${refs[@]}" 2>/dev/null | grep -v "^task\|^run\|total wall" | sed "s/^/budget $b  /"
done
