#!/usr/bin/env bash
# Trains the four CAE quality levels one after another (2-core CPU: one run at a time):
# q3 from scratch, then q4 / q2 fine-tuned from q3 and q1 from q2; exports each
# level's weights (λ of each level from quality.py's LEVELS) to plugins/cae/weights/q{N}.npz as soon as it is trained.
#
# Usage:  nohup plugins/cae/train_schedule.sh PHOTOS_DIR [MORE_DIR ...] > ~/.cache/neuralav/train/cae/schedule.log 2>&1 &
#         PHOTOS_DIR ...: folders of training photos (never Kodak); $ROOT/data/debian_wallpapers_x0.5
#         is added when it exists (see MODEL_CARD.md for how it is made).
# PARALLEL_FT=1 fine-tunes q4, q2 and q1 from q3 at the same time.
# Re-running it resumes every run from its latest checkpoint (finished runs only re-export).
# Train longer by raising the STEPS_* values below (or env vars) and re-running.
# Per-run logs: ~/.cache/neuralav/train/cae/q{N}.log; state: ~/.cache/neuralav/train/cae/q{N}/.
set -u
if [ "$#" -lt 1 ]; then
  echo "usage: $0 PHOTOS_DIR [MORE_DIR ...]  (folders of training photos)" >&2
  exit 2
fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PY:-python}"
ROOT="${TRAIN_ROOT:-$HOME/.cache/neuralav/train/cae}"
WEIGHTS="${WEIGHTS_DIR:-$HERE/weights}"
EXTRA="$ROOT/data/debian_wallpapers_x0.5"   # see MODEL_CARD.md for how it is made
DATA=("$@")
[ -d "$EXTRA" ] && DATA+=("$EXTRA")
THREADS="${THREADS:-1}"                      # TensorFlow threads of each run
STEPS_BASE="${STEPS_BASE:-4500}"
STEPS_FT="${STEPS_FT:-900}"
SEED="${SEED:-1}"
INIT_BASE="${INIT_BASE:-}"                   # e.g. plugins/cae/weights/q3.npz: continue the shipped model
WARMUP="${WARMUP:-0}"                        # lr warm-up steps of every run (~300 when INIT_BASE is set)
mkdir -p "$ROOT" "$WEIGHTS"

train() {  # train <run> <lmbda> <steps> <max-minutes> [--init-from DIR]
  local run="$1" lmbda="$2" steps="$3" minutes="$4"; shift 4
  echo "$(date -u +%FT%TZ) start $run lmbda=$lmbda steps=$steps $*"
  "$PY" -m neuralav.plugins.cae.train --run "$run" --train-root "$ROOT" --data "${DATA[@]}" \
    --lmbda "$lmbda" --steps "$steps" --seed "$SEED" --threads "$THREADS" \
    --max-minutes "$minutes" --warmup-steps "$WARMUP" --export "$WEIGHTS/$run.npz" "$@" >> "$ROOT/$run.log" 2>&1
  echo "$(date -u +%FT%TZ) end $run (exit $?)"
}

cd "$HERE/../.." || exit 1   # so `python -m neuralav...` also works from a checkout
lmbda() { "$PY" -c "from neuralav.plugins.cae.quality import LEVELS; print(LEVELS[$1].lmbda)"; }
if [ -n "$INIT_BASE" ]; then
  train q3 "$(lmbda 3)" "$STEPS_BASE" "${MINUTES_BASE:-17}" --init-from "$INIT_BASE"
else
  train q3 "$(lmbda 3)" "$STEPS_BASE" "${MINUTES_BASE:-17}"
fi
if [ "${PARALLEL_FT:-0}" = 1 ]; then   # all three from q3 at once (other cores idle otherwise)
  train q4 "$(lmbda 4)" "$STEPS_FT" "${MINUTES_FT:-3.5}" --init-from "$ROOT/q3" &
  train q2 "$(lmbda 2)" "$STEPS_FT" "${MINUTES_FT:-3.5}" --init-from "$ROOT/q3" &
  train q1 "$(lmbda 1)" "$STEPS_FT" "${MINUTES_FT:-3.5}" --init-from "$ROOT/q3" &
  wait
else
  train q4 "$(lmbda 4)" "$STEPS_FT"   "${MINUTES_FT:-3.5}" --init-from "$ROOT/q3"
  train q2 "$(lmbda 2)" "$STEPS_FT"   "${MINUTES_FT:-3.5}" --init-from "$ROOT/q3"
  train q1 "$(lmbda 1)" "$STEPS_FT"   "${MINUTES_FT:-3.5}" --init-from "$ROOT/q2"
fi
echo "$(date -u +%FT%TZ) schedule done"
