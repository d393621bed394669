#!/usr/bin/env bash
# The performance run: measures the service on PostgreSQL + Redis against ceilings measured in the same
# run on the same machine, and prints each figure as a ratio to its ceiling. See tests/perf/PERFORMANCE.md.
#
#   bash tests/perf/run.sh            # about 4 minutes after the first build
#
# Installs what it needs from Debian packages when missing (as root): postgresql (pgbench), redis-server
# (redis-benchmark), nghttp2-client (h2load, nghttp) and jq. Starts its own PostgreSQL, Redis, ceiling
# server and service on free 127.0.0.1 ports, bounds every load run in time, and stops them all on exit.
#
# Settings (environment): PERF_DURATION seconds per measurement (default 10), PERF_READ_CONNECTIONS and
# PERF_READ_STREAMS (default 4 x 64 = 256 calls in flight), PERF_WRITE_CONCURRENCY (default 32 clients
# or calls in flight for every durable-write figure), PERF_WRITE_WARM_UP seconds of unmeasured load before
# each durable-write figure (default 20), PERF_POPULATION users (default 10000), PERF_WATCHERS watchers of
# the feed of standing changes (default 1000) while PERF_WATCH_RATE changes/s are written (default 1000).
# PERF_SERVICE_ENV="NAME=value ..." starts both service instances with these extra variables (a runtime
# setting tried on the service alone, say DOTNET_gcServer=1; the first instance's Cache__LocalTtl=00:00:00
# comes after them and stays); PERF_TRACE=<dir> records a dotnet-trace of
# the server under each GetScore load, with PERF_TRACE_PROFILE (default dotnet-sampled-thread-time;
# gc-verbose samples allocations by type and stack); PERF_PG_STATEMENTS=<dir> writes PostgreSQL's
# per-statement figures (pg_stat_statements) over each durable-write figure to <dir>/<figure>.tsv.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

duration=${PERF_DURATION:-10}
read_connections=${PERF_READ_CONNECTIONS:-4}
read_streams=${PERF_READ_STREAMS:-64}
write_concurrency=${PERF_WRITE_CONCURRENCY:-32}
write_warm_up=${PERF_WRITE_WARM_UP:-20}
population=${PERF_POPULATION:-10000}
watchers=${PERF_WATCHERS:-1000}
watch_rate=${PERF_WATCH_RATE:-1000}
# PERF_PARTS=get-score measures only the gRPC ceilings and GetScore (about a minute and a half).
# PERF_PARTS=reads measures only the reads (the gRPC ceiling, GetScore, GetScores, HTTP/JSON) and skips
# the pgbench ceilings, the durable writes and the watchers: about a minute and a half after the build.
# PERF_PARTS=writes measures only the pgbench ceilings and the durable writes (about two minutes).
# PERF_PARTS=watch measures only the watchers, with where the run's CPU went (about a minute).
parts=${PERF_PARTS:-all}
case $parts in all | reads | get-score | writes | watch) ;; *) echo "tests/perf/run.sh: PERF_PARTS must be all, reads, get-score, writes or watch" >&2; exit 1 ;; esac
# Which halves this run measures.
case $parts in writes | watch) reads=0 ;; *) reads=1 ;; esac
case $parts in all | writes) writes=1 ;; *) writes=0 ;; esac
batch=100

say() { printf '\n== %s\n' "$*" >&2; }

# --- What the run needs -------------------------------------------------------------------------------
missing=()
compgen -G '/usr/lib/postgresql/*/bin/pgbench' >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1 || missing+=(redis-server redis-tools)
command -v h2load >/dev/null 2>&1 && command -v nghttp >/dev/null 2>&1 || missing+=(nghttp2-client)
command -v jq >/dev/null 2>&1 || missing+=(jq)
if ((${#missing[@]} > 0)); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/perf/run.sh: needs ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  say "installing ${missing[*]}"
  # Keep the packages from starting system-wide servers; the run starts its own.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$created_policy" -eq 1 ] && rm -f "$policy"
fi
pg_bin=$(dirname "$(compgen -G '/usr/lib/postgresql/*/bin/pgbench' | sort -V | tail -1)")

say "building (Release)"
for project in src/Scoring.Api src/Scoring.Cli tests/Scoring.Perf; do
  dotnet build -c Release "$project" -v quiet -nologo -clp:ErrorsOnly >&2
done
api_dll=$repo/src/Scoring.Api/bin/Release/net10.0/Scoring.Api.dll
cli_dll=$repo/src/Scoring.Cli/bin/Release/net10.0/Scoring.Cli.dll
perf_dll=$repo/tests/Scoring.Perf/bin/Release/net10.0/Scoring.Perf.dll
# The service image's GC setting (its Dockerfile), for the service processes; the ceiling servers keep their defaults.
image_gc=$(grep -oP '\bDOTNET_GCgen0size=\S+' "$repo/src/Scoring.Api/Dockerfile")

# --- Servers, all on loopback, all stopped on exit -----------------------------------------------------
work=$(mktemp -d /tmp/scoring-perf.XXXXXX)
chmod 755 "$work"
pids=()
pg_data=""
# shellcheck source=tests/perf/lib.sh
source "$repo/tests/perf/lib.sh"
trap cleanup EXIT

say "starting PostgreSQL and Redis"
# PERF_PG_STATEMENTS: statement figures kept from here, reset when each durable-write figure starts measuring.
if [ -n "${PERF_PG_STATEMENTS:-}" ]; then
  mkdir -p "$PERF_PG_STATEMENTS"
  start_postgres_and_redis -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all
else
  start_postgres_and_redis
fi
redis_pid=${pids[-1]}
psql -c 'CREATE DATABASE ceiling' -c 'CREATE DATABASE scoring'
if [ -n "${PERF_PG_STATEMENTS:-}" ]; then psql -d scoring -c 'CREATE EXTENSION pg_stat_statements'; fi

declare -A value unit
value[watch_rate_target]=$watch_rate; unit[watch_rate_target]="changes/s"

# CPU seconds used so far, for the per-operation costs under the table. PostgreSQL's backends are the
# postmaster's children: live ones are read directly, exited ones are in its children's totals.
tick=$(getconf CLK_TCK)
pg_cpu() {
  local postmaster children
  postmaster=$(head -1 "$pg_data/postmaster.pid")
  children=$(pgrep -P "$postmaster" | tr '\n' ' ')
  # shellcheck disable=SC2086
  cat "/proc/$postmaster/stat" $(printf '/proc/%s/stat ' $children) 2>/dev/null \
    | awk -v tick="$tick" '{ s += $14 + $15 + (NR == 1 ? $16 + $17 : 0) } END { printf "%.2f", s / tick }'
}
process_cpu() { awk -v tick="$tick" '{ printf "%.2f", ($14 + $15) / tick }' "/proc/$1/stat"; }
# Milliseconds of CPU per operation: (after - before) seconds over a count.
per_op() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.3f", (n > 0 ? (b - a) * 1000 / n : 0) }'; }

# --- Ceilings ------------------------------------------------------------------------------------------
if [ "$writes" = 1 ]; then
say "ceiling: pgbench, one-row insert + one-row update per transaction ($write_concurrency clients, ${duration} s)"
psql -d ceiling <<SQL
CREATE TABLE users (id bigint PRIMARY KEY, version bigint NOT NULL);
INSERT INTO users SELECT g, 0 FROM generate_series(1, $population) g;
CREATE TABLE events (id bigserial PRIMARY KEY, user_id bigint NOT NULL, source text NOT NULL, category text NOT NULL, severity int NOT NULL, at timestamptz NOT NULL);
CREATE INDEX ON events (user_id);
SQL
cat >"$work/single.sql" <<SQL
\set uid random(1, $population)
BEGIN;
INSERT INTO events (user_id, source, category, severity, at) VALUES (:uid, 'bench', 'spam', 1, now());
UPDATE users SET version = version + 1 WHERE id = :uid;
END;
SQL
# 100 users picked at random, as the service's batch-write picks them, locked in id order (as the
# service orders its locks) so concurrent batches queue instead of deadlocking. DISTINCT may drop a
# repeated pick (about one batch in two hundred loses one row); the row rate counts 100 per batch.
cat >"$work/batch.sql" <<SQL
BEGIN;
WITH picked AS (SELECT DISTINCT 1 + (random() * ($population - 1))::bigint AS id FROM generate_series(1, $batch)),
locked AS (SELECT u.id FROM users u JOIN picked USING (id) ORDER BY u.id FOR UPDATE OF u),
inserted AS (INSERT INTO events (user_id, source, category, severity, at) SELECT id, 'bench', 'spam', 1, now() FROM locked)
UPDATE users SET version = users.version + 1 FROM locked WHERE users.id = locked.id;
END;
SQL
pgbench() {
  "$pg_bin/pgbench" -h 127.0.0.1 -p "$pg_port" -U postgres -n -M prepared -c "$write_concurrency" -j 2 -T "$duration" "$@" ceiling 2>&1 \
    | tee -a "$work/pgbench.log" | grep -oP '^tps = \K[0-9.]+'
}
cpu_before=$(pg_cpu)
pgbench -f "$work/single.sql" >"$work/pg_single.tps"
value[pg_single]=$(cat "$work/pg_single.tps"); unit[pg_single]="tx/s"
value[pg_single_cpu]=$(per_op "$cpu_before" "$(pg_cpu)" "$(grep -oP '^number of transactions actually processed: \K[0-9]+' "$work/pgbench.log" | tail -1)")
say "ceiling: pgbench, $batch-row insert + $batch-row update per transaction (random users)"
cpu_before=$(pg_cpu)
value[pg_batch]=$(awk -v tps="$(pgbench -f "$work/batch.sql")" -v n="$batch" 'BEGIN { printf "%.0f", tps * n }'); unit[pg_batch]="rows/s"
value[pg_batch_cpu]=$(per_op "$cpu_before" "$(pg_cpu)" "$(grep -oP '^number of transactions actually processed: \K[0-9]+' "$work/pgbench.log" | tail -1)")
fi

if [ "$reads" = 1 ]; then
say "ceiling: redis-benchmark GET (256 clients, 300-byte values)"
redis-benchmark -h 127.0.0.1 -p "$redis_port" -t set -n 100000 -r "$population" -d 300 -c 50 -q >/dev/null
value[redis_get]=$(redis-benchmark -h 127.0.0.1 -p "$redis_port" -t get -n 1000000 -r "$population" -d 300 -c 256 --csv \
  | awk -F, '/"GET"/ { gsub(/"/, "", $2); printf "%.0f", $2 }'); unit[redis_get]="GET/s"

# h2load with a pre-framed gRPC body; p99 comes from its per-request log, since it prints no percentiles.
# $1 name, $2 address, $3 method, $4 body file.
h2load_run() {
  local name=$1 address=$2 method=$3 body=$4 log=$work/$1.h2load
  h2load -c "$read_connections" -m "$read_streams" -D "$duration" --warm-up-time 2 \
    -H 'content-type: application/grpc' -H 'te: trailers' -d "$body" --log-file "$work/$name.requests" \
    "$address/$method" >"$log" 2>&1 &
  local load=$!
  # The server's CPU per call over the measured part (after the 2 s warm-up), when server_pid is set:
  # steadier than the rate on shared cores, and comparable between servers.
  rm -f "$work/$name.cpu"
  local cpu_reader=""
  if [ -n "${server_pid:-}" ]; then
    { sleep 2; process_cpu "$server_pid" >"$work/$name.cpu" 2>/dev/null || true; } &
    cpu_reader=$!
  fi
  # PERF_TRACE=<directory>: a sampled trace of the service's threads during this run (dotnet-trace on PATH).
  if [ -n "${PERF_TRACE:-}" ] && [ -n "${server_pid:-}" ]; then
    dotnet-trace collect -p "$server_pid" --profile "${PERF_TRACE_PROFILE:-dotnet-sampled-thread-time}" --duration 00:00:00:06 \
      -o "$PERF_TRACE/$name.nettrace" >/dev/null 2>&1 &
  fi
  # h2load checks only the HTTP status; grpc-status rides in the trailers, so a sample is checked under load.
  grpc_status_sample "$address/$method" "$body" >"$work/$name.sample"
  wait "$load" || { echo "tests/perf/run.sh: h2load against $address/$method failed:" >&2; tail -n 5 "$log" >&2; exit 1; }
  value[$name]=$(grep -oP 'finished in [0-9.]+s, \K[0-9.]+(?= req/s)' "$log" || true)
  if [ -z "${value[$name]}" ] || [ "$(grep -oP 'requests: .* \K[0-9]+(?= succeeded)' "$log" || echo 0)" = 0 ]; then
    echo "tests/perf/run.sh: h2load against $address/$method measured nothing:" >&2
    tail -n 5 "$log" >&2
    exit 1
  fi
  if [ -n "$cpu_reader" ]; then
    # A server that died meanwhile leaves no reading: the figure is then "-", and the run goes on.
    wait "$cpu_reader" || true
    value[${name}_cpu_us]=$(awk -v a="$(cat "$work/$name.cpu")" -v b="$(process_cpu "$server_pid" 2>/dev/null || true)" -v n="$(grep -oP 'requests: \K[0-9]+(?= total)' "$log")" \
      'BEGIN { if (a != "" && b != "" && n > 0) printf "%.0f", (b - a) * 1e6 / n; else printf "-" }')
  fi
  value[${name}_p99]=$(awk -F'\t' '$2 == 200 { print $3 }' "$work/$name.requests" | sort -n \
    | awk '{ v[NR] = $1 } END { i = int(NR * 0.99 + 0.999); printf "%.2f", v[i] / 1000 }')
  value[${name}_failed]=$(grep -oP 'requests: .* \K[0-9]+(?= failed)' "$log")
  value[${name}_sample]=$(sort "$work/$name.sample" | uniq -c | awk '{ printf "%s%s×%s", sep, $2, $1; sep = " " }')
}

# Sends 20 calls one by one and prints the grpc-status of each (absent trailers print "none").
grpc_status_sample() {
  for _ in $(seq 20); do
    nghttp -n -v -t 10 -H 'content-type: application/grpc' -H 'te: trailers' -d "$2" "$1" 2>&1 \
      | grep -oP 'grpc-status: \K[0-9]+' | tail -1 || echo none
  done
}

say "ceiling: minimal gRPC server, GetScore from memory ($((read_connections * read_streams)) in flight, ${duration} s)"
ceiling_port=$(free_port)
dotnet "$perf_dll" ceiling "http://127.0.0.1:$ceiling_port" >"$work/ceiling.log" 2>&1 &
pids+=($!)
ceiling_pid=$!
server_pid=$ceiling_pid
dotnet "$perf_dll" frame get-score bench-u0 "$work/get-score.bin"
dotnet "$perf_dll" frame get-scores bench-u "$batch" "$work/get-scores.bin"
for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$ceiling_port") 2>/dev/null && break; sleep 0.1; done
kill -0 "$ceiling_pid" 2>/dev/null || { echo "tests/perf/run.sh: the ceiling server stopped:" >&2; tail -n 5 "$work/ceiling.log" >&2; exit 1; }
h2load_run grpc_ceiling "http://127.0.0.1:$ceiling_port" scoring.v1.ConductScoring/GetScore "$work/get-score.bin"
kill "$ceiling_pid"; wait "$ceiling_pid" 2>/dev/null || true
server_pid=""
unit[grpc_ceiling]="calls/s"
fi

# --- The service on PostgreSQL + Redis -----------------------------------------------------------------
# Two instances on the same database and Redis: one with near copies off (Cache:LocalTtl=0, every read
# asks Redis; the writes and the Redis-stall figure run against it) and one on the default configuration,
# which keeps near copies for a second; each measured on the same reads.
say "starting the service on PostgreSQL + Redis (near copies off, and the default with near copies)"
export ASPNETCORE_ENVIRONMENT=Production
export Auth__Mode=None Auth__AllowAnonymous=true
export Database__Provider=Postgres
# Production needs the audit chain's secret; a fresh one per run.
Audit__ChainKey=$(head -c 32 /dev/urandom | base64)
export Audit__ChainKey
export ConnectionStrings__Scoring="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=scoring;Maximum Pool Size=200"
export ConnectionStrings__Redis="127.0.0.1:$redis_port"
# The rate limiter would cap the run itself; it is measured by its own tests.
export RateLimit__Anonymous__PermitsPerSecond=10000000 RateLimit__Anonymous__Burst=10000000
# From its own directory, where its appsettings.json is (the content root).
cd "$(dirname "$api_dll")"
dotnet "$api_dll" migrate >"$work/migrate.log" 2>&1
service_port=$(free_port)
http_port=$(free_port)
# Each instance its own metrics and HTTP/JSON ports too.
service_metrics=$(free_port)
near_metrics=$(free_port)
env $image_gc ${PERF_SERVICE_ENV:-} Cache__LocalTtl=00:00:00 Hosting__MetricsPort=$service_metrics Hosting__HttpPort=$http_port dotnet "$api_dll" --urls "http://127.0.0.1:$service_port" >"$work/service.log" 2>&1 &
pids+=($!)
service_pid=$!
wait_for_line "$work/service.log" "Application started" "${pids[-1]}"
near_port=$(free_port)
env $image_gc ${PERF_SERVICE_ENV:-} Hosting__MetricsPort=$near_metrics Hosting__HttpPort=$(free_port) dotnet "$api_dll" --urls "http://127.0.0.1:$near_port" >"$work/near.log" 2>&1 &
pids+=($!)
near_pid=${pids[-1]}
wait_for_line "$work/near.log" "Application started" "${pids[-1]}"
cd "$repo"
service=http://127.0.0.1:$service_port
near=http://127.0.0.1:$near_port
bench() {
  dotnet "$cli_dll" bench --population "$population" --json "$@" 2>"$work/bench.progress" \
    || { echo "tests/perf/run.sh: scoring bench $* failed:" >&2; tail -n 5 "$work/bench.progress" "$work/service.log" >&2; exit 1; }
}

say "seeding $population users, then warming up both instances with the .NET driver (read, 3 s each)"
bench --address "$service" --scenario read --duration 3 >/dev/null
bench --address "$near" --scenario read --duration 3 --no-seed-data >/dev/null

if [ "$reads" = 1 ]; then
# Bytes the process has allocated so far, from the runtime's own counter on its metrics port.
allocated() {
  curl -s "http://127.0.0.1:$1/metrics" | awk '/^dotnet_gc_heap_total_allocated_bytes_total[ {]/ { printf "%.0f", $NF }'
}
# Bytes allocated per call: the counter's growth over an h2load run, over the calls it made.
allocated_per_call() { # name, metrics port, bytes before
  local calls
  calls=$(grep -oP 'requests: \K[0-9]+(?= total)' "$work/$1.h2load")
  value[${1}_bytes]=$(awk -v a="$3" -v b="$(allocated "$2")" -v n="$calls" 'BEGIN { printf "%.0f", (n > 0 ? (b - a) / n : 0) }')
}

say "service with near copies off: GetScore, cache hits through Redis ($((read_connections * read_streams)) in flight, h2load)"
before=$(allocated "$service_metrics")
server_pid=$service_pid
h2load_run get_score "$service" scoring.v1.ConductScoring/GetScore "$work/get-score.bin"
allocated_per_call get_score "$service_metrics" "$before"
unit[get_score]="calls/s"
say "service on the default configuration (near copies): GetScore, cache hits"
before=$(allocated "$near_metrics")
server_pid=$near_pid
h2load_run get_score_near "$near" scoring.v1.ConductScoring/GetScore "$work/get-score.bin"
allocated_per_call get_score_near "$near_metrics" "$before"
unit[get_score_near]="calls/s"

# What a read through Redis costs at the least: the ceiling server making the service's one HGET per call.
say "ceiling: minimal gRPC server, GetScore after one HGET of the cached entry from Redis"
redis_ceiling_port=$(free_port)
dotnet "$perf_dll" ceiling "http://127.0.0.1:$redis_ceiling_port" "127.0.0.1:$redis_port" \
  "scoring:v2:score:{$(printf '%s' bench-u0 | sha256sum | cut -c1-64)}" >"$work/redis-ceiling.log" 2>&1 &
pids+=($!)
server_pid=${pids[-1]}
for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$redis_ceiling_port") 2>/dev/null && break; sleep 0.1; done
kill -0 "$server_pid" 2>/dev/null || { echo "tests/perf/run.sh: the Redis ceiling server stopped:" >&2; tail -n 5 "$work/redis-ceiling.log" >&2; exit 1; }
h2load_run grpc_redis_ceiling "http://127.0.0.1:$redis_ceiling_port" scoring.v1.ConductScoring/GetScore "$work/get-score.bin"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
unit[grpc_redis_ceiling]="calls/s"
fi

if [ "$parts" = all ] || [ "$parts" = reads ]; then
say "service with near copies off: GET /v1/users/{id}/score over HTTP/1.1 JSON, cache hits ($((read_connections * read_streams)) connections, h2load --h1)"
h2load --h1 -c "$((read_connections * read_streams))" -m 1 -D "$duration" --warm-up-time 2 \
  "http://127.0.0.1:$http_port/v1/users/bench-u0/score" >"$work/json.h2load" 2>&1
value[get_score_json]=$(grep -oP 'finished in [0-9.]+s, \K[0-9.]+(?= req/s)' "$work/json.h2load"); unit[get_score_json]="calls/s"
value[get_score_json_failed]=$(grep -oP 'requests: .* \K[0-9]+(?= failed)' "$work/json.h2load")
value[get_score_json_2xx]=$(grep -oP 'status codes: \K[0-9]+(?= 2xx)' "$work/json.h2load")

say "service with near copies off: GetScores of $batch, cache hits through Redis (h2load)"
before=$(allocated "$service_metrics")
server_pid=""
h2load_run get_scores "$service" scoring.v1.ConductScoring/GetScores "$work/get-scores.bin"
allocated_per_call get_scores "$service_metrics" "$before"
value[get_scores]=$(awk -v c="${value[get_scores]}" -v n="$batch" 'BEGIN { printf "%.0f", c * n }'); unit[get_scores]="scores/s"
say "service on the default configuration (near copies): GetScores of $batch, cache hits"
h2load_run get_scores_near "$near" scoring.v1.ConductScoring/GetScores "$work/get-scores.bin"
value[get_scores_near]=$(awk -v c="${value[get_scores_near]}" -v n="$batch" 'BEGIN { printf "%.0f", c * n }'); unit[get_scores_near]="scores/s"

# Redis stalled in pulses under the GetScores load: does the read path degrade instead of cascading onto
# PostgreSQL, and how soon after the stalls is p99 back? 15 s of load; from its 3rd second, ten pulses of
# SIGSTOP 200 ms / SIGCONT 300 ms; the figures: PostgreSQL transactions/s on the service's database during
# the pulses, the service's fallback reads, and p99 before the pulses and from 3 s after them.
say "service with near copies off: GetScores of $batch while Redis stalls in pulses (SIGSTOP 200 ms, SIGCONT 300 ms, 5 s)"
transactions() { psql -d scoring -Atc "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'scoring'"; }
fallback() { curl -s "http://127.0.0.1:$service_metrics/metrics" | awk -v r="$1" '$0 ~ "^scoring_cache_fallback_reads_total[{].*result=\"" r "\"" { s += $NF } END { printf "%.0f", s }'; }
h2load -c "$read_connections" -m "$read_streams" -D 15 -H 'content-type: application/grpc' -H 'te: trailers' \
  -d "$work/get-scores.bin" --log-file "$work/stall.requests" "$service/scoring.v1.ConductScoring/GetScores" >"$work/stall.h2load" 2>&1 &
stall_load=$!
sleep 3
stall_from=$(date +%s%6N); tx_before=$(transactions); read_before=$(fallback read); shed_before=$(fallback shed); coalesced_before=$(fallback coalesced)
for _ in $(seq 10); do kill -STOP "$redis_pid"; sleep 0.2; kill -CONT "$redis_pid"; sleep 0.3; done
stall_to=$(date +%s%6N)
value[stall_tx]=$(awk -v a="$tx_before" -v b="$(transactions)" -v us=$((stall_to - stall_from)) 'BEGIN { printf "%.0f", (b - a) / (us / 1e6) }')
value[stall_read]=$(( $(fallback read) - read_before )); value[stall_shed]=$(( $(fallback shed) - shed_before ))
value[stall_coalesced]=$(( $(fallback coalesced) - coalesced_before ))
wait "$stall_load"
# p99 (ms) of the calls that started in [from, to) microseconds since the epoch.
p99_between() { awk -F'\t' -v a="$1" -v b="$2" '$2 == 200 && $1 >= a && $1 < b { print $3 }' "$work/stall.requests" | sort -n \
  | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } i = int(NR * 0.99 + 0.999); printf "%.1f", v[i] / 1000 }'; }
value[stall_p99_before]=$(p99_between 0 "$stall_from")
value[stall_p99_during]=$(p99_between "$stall_from" "$stall_to")
value[stall_p99_after]=$(p99_between $((stall_to + 3000000)) 99999999999999999)
value[stall_failed]=$(grep -oP 'requests: .* \K[0-9]+(?= failed)' "$work/stall.h2load")
fi

# A durable-write figure: $1 name, $2 scenario, then the same load for $write_warm_up s first, not measured
# (the write path's code reaches its optimised tier only after tens of seconds of load here; pgbench's C
# ceiling has nothing to warm up). CPU is read when the driver says the measured phase starts, and after.
write_run() {
  local name=$1 scenario=$2 progress=$work/$1.progress
  dotnet "$cli_dll" bench --address "$service" --population "$population" --json --scenario "$scenario" \
    --warm-up "$write_warm_up" --duration "$duration" --skew 0 --no-seed-data --concurrency "$write_concurrency" \
    >"$work/$name.json" 2>"$progress" &
  local load=$!
  for _ in $(seq $(((write_warm_up + 60) * 20))); do
    grep -q '^measuring' "$progress" 2>/dev/null && break
    kill -0 "$load" 2>/dev/null || break
    sleep 0.05
  done
  local pg_before service_before
  pg_before=$(pg_cpu); service_before=$(process_cpu "$service_pid")
  if [ -n "${PERF_PG_STATEMENTS:-}" ]; then psql -d scoring -c 'SELECT pg_stat_statements_reset()' >/dev/null; fi
  if [ -n "${PERF_TRACE:-}" ]; then
    dotnet-trace collect -p "$service_pid" --profile "${PERF_TRACE_PROFILE:-dotnet-sampled-thread-time}" --duration 00:00:00:06 \
      -o "$PERF_TRACE/$name.nettrace" >/dev/null 2>&1 &
  fi
  wait "$load" || { echo "tests/perf/run.sh: scoring bench --scenario $scenario failed:" >&2; tail -n 5 "$progress" "$work/service.log" >&2; exit 1; }
  value[${name}_pg_cpu]=$(per_op "$pg_before" "$(pg_cpu)" "$(jq '.calls' "$work/$name.json")")
  value[${name}_service_cpu]=$(per_op "$service_before" "$(process_cpu "$service_pid")" "$(jq '.calls' "$work/$name.json")")
  value[${name}_p99]=$(jq '.p99Ms' "$work/$name.json")
  if [ -n "${PERF_PG_STATEMENTS:-}" ]; then
    psql -d scoring -A -F $'\t' -P footer=off -c "SELECT calls, round(total_exec_time::numeric, 1) AS total_ms,
        round((total_exec_time / calls)::numeric, 3) AS mean_ms, rows, shared_blks_hit + shared_blks_read AS blocks,
        regexp_replace(query, '\s+', ' ', 'g') AS query
      FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'scoring')
      ORDER BY total_exec_time DESC LIMIT 40" >"$PERF_PG_STATEMENTS/$name.tsv"
  fi
}

if [ "$writes" = 1 ]; then
say "service with near copies off: RecordViolation ($write_concurrency in flight, .NET driver, after ${write_warm_up} s of the same load)"
write_run record write
value[record]=$(jq '.callsPerSecond' "$work/record.json"); unit[record]="calls/s"

say "service with near copies off: RecordViolations of $batch ($write_concurrency in flight, .NET driver, after ${write_warm_up} s of the same load)"
write_run record_batch batch-write
value[record_batch]=$(jq ".callsPerSecond * $batch" "$work/record_batch.json"); unit[record_batch]="rows/s"

fi

if [ "$parts" = all ] || [ "$parts" = watch ]; then
say "service: $watchers watchers of the feed while writers record $watch_rate changes/s (.NET driver, ${duration} s)"
dotnet "$cli_dll" bench --address "$service" --scenario watch --concurrency "$watchers" --channels 16 --rate "$watch_rate" \
  --duration "$duration" --json >"$work/watch.json" 2>"$work/watch.progress" &
watch_load=$!
# Where the CPU of the writing phase goes: the service, the driver (writers and watchers), PostgreSQL.
for _ in $(seq 1200); do grep -q '^writing' "$work/watch.progress" 2>/dev/null && break; kill -0 "$watch_load" 2>/dev/null || break; sleep 0.05; done
watch_from=$(date +%s%N); watch_service=$(process_cpu "$service_pid"); watch_driver=$(process_cpu "$watch_load" 2>/dev/null || echo 0); watch_pg=$(pg_cpu)
if [ -n "${PERF_TRACE:-}" ]; then
  dotnet-trace collect -p "$service_pid" --profile "${PERF_TRACE_PROFILE:-dotnet-sampled-thread-time}" --duration 00:00:00:06 \
    -o "$PERF_TRACE/watch.nettrace" >/dev/null 2>&1 &
fi
sleep "$duration"
watch_seconds=$(awk -v a="$watch_from" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
# A driver that already ended leaves no reading: its share is then "-".
value[watch_cpu]=$(awk -v s="$watch_seconds" -v a1="$watch_service" -v b1="$(process_cpu "$service_pid")" -v a2="$watch_driver" -v b2="$(process_cpu "$watch_load" 2>/dev/null || true)" \
  -v a3="$watch_pg" -v b3="$(pg_cpu)" 'BEGIN { d = (b2 == "" || a2 == 0) ? "-" : sprintf("%.2f", (b2 - a2) / s)
    printf "service %.2f, driver %s, PostgreSQL %.2f cores over %.1f s of writing", (b1 - a1) / s, d, (b3 - a3) / s, s }')
wait "$watch_load" || true
value[watch_changes]=$(jq '.changesPerSecond' "$work/watch.json"); unit[watch_changes]="changes/s"
value[watch_deliveries]=$(jq ".delivered / $duration" "$work/watch.json"); unit[watch_deliveries]="deliveries/s"
value[watch_p99]=$(jq '.p99DelayMs' "$work/watch.json")
watch_summary=$(jq -r '"written \(.changesWritten), delivered \(.delivered), missing \(.missing), duplicates \(.duplicates), p50 \(.p50DelayMs) ms, p99 \(.p99DelayMs) ms, errors \(.errors | to_entries | map("\(.key)×\(.value)") | join(" "))"' "$work/watch.json")

fi
errors=""
if [ "$writes" = 1 ]; then
  errors=$(jq -s '[.[].errors | to_entries[] | "\(.key)×\(.value)"] | join(" ")' -r "$work/record.json" "$work/record_batch.json")
fi

# --- The table -----------------------------------------------------------------------------------------
row() { # name, measured key, ceiling key, target ratio, p99 key, p99 limit in ms
  awk -v name="$1" -v m="${value[$2]}" -v mu="${unit[$2]}" -v c="${value[$3]}" -v cu="${unit[$3]}" -v t="$4" -v p99="${5:+${value[$5]}}" -v limit="${6:-}" 'BEGIN {
    r = c > 0 ? m / c : 0
    verdict = t == "" ? "" : (r >= t && (limit == "" || p99 + 0 < limit + 0) ? "met" : "MISSED")
    printf "| %-36s | %9.0f %-8s | %9.0f %-7s | %5.2f | %-6s | %7s | %-6s |\n", name, m, mu, c, cu, r, (t == "" ? "-" : "≥ " t), (p99 == "" ? "" : sprintf("%.1f", p99)), verdict }'
}
{
  echo
  echo "Scoring performance, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "bash tests/perf/run.sh  (${duration} s per figure; reads $((read_connections * read_streams)) in flight; writes $write_concurrency in flight; $population users)"
  echo
  printf "| %-36s | %-18s | %-17s | %-5s | %-6s | %-7s | %-6s |\n" "measured" "service" "ceiling" "ratio" "target" "p99 ms" "verdict"
  # GetScore rows also need p99 under 10 ms to be met.
  printf "|%s|%s|%s|%s|%s|%s|%s|\n" "--------------------------------------" "--------------------" "-------------------" "-------" "--------" "---------" "--------"
  if [ "$parts" = writes ]; then
    row "RecordViolation (durable)" record pg_single 0.5 record_p99
    row "RecordViolations of $batch (durable)" record_batch pg_batch 0.5 record_batch_p99
    echo
    echo "ceilings: pgbench insert+update ${value[pg_single]} tx/s; pgbench $batch-row batches ${value[pg_batch]} rows/s"
    echo "CPU ms per durable write: pgbench insert+update ${value[pg_single_cpu]} (PostgreSQL); RecordViolation ${value[record_pg_cpu]} (PostgreSQL) + ${value[record_service_cpu]} (service)"
    echo "CPU ms per $batch-row batch: pgbench ${value[pg_batch_cpu]} (PostgreSQL); RecordViolations ${value[record_batch_pg_cpu]} (PostgreSQL) + ${value[record_batch_service_cpu]} (service)"
    echo "write errors: ${errors:-none}"
    exit 0
  fi
  if [ "$parts" = watch ]; then
    row "Watch: changes written with $watchers watchers" watch_changes watch_rate_target 1.0 watch_p99 1000 \
      | if [ "$(jq '.missing + .duplicates' "$work/watch.json")" != "0" ]; then sed 's/| met    |$/| MISSED |/'; else cat; fi
    echo
    echo "watch: $watch_summary (target: every change to every watcher, none twice, p99 delivery < 1 s, at $watch_rate changes/s; the row is MISSED on any missing or duplicate)"
    echo "watch CPU: ${value[watch_cpu]}"
    exit 0
  fi
  # The default keeps near copies: its row carries both of the issue's GetScore targets (0.40 on the
  # default configuration, 0.60 with near copies), the stricter one shown. Through Redis (LocalTtl=0) is
  # measured beside it without a target.
  row "GetScore, hit, default (near copy)" get_score_near grpc_ceiling 0.60 get_score_near_p99 10
  row "GetScore, hit through Redis (Ttl=0)" get_score grpc_ceiling "" get_score_p99
  row "minimal gRPC server + Redis HGET" grpc_redis_ceiling grpc_ceiling "" grpc_redis_ceiling_p99
  row "GetScore (Redis) / minimal + Redis" get_score grpc_redis_ceiling "" get_score_p99
  if [ "$parts" = get-score ]; then
    echo
    echo "allocated per GetScore: through Redis ${value[get_score_bytes]} B, default (near copy) ${value[get_score_near_bytes]} B"
    echo "server CPU per GetScore (µs): ceiling ${value[grpc_ceiling_cpu_us]}, ceiling through Redis ${value[grpc_redis_ceiling_cpu_us]}, service ${value[get_score_cpu_us]}, near ${value[get_score_near_cpu_us]}"
    echo "ceiling: gRPC from memory ${value[grpc_ceiling]} calls/s (p99 ${value[grpc_ceiling_p99]} ms); HTTP failures: GetScore ${value[get_score_failed]} / near ${value[get_score_near_failed]}"
    echo "grpc-status under load (20-call samples): ceiling ${value[grpc_ceiling_sample]}; through Redis ${value[grpc_redis_ceiling_sample]}; GetScore ${value[get_score_sample]} / near ${value[get_score_near_sample]}"
    exit 0
  fi
  row "GetScores of $batch, cache hits (Redis)" get_scores redis_get "" get_scores_p99
  row "GetScores of $batch, hits (near copies)" get_scores_near redis_get "" get_scores_near_p99
  row "GetScore over HTTP/JSON, cache hit" get_score_json get_score 0.5
  if [ "$parts" = all ]; then
    row "Watch: changes written with $watchers watchers" watch_changes watch_rate_target 1.0 watch_p99 1000 \
      | if [ "$(jq '.missing + .duplicates' "$work/watch.json")" != "0" ]; then sed 's/| met    |$/| MISSED |/'; else cat; fi
    row "RecordViolation (durable)" record pg_single 0.5 record_p99
    row "RecordViolations of $batch (durable)" record_batch pg_batch 0.5 record_batch_p99
  fi
  echo
  echo "allocated per call (the runtime's dotnet.gc.heap.total_allocated over each run): GetScore ${value[get_score_bytes]} B," \
    "near ${value[get_score_near_bytes]} B; GetScores of $batch ${value[get_scores_bytes]} B"
  echo "server CPU per GetScore (µs): ceiling ${value[grpc_ceiling_cpu_us]}, ceiling through Redis ${value[grpc_redis_ceiling_cpu_us]}, service ${value[get_score_cpu_us]}, near ${value[get_score_near_cpu_us]}"
  echo "ceilings: gRPC from memory ${value[grpc_ceiling]} calls/s (p99 ${value[grpc_ceiling_p99]} ms); redis-benchmark GET ${value[redis_get]}/s;"
  [ "$parts" = all ] && echo "          pgbench insert+update ${value[pg_single]} tx/s; pgbench $batch-row batches ${value[pg_batch]} rows/s"
  echo "grpc-status under load (20-call samples): ceiling ${value[grpc_ceiling_sample]}; through Redis ${value[grpc_redis_ceiling_sample]}; GetScore ${value[get_score_sample]} / near ${value[get_score_near_sample]};"
  echo "          GetScores ${value[get_scores_sample]} / near ${value[get_scores_near_sample]}"
  [ "$parts" = all ] && echo "CPU ms per durable write: pgbench insert+update ${value[pg_single_cpu]} (PostgreSQL); RecordViolation ${value[record_pg_cpu]} (PostgreSQL) + ${value[record_service_cpu]} (service)"
  [ "$parts" = all ] && echo "CPU ms per $batch-row batch: pgbench ${value[pg_batch_cpu]} (PostgreSQL); RecordViolations ${value[record_batch_pg_cpu]} (PostgreSQL) + ${value[record_batch_service_cpu]} (service)"
  [ "$parts" = all ] && echo "watch: $watch_summary (target: every change to every watcher, none twice, p99 delivery < 1 s, at $watch_rate changes/s; the row is MISSED on any missing or duplicate)"
  [ "$parts" = all ] && echo "watch CPU: ${value[watch_cpu]}"
  echo "Redis stalled in pulses under GetScores of $batch: PostgreSQL ${value[stall_tx]} transactions/s during the pulses;" \
    "fallback reads ${value[stall_read]} users read, ${value[stall_coalesced]} coalesced, ${value[stall_shed]} shed;" \
    "p99 ${value[stall_p99_before]} ms before, ${value[stall_p99_during]} ms during, ${value[stall_p99_after]} ms from 3 s after; ${value[stall_failed]} failed"
  echo "HTTP/JSON GetScore: ${value[get_score_json_2xx]:-0} answered 2xx, ${value[get_score_json_failed]:-?} failed (ratio is to gRPC GetScore through Redis in this run)"
  echo "HTTP failures: GetScore ${value[get_score_failed]} / near ${value[get_score_near_failed]}, GetScores ${value[get_scores_failed]} / near ${value[get_scores_near_failed]}; write errors: ${errors:-none}"
  true
}
