#!/usr/bin/env bash
# Transparency reports at scale, and what keeping their rollups costs the write path (issue 14).
#
# Part 1: seeds a year of VIOLATIONS violations (default 10 000 000) over 1 000 000 users, APPEALS appeal facts
# (default 100 000) and 1 000 000 entries into restrictive standings straight into PostgreSQL, then times
# GetTransparencyReport over the year (whole period and per month, three runs each):
#   - with the tallies as the writes leave them in the worst case, one row per violation (no batching);
#   - after the service's compaction (one row per day and set of attributes), which is timed too.
# Part 2: RecordViolation and RecordViolations (batches of 100) side by side, this build against BASE (default
# 0e49271, the last commit before the rollups), ROUNDS rounds (default 4) alternating which goes first, each after a
# warm-up, on fresh databases of the same PostgreSQL; prints each rate and the ratio.
#
# Usage: bash tests/perf/reports.sh        (about 20 minutes; nothing else should run meanwhile)
#        VIOLATIONS=1000000 ROUNDS=1 DURATION=5 bash tests/perf/reports.sh
#        PARTS=writes bash tests/perf/reports.sh       (only part 2; PARTS=reports for only part 1)
# Needs PostgreSQL, Redis and jq from Debian (bash tests/perf/run.sh installs them) and git. Everything it
# starts listens on 127.0.0.1 and is stopped on exit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
violations=${VIOLATIONS:-10000000}
appeals=${APPEALS:-100000}
base=${BASE:-0e49271}
rounds=${ROUNDS:-4}
duration=${DURATION:-20}
warm_up=${WARM_UP:-15}
parts=${PARTS:-reports writes}
say() { printf '\n== %s\n' "$*" >&2; }

pg_bin=$(dirname "$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -1)")
command -v redis-server >/dev/null && command -v jq >/dev/null && [ -x "$pg_bin/initdb" ] \
  || { echo "tests/perf/reports.sh: needs PostgreSQL, Redis and jq; bash tests/perf/run.sh installs them" >&2; exit 1; }

work=$(mktemp -d /tmp/scoring-reports.XXXXXX)
chmod 755 "$work"
pids=()
pg_data=""
# shellcheck source=tests/perf/lib.sh
source "$repo/tests/perf/lib.sh"
cleanup_all() {
  cleanup
  git -C "$repo" worktree remove --force "$work-base" >/dev/null 2>&1 || true
}
trap cleanup_all EXIT

say "building this build and $base (Release)"
for project in src/Scoring.Api src/Scoring.Cli; do
  dotnet build -c Release "$repo/$project" -v quiet -nologo -clp:ErrorsOnly >&2
done
git -C "$repo" worktree add --detach "$work-base" "$base" >/dev/null 2>&1
dotnet build -c Release "$work-base/src/Scoring.Api" -v quiet -nologo -clp:ErrorsOnly >&2
api_dll=$repo/src/Scoring.Api/bin/Release/net10.0/Scoring.Api.dll
base_dll=$work-base/src/Scoring.Api/bin/Release/net10.0/Scoring.Api.dll
cli_dll=$repo/src/Scoring.Cli/bin/Release/net10.0/Scoring.Cli.dll

say "starting PostgreSQL and Redis"
start_postgres_and_redis -c max_wal_size=4GB
psql -c 'CREATE DATABASE reports' -c 'CREATE DATABASE write_base' -c 'CREATE DATABASE write_rollups'

export ASPNETCORE_ENVIRONMENT=Production Auth__Mode=None Auth__AllowAnonymous=true Database__Provider=Postgres
Audit__ChainKey=$(head -c 32 /dev/urandom | base64)
export Audit__ChainKey
export RateLimit__Anonymous__PermitsPerSecond=10000000 RateLimit__Anonymous__Burst=10000000

# start NAME DLL DATABASE: a service on a free port; sets port_NAME and pid_NAME.
start() {
  local name=$1 dll=$2 database=$3 port
  port=$(free_port)
  (cd "$(dirname "$dll")" && ConnectionStrings__Scoring="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=$database;Maximum Pool Size=200" \
    ConnectionStrings__Redis="127.0.0.1:$redis_port" Hosting__MetricsPort=$(free_port) Hosting__HttpPort=$(free_port) \
    exec dotnet "$dll" --urls "http://127.0.0.1:$port") >"$work/$name.log" 2>&1 &
  pids+=($!)
  printf -v "pid_$name" '%s' $!
  printf -v "port_$name" '%s' "$port"
  wait_for_line "$work/$name.log" "Application started" "$!"
}

# --- Part 1: a report over a year ------------------------------------------------------------------------
if [[ " $parts " == *" reports "* ]]; then
say "starting the service, then seeding $violations violations, $appeals appeal facts and 1 000 000 standing entries (SQL)"
start reports "$api_dll" reports
year_start=2025-12-01
seeded=$(date +%s)
psql -d reports -c "
  INSERT INTO violations (id, source, event_id, user_id, category, severity, reported_severity, base_points, occurred_at, recorded_at,
                          appealable_until, status, appeal_state, automated, decision_ground)
  SELECT 'rep-' || n, (ARRAY['mod.queue','notice.form','trusted.flagger'])[1 + n % 3], 'rep-' || n, 'rep-u' || (n % 1000000),
         (ARRAY['spam','harassment','fraud','hate_speech','misinformation','privacy_violation','sexual_content','violent_extremism'])[1 + (n / 7) % 8],
         1 + n % 4, 1 + n % 4, 0, t - interval '1 hour', t, t + interval '180 days', 1, 0, n % 3 <> 0, 0
  FROM generate_series(1, $violations) AS n, LATERAL (SELECT timestamptz '$year_start' + (n::float8 / $violations) * interval '365 days' AS t) AS at;
  INSERT INTO report_appeals (appeal_id, category, automated, submitted_at, due_at, state, closed_at)
  SELECT 'rep-a' || n, (ARRAY['spam','harassment','fraud','hate_speech','misinformation','privacy_violation','sexual_content','violent_extremism'])[1 + n % 8],
         n % 3 <> 0, t, t + interval '72 hours', CASE WHEN n % 50 = 0 THEN 1 ELSE 3 + n % 4 END,
         CASE WHEN n % 50 = 0 THEN NULL ELSE t + (n % 200) * interval '1 hour' END
  FROM generate_series(1, $appeals) AS n, LATERAL (SELECT timestamptz '$year_start' + (n::float8 / $appeals) * interval '365 days' AS t) AS at;
  INSERT INTO report_standing_entries (user_key, standing, permanent, day)
  SELECT 'rep-u' || (n * 7 % 1000000), 2 + n % 4, n % 4 = 3 AND n % 20 = 3,
         date_trunc('day', timestamptz '$year_start' + (n::float8 / 1000000) * interval '365 days', 'UTC')
  FROM generate_series(1, 1000000) AS n;
  INSERT INTO report_tallies (day, kind, category, severity, automated, source, count)
  SELECT date_trunc('day', recorded_at, 'UTC'), 1, category, reported_severity, automated, source, 1 FROM violations;
  ANALYZE;"
echo "seeded in $(( $(date +%s) - seeded )) s: $(psql -d reports -Atc 'SELECT count(*) FROM report_tallies') tally rows (one per violation)" >&2

scoring() { dotnet "$cli_dll" --address "http://127.0.0.1:$port_reports" "$@"; }
# time_report LABEL ARGS…: three runs of one report, wall time each (the CLI's own start included).
time_report() {
  local label=$1 times=() started
  shift
  for _ in 1 2 3; do
    started=$(date +%s.%N)
    scoring report transparency --from "$year_start" --to 2026-11-30 "$@" --json >"$work/report.json"
    times+=("$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')")
  done
  echo "$label: ${times[*]} s" | tee -a "$work/results" >&2
}
time_report "year, uncompacted tallies ($violations rows), whole period"
time_report "year, uncompacted tallies, per month" --group-by month

say "restarting the service: its compaction of past days runs at start-up"
kill "$pid_reports"; wait "$pid_reports" 2>/dev/null || true
compaction_started=$(date +%s.%N)
start reports "$api_dll" reports
wait_for_line "$work/reports.log" "Report tallies of" "$pid_reports" 900
echo "compaction: $(awk -v a="$compaction_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s including the service's start;" \
  "$(psql -d reports -Atc 'SELECT count(*) FROM report_tallies') tally rows left" | tee -a "$work/results" >&2
time_report "year, compacted tallies, whole period"
jq -r '"check: the year report counts \(.periods[0].violations.total.value) violations and \(.periods[0].appeals.decided.value) appeals decided"' "$work/report.json" | tee -a "$work/results" >&2
time_report "year, compacted tallies, per month" --group-by month
kill "$pid_reports"; wait "$pid_reports" 2>/dev/null || true
# Gone before part 2, so its autovacuum (the compaction deleted ten million rows) cannot run beside the writes.
psql -c 'DROP DATABASE reports' -c 'CHECKPOINT'
fi

# --- Part 2: the write path with and without the rollups -----------------------------------------------
if [[ " $parts " == *" writes "* ]]; then
say "the write path: $base (no rollups) against this build, $rounds rounds of ${duration} s after ${warm_up} s warm-up"
start base "$base_dll" write_base
start rollups "$api_dll" write_rollups
bench() {
  dotnet "$cli_dll" bench --address "http://127.0.0.1:$1" --scenario "$2" --concurrency 32 --duration "$duration" --warm-up "$warm_up" \
    --population 10000 --no-seed-data --json 2>>"$work/bench.progress" | jq '.callsPerSecond'
}
for scenario in write batch-write; do
  for round in $(seq "$rounds"); do
    # Each build goes first in every other round, so neither always meets the machine the other left.
    if ((round % 2)); then
      without=$(bench "$port_base" "$scenario"); with=$(bench "$port_rollups" "$scenario")
    else
      with=$(bench "$port_rollups" "$scenario"); without=$(bench "$port_base" "$scenario")
    fi
    echo "$scenario round $round: $(printf '%.0f' "$without") calls/s without rollups, $(printf '%.0f' "$with") with: $(awk -v a="$without" -v b="$with" 'BEGIN { printf "%.3f", b / a }') x" \
      | tee -a "$work/results" >&2
  done
done
fi

echo
cat "$work/results"
