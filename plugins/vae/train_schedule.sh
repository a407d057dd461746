#!/usr/bin/env bash
# Trains the shipped vae recipe: one one-level model per quality level, each started from that
# level's cae transforms (held fixed for the first FREEZE steps while the fresh hyperprior learns),
# one level after another on the whole 2-core CPU; then exports each and measures all on Kodak
# (evaluation only).
#
# Usage:  nohup plugins/vae/train_schedule.sh >> ~/.cache/neuralav/train/vae/schedule.log 2>&1 &
# Re-running it resumes every level from its latest checkpoint (a finished level only re-exports).
# Log: ~/.cache/neuralav/train/vae/q$Q.log; state: ~/.cache/neuralav/train/vae/q$Q/;
# weights: $ROOT/export/q$Q.npz (ship them by copying to plugins/vae/weights/: see plugins/vae/README.md).
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PY:-python}"
ROOT="${TRAIN_ROOT:-$HOME/.cache/neuralav/train/vae}"
EXTRA="${EXTRA:-$HOME/.cache/neuralav/train/cae/data/debian_wallpapers_x0.5}"  # made by cae.data, see cae's MODEL_CARD.md
DATA="/work/shared/data/photos"
[ -d "$EXTRA" ] && DATA="$DATA $EXTRA"
THREADS="${THREADS:-2}"
STEPS="${STEPS:-5000}"           # per level
FREEZE="${FREEZE:-1000}"         # steps with the cae transforms and gains held fixed
MINUTES="${MINUTES:-24}"         # wall minutes per level before checkpoint-and-stop
LEVELS="${LEVELS:-1 2 3 4}"
LMBDAS=(0 0.0025 0.005 0.01 0.02)  # index = level, as cae (plugins/vae/quality.py)
mkdir -p "$ROOT/export"
cd "$HERE/../.." || exit 1       # so `python -m neuralav...` also works from a checkout

exports=()
for q in $LEVELS; do
  echo "$(date -u +%FT%TZ) start q$q steps=$STEPS freeze=$FREEZE threads=$THREADS"
  # shellcheck disable=SC2086
  "$PY" -m neuralav.plugins.vae.train --run "q$q" --train-root "$ROOT" --data $DATA \
    --lmbdas "${LMBDAS[$q]}" --steps "$STEPS" --lr 5e-4 --lr-final 5e-5 --seed "$q" \
    --threads "$THREADS" --max-minutes "$MINUTES" --checkpoint-minutes 5 --warmup-steps 200 \
    --freeze-steps "$FREEZE" --init-from "plugins/cae/weights/q$q.npz" \
    --export "$ROOT/export/q$q.npz" >> "$ROOT/q$q.log" 2>&1
  status=$?
  echo "$(date -u +%FT%TZ) end q$q (exit $status)"
  [ "$status" -eq 0 ] || exit "$status"
  exports+=("$ROOT/export/q$q.npz")
done
"$PY" -m neuralav.plugins.vae.evaluate --data /work/shared/data/kodak --weights "${exports[@]}" \
  --threads "$THREADS" --json "$ROOT/export/kodak.json" --jpeg-json "$ROOT/jpeg_kodak.json" >> "$ROOT/eval.log" 2>&1
echo "$(date -u +%FT%TZ) evaluated ${exports[*]} (exit $?): see $ROOT/eval.log"
