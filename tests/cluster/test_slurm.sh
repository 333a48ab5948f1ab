#!/usr/bin/env bash
# A real single-node Slurm cluster (slurmctld + slurmd + munge), started in a temporary folder
# and stopped on exit: scripts/slurm/submit_study.sh submits the tiny study as a 2-task array
# and the report after it; the merged result must equal the unsharded study. Needs root (the
# daemons run as root) and Debian's slurm-wlm and munge (scripts/setup.sh --cluster).
# usage: test_slurm.sh GRADIENT_STUDY SOURCE_DIR WORK_DIR
set -euo pipefail
source "$(dirname "$0")/common.sh"
if [ "$(id -u)" != 0 ]; then
  echo "test_slurm: needs root to start slurmd; skipped"
  exit 77
fi
for tool in slurmctld slurmd sbatch squeue scontrol sinfo munged munge unmunge; do
  command -v $tool > /dev/null || fail "$tool not found (scripts/setup.sh --cluster installs slurm-wlm and munge)"
done
prepare
cluster=$work/cluster
mkdir -p "$cluster/state" "$cluster/spool"
started_munge=
stop() {
  for pidfile in "$cluster/slurmd.pid" "$cluster/slurmctld.pid"; do
    [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2> /dev/null || true
  done
  [ -n "$started_munge" ] && [ -s /run/munge/munged.pid ] && kill "$(cat /run/munge/munged.pid)" 2> /dev/null || true
}
trap stop EXIT

# munge: Slurm's authentication. Reuse a running munged; else start one as the munge user.
if ! munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then
  mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
  [ -s /etc/munge/munge.key ] || { mungekey --create --keyfile /etc/munge/munge.key 2> /dev/null || /usr/sbin/mungekey -c; }
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  runuser -u munge -- munged
  started_munge=1
  munge -n | unmunge > /dev/null || fail "munge does not work"
fi

node=$(hostname -s)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
export SLURM_CONF=$cluster/slurm.conf
cat > "$SLURM_CONF" << CONF
ClusterName=layerwise-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$cluster/state
SlurmdSpoolDir=$cluster/spool
SlurmctldPidFile=$cluster/slurmctld.pid
SlurmdPidFile=$cluster/slurmd.pid
SlurmctldLogFile=$cluster/slurmctld.log
SlurmdLogFile=$cluster/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
# slurmd 22.05 initialises a cgroup plugin even when nothing uses cgroups (linuxproc, task/none);
# autodetection fails where no cgroup file system is mounted (a chroot), v1 initialises anyway.
echo "CgroupPlugin=cgroup/v1" > "$cluster/cgroup.conf"
slurmctld -c -i || fail "slurmctld did not start: $(tail -5 "$cluster/slurmctld.log" 2>&1)"
slurmd -c || fail "slurmd did not start: $(tail -5 "$cluster/slurmd.log" 2>&1)"
for _ in $(seq 1 120); do
  [ "$(sinfo -h -o %T 2> /dev/null)" = idle ] && break
  sleep 0.5
done
[ "$(sinfo -h -o %T)" = idle ] || fail "the node did not become idle: $(sinfo 2>&1); $(tail -5 "$cluster/slurmd.log")"

# The study as a cluster user submits it.
SHARDS=2 GRADIENT_STUDY=$study bash "$src/scripts/slurm/submit_study.sh" "$work/slurm" "${grid[@]}" > "$work/submit.log" ||
  { cat "$work/submit.log"; fail "submit_study.sh failed"; }
read -r array report < <(sed -n 's/^submit_study: array job \([0-9]*\) .*report job \([0-9]*\) .*/\1 \2/p' "$work/submit.log")
[ -n "$array" ] && [ -n "$report" ] || fail "no job ids in: $(cat "$work/submit.log")"
scontrol show job "$report" | grep -q "Dependency=afterok:${array}" || fail "the report does not depend on the array"
# study.sbatch declares itself requeueable: a preempted task goes back to the queue and its runs
# resume from their last epoch (gradient_study's state.npz; tests/study/test_study.sh kills one).
scontrol show job "$array" | grep -q "Requeue=1" || fail "the study's tasks are not requeueable: $(scontrol show job "$array" | grep -o 'Requeue=[0-9]*' | head -1)"
for _ in $(seq 1 600); do  # 5 minutes at most
  [ -z "$(squeue -h -j "$array,$report" 2> /dev/null)" ] && break
  sleep 0.5
done
[ -z "$(squeue -h -j "$array,$report")" ] || fail "jobs still queued after 5 minutes: $(squeue)"
state() { scontrol show job "$1" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | sort -u | tr '\n' ' '; }
[ "$(state "$array")" = "COMPLETED " ] || fail "array $array ended $(state "$array"): $(cat "$work"/slurm/slurm/*.out)"
[ "$(state "$report")" = "COMPLETED " ] || fail "report $report ended $(state "$report")"
for task in 1 2; do
  grep -q "shard from Slurm array (SLURM_ARRAY_TASK_ID=$task, 2 tasks from 1)" "$work/slurm/slurm/layerwise-study-${array}_$task.out" ||
    fail "task $task did not take its shard from the array"
done
[ -s "$work/slurm/REPORT.md" ] || fail "the report job wrote no REPORT.md"
check_same_as_whole "$work/slurm"
echo "slurm: the array's 2 shards and the dependent report equal the unsharded study"

# A failed array cancels the report (--kill-on-invalid-dep) instead of leaving it pending forever.
broken=("${grid[@]}")
broken[1]=$work/no-such-folder  # grid starts with --data DIR: the plan passes, every run fails to read
SHARDS=2 GRADIENT_STUDY=$study bash "$src/scripts/slurm/submit_study.sh" "$work/broken" "${broken[@]}" > "$work/submit2.log" || { cat "$work/submit2.log"; fail "submit_study.sh failed"; }
read -r array report < <(sed -n 's/^submit_study: array job \([0-9]*\) .*report job \([0-9]*\) .*/\1 \2/p' "$work/submit2.log")
for _ in $(seq 1 240); do
  [ -z "$(squeue -h -j "$array,$report" 2> /dev/null)" ] && break
  sleep 0.5
done
[ -z "$(squeue -h -j "$array,$report")" ] || fail "the report of a failed array is still queued: $(squeue)"
[ "$(state "$array")" = "FAILED " ] || fail "the broken array ended $(state "$array")"
[ "$(state "$report")" = "CANCELLED " ] || fail "the report of a failed array ended $(state "$report")"
echo "slurm: a failed array cancels its report"
