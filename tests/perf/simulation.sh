#!/usr/bin/env bash
# A policy simulation at scale, side by side with reads (issue 13): seeds USERS users (default 1 000 000)
# with 3 active violations each straight into PostgreSQL, measures GetScore through the service for
# DURATION s without a simulation, then starts a simulation of a changed policy and measures the same
# reads while it runs, and once more after it ended. Prints the simulation's wall time, the read rate
# beside it as a ratio to the mean of the rates before and after (the service warms up meanwhile, so
# either alone would flatter or harm the ratio), and the service's peak resident memory during it.
#
# Usage: bash tests/perf/simulation.sh            (about 5 minutes; nothing else should run meanwhile)
#        USERS=100000 DURATION=10 bash tests/perf/simulation.sh
# Needs PostgreSQL and Redis from Debian (bash tests/perf/run.sh installs them). Everything it starts
# listens on 127.0.0.1 and is stopped on exit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
users=${USERS:-1000000}
duration=${DURATION:-20}
readers=${READERS:-10000}
say() { printf '\n== %s\n' "$*" >&2; }

pg_bin=$(dirname "$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -1)")
command -v redis-server >/dev/null && command -v jq >/dev/null && [ -x "$pg_bin/initdb" ] \
  || { echo "tests/perf/simulation.sh: needs PostgreSQL, Redis and jq; bash tests/perf/run.sh installs them" >&2; exit 1; }

say "building (Release)"
for project in src/Scoring.Api src/Scoring.Cli; do
  dotnet build -c Release "$repo/$project" -v quiet -nologo -clp:ErrorsOnly >&2
done
api_dll=$repo/src/Scoring.Api/bin/Release/net10.0/Scoring.Api.dll
cli_dll=$repo/src/Scoring.Cli/bin/Release/net10.0/Scoring.Cli.dll

work=$(mktemp -d /tmp/scoring-simulation.XXXXXX)
chmod 755 "$work"
pids=()
pg_data=""
# shellcheck source=tests/perf/lib.sh
source "$repo/tests/perf/lib.sh"
trap cleanup EXIT

say "starting PostgreSQL and Redis"
# Statements over 100 ms go to the server's log (SLOW=1 prints the slowest at the end).
start_postgres_and_redis -c log_min_duration_statement=100
psql -c 'CREATE DATABASE scoring'

say "starting the service on PostgreSQL + Redis"
export ASPNETCORE_ENVIRONMENT=Production Auth__Mode=None Auth__AllowAnonymous=true Database__Provider=Postgres
Audit__ChainKey=$(head -c 32 /dev/urandom | base64)
export Audit__ChainKey
export ConnectionStrings__Scoring="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=scoring;Maximum Pool Size=200"
export ConnectionStrings__Redis="127.0.0.1:$redis_port"
export RateLimit__Anonymous__PermitsPerSecond=10000000 RateLimit__Anonymous__Burst=10000000
cd "$(dirname "$api_dll")"
service_port=$(free_port)
Hosting__MetricsPort=$(free_port) Hosting__HttpPort=$(free_port) dotnet "$api_dll" --urls "http://127.0.0.1:$service_port" >"$work/service.log" 2>&1 &
pids+=($!)
service_pid=$!
wait_for_line "$work/service.log" "Application started" "$service_pid"
cd "$repo"
service=http://127.0.0.1:$service_port
scoring() { dotnet "$cli_dll" --address "$service" "$@"; }

say "seeding $users users with 3 active violations each (SQL), and $readers readers through the service"
psql -d scoring -c "
  INSERT INTO violations (id, source, event_id, user_id, category, severity, reported_severity, base_points, occurred_at, recorded_at,
                          appealable_until, status, appeal_state, automated)
  SELECT 'sim-' || u || '-' || k, 'perf.sim', 'sim-' || u || '-' || k, 'sim-u' || lpad(u::text, 7, '0'),
         (ARRAY['spam','harassment','fraud','hate_speech','misinformation','privacy_violation'])[1 + (u * 3 + k) % 6],
         1 + (u + k) % 4, 1 + (u + k) % 4, 0,
         now() - ((u::bigint * 7919 + k * 104729) % (180 * 86400)) * interval '1 second', now(), now() + interval '180 days', 1, 0, true
  FROM generate_series(1, $users) AS u, generate_series(1, 3) AS k;
  ANALYZE violations;"
dotnet "$cli_dll" bench --address "$service" --scenario read --duration 3 --population "$readers" --json >/dev/null 2>"$work/bench.progress"

say "a candidate: fraud weighs 3, WARNED begins at 12"
scoring policy --json | jq '.version = "perf-candidate" | (.categories[] | select(.name == "fraud") | .weight) = 3 | .thresholds.warned = 12' >"$work/candidate.json"
scoring policy draft --file "$work/candidate.json" >/dev/null
scoring policy publish perf-candidate >/dev/null

read_run() {
  dotnet "$cli_dll" bench --address "$service" --scenario read --duration "$duration" --population "$readers" --no-seed-data --json 2>>"$work/bench.progress"
}

say "warming up the reads (10 s), then reads without a simulation (${duration} s)"
dotnet "$cli_dll" bench --address "$service" --scenario read --duration 10 --population "$readers" --no-seed-data --json >/dev/null 2>>"$work/bench.progress"
alone=$(read_run | jq '.callsPerSecond')

say "reads while a simulation of $users users runs (${duration} s), then the simulation to its end"
# Peak memory from here: the kernel's high-water mark, reset.
echo 5 >"/proc/$service_pid/clear_refs" 2>/dev/null || true
rss_before=$(grep -oP '^VmRSS:\s+\K[0-9]+' "/proc/$service_pid/status")
started=$(date +%s.%N)
id=$(scoring policy simulate perf-candidate --json | jq -r '.simulationId')
beside=$(read_run | jq '.callsPerSecond')
state=RUNNING
for _ in $(seq 1800); do
  state=$(scoring policy simulate perf-candidate --id "$id" --json | jq -r '.state')
  [[ "$state" == POLICY_SIMULATION_STATE_SUCCEEDED || "$state" == POLICY_SIMULATION_STATE_FAILED || "$state" == POLICY_SIMULATION_STATE_CANCELLED ]] && break
  sleep 0.2
done
finished=$(date +%s.%N)
peak=$(grep -oP '^VmHWM:\s+\K[0-9]+' "/proc/$service_pid/status")
say "reads after the simulation (${duration} s)"
after=$(read_run | jq '.callsPerSecond')
result=$(scoring policy simulate perf-candidate --id "$id" --json)
[[ "$state" == POLICY_SIMULATION_STATE_SUCCEEDED ]] || { echo "tests/perf/simulation.sh: the simulation ended $state" >&2; echo "$result" >&2; exit 1; }

echo
echo "simulation of $(jq -r '.result.users' <<<"$result") users ($((users * 3)) violations): $(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.1f", b - a }') s;" \
  "$(jq -r '.result.usersChangingStanding' <<<"$result") would change standing"
echo "GetScore (${readers} users, cache hits): $(printf '%.0f' "$alone") calls/s before, $(printf '%.0f' "$beside") beside the simulation," \
  "$(printf '%.0f' "$after") after: $(awk -v a="$alone" -v b="$beside" -v c="$after" 'BEGIN { printf "%.2f", 2 * b / (a + c) }') x the mean without it"
[ -n "${SLOW:-}" ] && grep -oP 'duration: [0-9.]+ ms.{0,60}' "$pg_data/log" | sort -t' ' -k2 -rn | head -20
echo "service memory: $((rss_before / 1024)) MiB resident before the simulation, peak $((peak / 1024)) MiB during it"
