#!/usr/bin/env bash
# Trains the shipped vae recipe: one one-level model per quality level, each started from that
# level's cae transforms (weights/MODEL_CARD.md gives the exact commands and steps of the shipped
# files). 2-core CPU.
#
#   stage 1 (levels in STAGE1_LEVELS, one after another, 2 threads): 128x128 crops, batch 8; the
#           cae transforms and the gains are held fixed for the first 1000 steps while the fresh
#           hyperprior learns; stopped by STAGE1_MINUTES.
#   stage 2 (all four levels at once, 1 thread each): 256x256 crops, batch 2, from the stage-1
#           run (or, for a level without one, from the cae file, transforms held fixed). 128-pixel
#           crops give a hyper-latent of 2x2, all border: a model trained only on them spends
#           ~3x the bits on a whole 768x512 image that it spends on its 128-pixel tiles.
#
# Usage:  nohup plugins/vae/train_schedule.sh PHOTOS_DIR KODAK_DIR >> ~/.cache/neuralav/train/vae/schedule.log 2>&1 &
#         PHOTOS_DIR: training photos (EXTRA is added when it exists); KODAK_DIR: the evaluation set.
# Re-running it resumes every run from its latest checkpoint (a finished run only re-exports).
# Logs: ~/.cache/neuralav/train/vae/q$Q.log, q${Q}c256.log; weights: $ROOT/export/q$Q.npz
# (ship them by copying to plugins/vae/weights/: see plugins/vae/README.md).
set -u
if [ "$#" -ne 2 ]; then
  echo "usage: $0 PHOTOS_DIR KODAK_DIR  (training photos, evaluation images)" >&2
  exit 2
fi
PHOTOS="$1"
KODAK="$2"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PY:-python}"
ROOT="${TRAIN_ROOT:-$HOME/.cache/neuralav/train/vae}"
EXTRA="${EXTRA:-$HOME/.cache/neuralav/train/cae/data/debian_wallpapers_x0.5}"  # made by imaging.data, see cae's MODEL_CARD.md
DATA=("$PHOTOS")
[ -d "$EXTRA" ] && DATA+=("$EXTRA")
STAGE1_LEVELS="${STAGE1_LEVELS:-1 2 3}"   # levels trained in stage 1 (the shipped files': model card)
STAGE1_MINUTES="${STAGE1_MINUTES:-24}"
STAGE2_STEPS="${STAGE2_STEPS:-3400}"
STAGE2_MINUTES="${STAGE2_MINUTES:-62}"
mkdir -p "$ROOT/export"
cd "$HERE/../.." || exit 1       # so `python -m neuralav...` also works from a checkout
lmbda() { "$PY" -c "from neuralav.plugins.vae.quality import LEVELS; print(LEVELS[$1].lmbda)"; }

for q in $STAGE1_LEVELS; do
  echo "$(date -u +%FT%TZ) stage 1 q$q"
  "$PY" -m neuralav.plugins.vae.train --run "q$q" --train-root "$ROOT" --data "${DATA[@]}" \
    --lmbdas "$(lmbda "$q")" --steps 5000 --lr 5e-4 --lr-final 5e-5 --seed "$q" --threads 2 \
    --max-minutes "$STAGE1_MINUTES" --checkpoint-minutes 5 --warmup-steps 200 --freeze-steps 1000 \
    --init-from "plugins/cae/weights/q$q.npz" >> "$ROOT/q$q.log" 2>&1 || exit $?
done

pids=()
for q in 1 2 3 4; do
  if [ -d "$ROOT/q$q" ]; then
    init=(--init-from "$ROOT/q$q" --lr 3e-4 --lr-final 3e-5 --warmup-steps 100)
  else
    # no stage 1: only the hyperprior trains, the transforms stay cae's (see the model card)
    init=(--init-from "plugins/cae/weights/q$q.npz" --lr 5e-4 --lr-final 5e-5 --warmup-steps 100
          --freeze-steps "$STAGE2_STEPS")
  fi
  echo "$(date -u +%FT%TZ) stage 2 q$q ${init[*]}"
  "$PY" -m neuralav.plugins.vae.train --run "q${q}c256" --train-root "$ROOT" --data "${DATA[@]}" \
    --lmbdas "$(lmbda "$q")" --crop 256 --batch 2 --steps "$STAGE2_STEPS" --seed "1$q" --threads 1 \
    --checkpoint-minutes 5 --max-minutes "$STAGE2_MINUTES" --log-every 100 "${init[@]}" \
    --export "$ROOT/export/q$q.npz" >> "$ROOT/q${q}c256.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
echo "$(date -u +%FT%TZ) stage 2 done (exit $status)"
[ "$status" -eq 0 ] || exit "$status"
"$PY" -m neuralav.plugins.vae.evaluate --data "$KODAK" \
  --weights "$ROOT"/export/q{1,2,3,4}.npz --threads 2 --json "$ROOT/export/kodak.json" \
  --jpeg-json "$ROOT/jpeg_kodak.json" >> "$ROOT/eval.log" 2>&1
echo "$(date -u +%FT%TZ) evaluated (exit $?): see $ROOT/eval.log"
