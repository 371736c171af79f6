#!/usr/bin/env bash
# Times vktrain's matmul shapes under several tilings (VKTRAIN_MATMUL_TILING=BM,BN,BK,TM,TN), one
# vktrain-bench run each, and prints GFLOP/s per shape and tiling: the data behind choose_tiling()
# in lib/ops/matmul.cpp (docs/performance-notes.md).
#   bench/tune_matmul.sh BENCH_BINARY [TILING...]
set -euo pipefail
bench=$1
shift
tilings=("$@")
if [[ ${#tilings[@]} -eq 0 ]]; then
  tilings=(64,64,16,4,4 32,32,16,4,4 128,128,8,8,8 128,128,16,8,8 128,64,16,8,4 64,128,16,4,8
           64,64,16,8,8 64,64,32,4,4 128,128,16,8,4)
fi
results=$(mktemp -d)
for tiling in "${tilings[@]}"; do
  VKTRAIN_MATMUL_TILING=$tiling "$bench" --large --filter matmul_ --repetitions 5 --target 0.1 \
    2>/dev/null | awk '/^matmul_/ { print $1, $3 }' >"$results/$tiling" ||
    echo "tune_matmul: $tiling failed" >&2
done
printf '%-36s' shape
for tiling in "${tilings[@]}"; do printf ' %15s' "$tiling"; done
printf '\n'
for shape in $(awk '{ print $1 }' "$results/${tilings[0]}"); do
  printf '%-36s' "$shape"
  for tiling in "${tilings[@]}"; do
    printf ' %15s' "$(awk -v s="$shape" '$1 == s { print $2 }' "$results/$tiling")"
  done
  printf '\n'
done
rm -rf "$results"
