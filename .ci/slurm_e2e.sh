#!/usr/bin/env bash
# End-to-end test of profiles/slurm on a real, one-node SLURM cluster started on this machine.
#
# Installs Debian's slurm-wlm and munge (once; needs root), starts munged, slurmctld and slurmd on localhost with
# all state in a temporary directory, makes results/heatmaps/maze10.png twice in throw-away copies of the
# repository, once locally and once through SLURM (one sbatch job per Snakemake job), checks that every file of
# the two results/ trees is byte-identical (cmp; a metrics.json may differ only in its wall-clock "seconds",
# which the artifact contract puts there), and prints both run times. The daemons it started are stopped by
# pid on exit, whatever happens. Finally a local dry run in the SLURM copy must find nothing to do.
#
#   .ci/slurm_e2e.sh                 # from anywhere; uses .venv of this checkout (or $RP_VENV, as make does)
#   SLURM_E2E_KEEP=1 .ci/slurm_e2e.sh  # keep the temporary directory (logs, both copies) for a look
#
# Environment: SLURM_E2E_TARGET (default results/heatmaps/maze10.png), SLURM_E2E_CPUS (default min(nproc, 2)),
# SLURM_E2E_TIMEOUT (seconds per workflow run, default 1800), SLURM_E2E_PORT (slurmctld port, default 17817;
# slurmd uses the next one).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${RP_VENV:-.venv}"
[[ "$VENV" == /* ]] || VENV="$REPO/$VENV"
SNAKEMAKE="$VENV/bin/snakemake"
PYTHON="$VENV/bin/python"
TARGET="${SLURM_E2E_TARGET:-results/heatmaps/maze10.png}"
NPROC="$(nproc)"
CPUS="${SLURM_E2E_CPUS:-$((NPROC < 2 ? NPROC : 2))}"
RUN_TIMEOUT="${SLURM_E2E_TIMEOUT:-1800}"
PORT="${SLURM_E2E_PORT:-17817}"
NODE="$(hostname -s)"
WORK="$(mktemp -d /tmp/slurm_e2e.XXXXXX)"
PIDS=()
# Snakemake's jobs call srun inside their batch job with every SLURM_* variable removed (the jobstep plugin
# cleans the environment), SLURM_CONF included, so the config must sit where srun looks by default.
CONF=/etc/slurm/slurm.conf
MARKER="# written by .ci/slurm_e2e.sh; removed when it ends"

step() { printf '\n[%(%H:%M:%S)T] == %s\n' -1 "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

fail() {
    echo "slurm_e2e: error: $*" >&2
    for log in "$WORK"/slurm/slurmctld.log "$WORK"/slurm/slurmd.log "$WORK"/munge/munged.log; do
        [[ -s $log ]] && { echo "--- last lines of $log" >&2; tail -n 20 "$log" >&2; }
    done
    exit 1
}

cleanup() {
    local status=$?
    # Stop what this script started, newest first, by pid only.
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        local pid="${PIDS[i]}"
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [[ -f $CONF ]] && head -n 1 "$CONF" | grep -qxF "$MARKER"; then rm -f "$CONF"; fi
    if [[ ${SLURM_E2E_KEEP:-0} == 1 || $status != 0 ]]; then
        echo "slurm_e2e: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ -x $SNAKEMAKE ]] || fail "no $SNAKEMAKE; run 'make setup' first"

step "install slurm-wlm and munge (skipped when present)"
t0=$(now)
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    [[ $(id -u) == 0 ]] || fail "slurm-wlm and munge are missing and installing them needs root"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; } \
        || fail "apt-get install slurm-wlm munge failed"
fi
install_s=$(elapsed "$t0" "$(now)")
echo "slurm $(slurmctld -V | awk '{print $2}'), installed or found in ${install_s}s"

step "start munged, slurmctld and slurmd (node $NODE, $CPUS CPUs)"
t0=$(now)
mkdir -p "$WORK"/munge "$WORK"/slurm/state "$WORK"/slurm/spool
chmod 755 "$WORK"/munge
dd if=/dev/urandom of="$WORK"/munge/munge.key bs=1024 count=1 status=none
chmod 400 "$WORK"/munge/munge.key
munged --force --key-file="$WORK"/munge/munge.key --socket="$WORK"/munge/munge.socket \
    --pid-file="$WORK"/munge/munged.pid --log-file="$WORK"/munge/munged.log --seed-file="$WORK"/munge/munged.seed \
    || fail "munged did not start"
for _ in $(seq 50); do [[ -s $WORK/munge/munged.pid ]] && break; sleep 0.1; done
[[ -s $WORK/munge/munged.pid ]] || fail "munged wrote no pid file"
PIDS+=("$(cat "$WORK"/munge/munged.pid)")

# Leave 10% of the memory to the system: slurmd drains a node that reports less than RealMemory.
mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
if [[ -e $CONF ]] && ! head -n 1 "$CONF" | grep -qxF "$MARKER"; then
    fail "$CONF exists and is not ours; this script does not touch a real cluster's configuration"
fi
mkdir -p "$(dirname "$CONF")"
export SLURM_CONF="$CONF"
cat >"$SLURM_CONF" <<EOF
$MARKER
ClusterName=ci
SlurmctldHost=localhost
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$WORK/munge/munge.socket
StateSaveLocation=$WORK/slurm/state
SlurmdSpoolDir=$WORK/slurm/spool
SlurmctldPidFile=$WORK/slurm/slurmctld.pid
SlurmdPidFile=$WORK/slurm/slurmd.pid
SlurmctldLogFile=$WORK/slurm/slurmctld.log
SlurmdLogFile=$WORK/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
# No accounting: Snakemake polls job states with squeue, which shows finished jobs for MinJobAge seconds.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$mem_mb State=UNKNOWN
PartitionName=ci Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -c -f "$SLURM_CONF" >"$WORK"/slurm/slurmctld.out 2>&1 &
PIDS+=($!)
slurmd -D -N "$NODE" -f "$SLURM_CONF" >"$WORK"/slurm/slurmd.out 2>&1 &
PIDS+=($!)

state=""
for _ in $(seq 120); do
    state=$(sinfo -h -N -n "$NODE" -o %t 2>/dev/null || true)
    [[ $state == idle ]] && break
    [[ $state == drain* || $state == down* || $state == fail* ]] && fail "node $NODE is $state: $(sinfo -h -R)"
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || fail "a SLURM daemon (pid $pid) exited"; done
    sleep 0.5
done
[[ $state == idle ]] || fail "node $NODE not idle after 60s (state: '${state:-no answer}')"
cluster_s=$(elapsed "$t0" "$(now)")
echo "cluster up in ${cluster_s}s:"
sinfo

step "copy the workflow twice"
for copy in local slurm; do
    mkdir -p "$WORK/$copy"
    tar -C "$REPO" --exclude=__pycache__ -cf - Snakefile workflow scripts config profiles reward_preprocessing \
        $(cd "$REPO" && ls environment.yml pyproject.toml 2>/dev/null) | tar -C "$WORK/$copy" -xf -
done
# Each copy uses its own, empty output cache (.cache/snakemake inside it): nothing may come from a cache here.
unset SNAKEMAKE_OUTPUT_CACHE

step "local run: $TARGET"
t0=$(now)
(cd "$WORK/local" && timeout "$RUN_TIMEOUT" "$SNAKEMAKE" --cores "$CPUS" "$TARGET" >"$WORK"/local.log 2>&1) \
    || { tail -n 40 "$WORK"/local.log >&2; fail "local run failed (log: $WORK/local.log)"; }
local_s=$(elapsed "$t0" "$(now)")
local_jobs=$(grep -c "^Finished jobid" "$WORK"/local.log || true)
echo "local: $local_jobs jobs in ${local_s}s"

step "SLURM run: $TARGET (profiles/slurm)"
t0=$(now)
(cd "$WORK/slurm" && timeout "$RUN_TIMEOUT" "$SNAKEMAKE" --workflow-profile profiles/slurm \
    --slurm-no-account --slurm-status-command squeue --slurm-init-seconds-before-status-checks 1 \
    --seconds-between-status-checks 1 --retries 0 --latency-wait 10 "$TARGET" >"$WORK"/slurm.log 2>&1) \
    || { tail -n 40 "$WORK"/slurm.log >&2; fail "SLURM run failed (log: $WORK/slurm.log)"; }
slurm_s=$(elapsed "$t0" "$(now)")
slurm_jobs=$(grep -c "^Finished jobid" "$WORK"/slurm.log || true)
submitted=$(grep -c "submitted with SLURM jobid" "$WORK"/slurm.log || true)
on_host=$(grep -c "^localrule " "$WORK"/slurm.log || true)  # the workflow's localrules
echo "SLURM: $slurm_jobs jobs in ${slurm_s}s, $submitted of them as SLURM jobs, $on_host next to Snakemake"
(( slurm_jobs == local_jobs )) || fail "the SLURM run did $slurm_jobs jobs, the local run $local_jobs"
(( submitted > 0 && submitted + on_host == slurm_jobs )) || fail "not every job went through SLURM (log: $WORK/slurm.log)"
squeue --states=all -o "%.8i %.22j %.10T %.8M %R" | head -n 30

step "compare both results/ byte for byte"
list() { (cd "$1" && find -L results -type f ! -path 'results/logs/*' ! -name .snakemake_timestamp | sort); }
diff <(list "$WORK/local") <(list "$WORK/slurm") >/dev/null || {
    diff <(list "$WORK/local") <(list "$WORK/slurm") >&2 || true
    fail "the two runs made different files"
}
same_but_seconds() {
    "$PYTHON" - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(path)) for path in sys.argv[1:])
for metrics in (a, b):
    metrics.pop("seconds", None)
sys.exit(a != b)
PY
}
identical=0 timing_only=0
while read -r f; do
    if cmp -s "$WORK/local/$f" "$WORK/slurm/$f"; then
        identical=$((identical + 1))
    elif [[ $(basename "$f") == metrics.json ]] && same_but_seconds "$WORK/local/$f" "$WORK/slurm/$f"; then
        timing_only=$((timing_only + 1))
    else
        cmp "$WORK/local/$f" "$WORK/slurm/$f" >&2 || true
        fail "$f differs between the local and the SLURM run"
    fi
done < <(list "$WORK/local")
(( identical > 0 )) || fail "no result files to compare"
echo "$identical files byte-identical; $timing_only metrics.json identical apart from their wall-clock seconds"

step "what SLURM made is up to date for a local run too"
(cd "$WORK/slurm" && "$SNAKEMAKE" --cores "$CPUS" -n "$TARGET" >"$WORK"/after.log 2>&1) \
    || fail "dry run after the SLURM run failed (log: $WORK/after.log)"
grep -q "Nothing to be done" "$WORK"/after.log || { cat "$WORK"/after.log >&2; fail "a local run would redo jobs"; }
echo "nothing to do"

step "summary"
printf '%-34s %8s\n' "install (or found)" "${install_s}s" "cluster start" "${cluster_s}s" \
    "local run ($local_jobs jobs)" "${local_s}s" "SLURM run ($submitted sbatch jobs)" "${slurm_s}s"
echo "slurm_e2e: OK"
