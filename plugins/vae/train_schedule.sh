#!/usr/bin/env bash
# Trains the vae model (all four quality levels at once, through gain units) in the background,
# then exports it and measures it on Kodak (evaluation only). One run: 2-core CPU.
#
# Usage:  nohup plugins/vae/train_schedule.sh >> ~/.cache/neuralav/train/vae/schedule.log 2>&1 &
# Re-running it resumes from the latest checkpoint (a finished run only re-exports and re-measures).
# Train longer by raising STEPS (the lr drop sits at 80% of the *current* STEPS) and re-running.
# Log: ~/.cache/neuralav/train/vae/$RUN.log; state: ~/.cache/neuralav/train/vae/$RUN/;
# weights: $EXPORT (ship them by copying to plugins/vae/weights/vae.npz: see plugins/vae/README.md).
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PY:-python}"
ROOT="${TRAIN_ROOT:-$HOME/.cache/neuralav/train/vae}"
RUN="${RUN:-main}"
EXTRA="${EXTRA:-$HOME/.cache/neuralav/train/cae/data/debian_wallpapers_x0.5}"  # made by cae.data, see cae's MODEL_CARD.md
DATA="/work/shared/data/photos"
[ -d "$EXTRA" ] && DATA="$DATA $EXTRA"
THREADS="${THREADS:-1}"          # the other core stays free for other trainers
STEPS="${STEPS:-40000}"
MINUTES="${MINUTES:-600}"        # wall minutes of this session before checkpoint-and-stop
SEED="${SEED:-1}"
EXPORT="${EXPORT:-$ROOT/export/vae.npz}"
INIT="${INIT:-}"                 # e.g. plugins/vae/weights/vae.npz: continue shipped weights (new run name)
WARMUP="${WARMUP:-0}"            # ~300 when INIT is set
mkdir -p "$ROOT" "$(dirname "$EXPORT")"
cd "$HERE/../.." || exit 1       # so `python -m neuralav...` also works from a checkout

init_args=()
[ -n "$INIT" ] && init_args=(--init-from "$INIT")
echo "$(date -u +%FT%TZ) start $RUN steps=$STEPS threads=$THREADS ${init_args[*]}"
# shellcheck disable=SC2086
"$PY" -m neuralav.plugins.vae.train --run "$RUN" --train-root "$ROOT" --data $DATA \
  --steps "$STEPS" --seed "$SEED" --threads "$THREADS" --max-minutes "$MINUTES" \
  --checkpoint-minutes 5 --warmup-steps "$WARMUP" --export "$EXPORT" "${init_args[@]}" >> "$ROOT/$RUN.log" 2>&1
status=$?
echo "$(date -u +%FT%TZ) end $RUN (exit $status)"
[ "$status" -eq 0 ] || exit "$status"
"$PY" -m neuralav.plugins.vae.evaluate --data /work/shared/data/kodak --weights "$EXPORT" \
  --threads "$THREADS" --json "${EXPORT%.npz}_kodak.json" --jpeg-json "$ROOT/jpeg_kodak.json" >> "$ROOT/$RUN.eval.log" 2>&1
echo "$(date -u +%FT%TZ) evaluated $EXPORT (exit $?): see $ROOT/$RUN.eval.log"
