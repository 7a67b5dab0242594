#!/bin/bash
# Launch to first 200 of the Flask fixture, its worker's RSS, then kill -9 of
# the worker to the first 200 from its replacement. Run from the repository
# after `npm run build && npm run fixtures`:
#   bench/replacement.sh PORT              # workers boot Pyodide and import the app
#   bench/replacement.sh PORT --preload    # workers start from the snapshot (run twice: the first makes it)
# REPS=N kills N workers in turn (1.5 s apart) and adds the median: on a busy
# machine one replacement says little.
set -euo pipefail
port=$1; shift
reps=${REPS:-1}
log=$(mktemp)
# Bytecode written and read as in a deployment (as bench/run.mjs does): without it each worker compiles Flask in wasm.
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX=${TMPDIR:-/tmp}/nicorn-bench-pycache
t0=$(date +%s%N)
node bin/nicorn-py -b 127.0.0.1:$port -w 1 --chdir fixtures/flaskapp --pythonpath $PWD/fixtures/.packages/site-packages "$@" app:app > "$log" 2>&1 &
until curl -sf http://127.0.0.1:$port/ -o /dev/null; do sleep 0.02; done
echo "launch -> first 200: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
sleep 1
w=$(grep -o "Booting worker with pid: [0-9]*" "$log" | tail -1 | awk '{print $5}')
echo "worker VmRSS: $(grep VmRSS /proc/$w/status | awk '{print $2/1024 " MiB"}')"
times=()
for i in $(seq "$reps"); do
  [ "$i" -gt 1 ] && sleep 1.5
  booted=$(grep -c 'Booting worker' "$log")
  w=$(grep -o "Booting worker with pid: [0-9]*" "$log" | tail -1 | awk '{print $5}')
  t1=$(date +%s%N); kill -9 $w
  # The listeners stay open in the arbiter: this request waits in the backlog for the replacement.
  until [ "$(grep -c 'Booting worker' "$log")" -gt "$booted" ] && curl -sf http://127.0.0.1:$port/ -o /dev/null; do sleep 0.005; done
  times+=($(( ($(date +%s%N) - t1) / 1000000 )))
done
if [ "$reps" -eq 1 ]; then
  echo "kill -9 -> replacement's first 200: ${times[0]} ms"
else
  sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "kill -9 -> replacement's first 200: median $median ms of $reps (${sorted% })"
fi
kill -TERM %1; wait; rm -f "$log"
