#!/bin/bash
# The Slurm integration test of `xnusim sweep --emit slurm` (tests/cli/sweep_cluster_test.cpp):
# starts a one-node Slurm cluster in a scratch folder (a private munged on its own socket,
# slurmctld and slurmd in the foreground on free ports), submits the emitted script (a job array
# of shards, then a merge job that depends on it), waits for the merge, and compares the merged
# folder with the same sweep run locally, file by file, byte for byte. Every daemon it starts is
# stopped on exit, and the scratch folder removed.
# Usage: slurm_sweep.sh XNUSIM SCENARIO. Exit 0 pass, 77 skipped (the reason on stdout), else fail.
set -euo pipefail
XNUSIM=$1 SCENARIO=$2
for tool in munged mungekey munge slurmctld slurmd sbatch squeue scontrol sinfo ss shuf; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool not found (apt-get install slurm-wlm munge iproute2)"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "skipped: slurmd must run as root for this test"; exit 77; }

T=$(mktemp -d /tmp/xnusim-slurm.XXXXXX)
chmod 755 "$T"   # munged wants every directory above its socket searchable by all
mkdir -p "$T"/{munge,state,spool,log,work}
DAEMONS=()
stop_all() {
  set +e
  [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ] && scontrol shutdown >/dev/null 2>&1
  for p in "${DAEMONS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${DAEMONS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
  done
  rm -rf "$T"
}
trap stop_all EXIT
fail() { echo "FAIL: $*"; for f in "$T"/log/*; do echo "== $f"; tail -n 15 "$f"; done; exit 1; }
until_true() {  # until_true TENTHS COMMAND...: retries every 0.1 s
  local n=$1; shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
pick_port() {
  local p
  for p in $(shuf -i 21000-39000 -n 64); do
    [ -z "$(ss -Hltn "( sport = :$p )")" ] && [ "$p" != "${1:-}" ] && { echo "$p"; return 0; }
  done
  return 1
}

mungekey -c -k "$T/munge/key" >/dev/null
munged -F --key-file="$T/munge/key" --socket="$T/munge/sock" --pid-file="$T/munge/pid" \
  --seed-file="$T/munge/seed" --log-file="$T/log/munged.log" >"$T/log/munged.out" 2>&1 &
DAEMONS+=($!)
munge_ok() { munge -S "$T/munge/sock" -n | unmunge -S "$T/munge/sock"; }
until_true 100 munge_ok || fail "munged did not start"

read -r CPUS MEM < <(slurmd -C | head -1 | sed -E 's/.*CPUs=([0-9]+).*RealMemory=([0-9]+).*/\1 \2/')
CTLD_PORT=$(pick_port); NODE_PORT=$(pick_port "$CTLD_PORT")
export SLURM_CONF="$T/slurm.conf"
cat >"$SLURM_CONF" <<CONF
ClusterName=xnusimtest
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$NODE_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/sock
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
PlugStackConfig=$T/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
MinJobAge=600
SchedulerParameters=batch_sched_delay=0
NodeName=n1 NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
: >"$T/plugstack.conf"
slurmctld -D -f "$SLURM_CONF" >"$T/log/slurmctld.out" 2>&1 &
DAEMONS+=($!)
ctld_up() { scontrol ping | grep -q UP; }
until_true 300 ctld_up || fail "slurmctld did not come up"
slurmd -D -f "$SLURM_CONF" -N n1 >"$T/log/slurmd.out" 2>&1 &
DAEMONS+=($!)
node_idle() { [ "$(sinfo -h -N -o %t)" = idle ]; }
until_true 300 node_idle || fail "slurmd did not register"

# The same sweep, once here and once through Slurm (three shards), from the same folder.
cd "$T/work"
cp "$SCENARIO" scenario.json
ARGS=(scenario.json --policies xnu,fixed --vary machine.cpus=1,2 --seeds 1..3 --metric system.context_switches)
"$XNUSIM" sweep "${ARGS[@]}" -j 2 -o local -q || fail "local sweep failed"
"$XNUSIM" sweep "${ARGS[@]}" --emit slurm --shards 3 -o cluster >submit.sh || fail "--emit slurm failed"
read -r ARRAY MERGE < <(bash submit.sh) || fail "submitting the emitted script failed"
[ -n "${MERGE:-}" ] || fail "the emitted script printed no job ids"
echo "submitted array job $ARRAY and merge job $MERGE"
for _ in $(seq 900); do
  [ -z "$(squeue -h -j "$MERGE" 2>/dev/null)" ] && break
  # A failed shard leaves the merge pending for ever (afterok cannot hold any more).
  [ "$(squeue -h -j "$MERGE" -o %r 2>/dev/null)" = DependencyNeverSatisfied ] && { cat cluster.shards/*.log; fail "a shard failed"; }
  sleep 0.2
done
[ -z "$(squeue -h -j "$MERGE" 2>/dev/null)" ] || fail "the merge job did not finish in 180 s"
STATE=$(scontrol -o show job "$MERGE" | grep -o 'JobState=[A-Z]* .*ExitCode=[0-9:]*' | sed -E 's/ .*ExitCode=/ ExitCode=/')
echo "merge job: $STATE"
case "$STATE" in *COMPLETED*ExitCode=0:0) ;; *) cat cluster.shards/*.log 2>/dev/null; fail "merge job: $STATE" ;; esac
for f in sweep.json points.jsonl points.csv summary.csv summary.html; do
  cmp "local/$f" "cluster/$f" || fail "$f differs between the local and the Slurm run"
done
[ "$(ls cluster | sort | tr '\n' ' ')" = "$(ls local | sort | tr '\n' ' ')" ] || fail "the folders hold different files"
echo "identical: $(wc -l <cluster/points.csv) lines of points.csv from $(ls -d cluster.shards/[0-9]* | wc -l) shards"
