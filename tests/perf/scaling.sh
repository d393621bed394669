#!/usr/bin/env bash
# The measured inputs of the README's "Scaling" section (issue 15): what a cached user costs in Redis, and
# what one violation event costs PostgreSQL (rows, statements, transactions, WAL, bytes on disk).
#
#   bash tests/perf/scaling.sh        # about 8 minutes; nothing else should run meanwhile
#
# Redis: writes 100 000 entries shaped like the service's (key scoring:v2:score:{sha256 of the user id}, a
# hash of v, p and d, d the ScoreState JSON of ScoreStateJsonContext for 0, 1 and 5 violations, EXPIRE of
# Cache:EntryTtl) into a redis-server of its own, and prints MEMORY USAGE of one and the used_memory delta
# per key: standalone, standalone with hash-max-listpack-value 1024, and a cluster-enabled node.
# PostgreSQL: runs the service (Debug build: these are counts, not speeds) on a PostgreSQL 15 and Redis of
# its own, drives RecordViolation(s) with `scoring bench`, and prints per event the rows each table gained,
# changed and lost (pg_stat_user_tables), transactions (pg_stat_database), statements (pg_stat_statements)
# and WAL (pg_stat_wal), twice: after a CHECKPOINT (full-page images, as a table far larger than memory
# gets them) and with full_page_writes off (the floor); then each table's bytes per row.
# Needs PostgreSQL, Redis and python3 (bash tests/perf/run.sh installs the first two).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
say() { printf '\n== %s\n' "$*" >&2; }
pg_bin=$(dirname "$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -1)")
command -v redis-server >/dev/null && command -v python3 >/dev/null && [ -x "$pg_bin/initdb" ] \
  || { echo "tests/perf/scaling.sh: needs PostgreSQL, Redis and python3" >&2; exit 1; }

work=$(mktemp -d /tmp/scoring-scaling.XXXXXX)
chmod 755 "$work"
pids=()
pg_data=""
# shellcheck source=tests/perf/lib.sh
source "$repo/tests/perf/lib.sh"
trap cleanup EXIT

# --- Redis: bytes per cached user ------------------------------------------------------------------------
cat >"$work/entries.py" <<'PY'
# Writes N entries the way RedisScoreCache's compare-and-set script does (HSET v p d, EXPIRE), pipelined,
# and prints the memory they take. d is the JSON ScoreStateJsonContext writes (camelCase, enums as numbers).
import hashlib, json, socket, sys, uuid
port, n, violations = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
categories = ["spam", "harassment", "fraud"]
state = {"version": violations + 1, "policyVersion": "default-2026-11", "violations": [
    {"violationId": str(uuid.uuid4()), "category": categories[i % 3], "severity": i % 3 + 1,
     "occurredAt": "2026-12-%02dT10:00:%02d+00:00" % (7 - i, i * 17 % 60), "contested": False}
    for i in range(violations)]}
payload = json.dumps(state, separators=(",", ":")).encode()
def resp(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)
s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb")
def read():
    line = f.readline(); t, rest = line[:1], line[1:-2]
    if t == b"$":
        size = int(rest); return None if size < 0 else f.read(size + 2)[:-2]
    if t == b"*":
        return [read() for _ in range(int(rest))]
    return rest
def cmd(*args):
    s.sendall(resp(*args)); return read()
def used():
    info = cmd("INFO", "memory").decode()
    return int(next(l.split(":")[1] for l in info.split("\r\n") if l.startswith("used_memory:")))
def key(i): return "scoring:v2:score:{%s}" % hashlib.sha256(("user-%010d" % i).encode()).hexdigest()
cmd("FLUSHALL")
before = used()
for start in range(0, n, 1000):
    batch = [resp("HSET", key(i), "v", state["version"], "p", state["policyVersion"], "d", payload) + resp("EXPIRE", key(i), 21600)
             for i in range(start, min(n, start + 1000))]
    s.sendall(b"".join(batch))
    for _ in range(2 * len(batch)): read()
delta = used() - before
print("  %d violations: d %4d B, %-9s MEMORY USAGE %5s B, used_memory +%d B / %d keys = %6.1f B a key" % (
    violations, len(payload), cmd("OBJECT", "ENCODING", key(0)).decode(),
    cmd("MEMORY", "USAGE", key(0), "SAMPLES", "0").decode(), delta, n, delta / n))
PY
redis_port=""
start_redis() {
  redis_port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no "$@" >"$work/redis-$redis_port.log" 2>&1 &
  pids+=($!)
  wait_for_line "$work/redis-$redis_port.log" "Ready to accept connections" "${pids[-1]}"
}
stop_redis() { kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'; }
entries() { for v in 0 1 5; do python3 "$work/entries.py" "$redis_port" 100000 "$v"; done; }

say "Redis $(redis-server --version | grep -oP 'v=\K\S+'): 100 000 cache entries each"
start_redis
echo "standalone, defaults (hash-max-listpack-value 64):"
entries
redis-cli -p "$redis_port" CONFIG SET hash-max-listpack-value 1024 >/dev/null
echo "standalone, hash-max-listpack-value 1024:"
entries
stop_redis
# A cluster node keeps each key in its slot's index too; one node holding every slot is enough to see it.
while :; do start_redis --cluster-enabled yes --cluster-config-file "$work/nodes.conf"; [ "$redis_port" -le 55000 ] && break; stop_redis; done
redis-cli -p "$redis_port" CLUSTER ADDSLOTSRANGE 0 16383 >/dev/null
for _ in $(seq 100); do redis-cli -p "$redis_port" CLUSTER INFO | grep -q 'cluster_state:ok' && break; sleep 0.1; done
echo "cluster-enabled node, defaults:"
entries
stop_redis

# --- PostgreSQL: what one event costs ----------------------------------------------------------------------
say "building (Debug)"
for project in src/Scoring.Api src/Scoring.Cli; do
  dotnet build "$repo/$project" -v quiet -nologo -clp:ErrorsOnly >&2
done
api=$repo/src/Scoring.Api/bin/Debug/net10.0
cli_dll=$repo/src/Scoring.Cli/bin/Debug/net10.0/Scoring.Cli.dll

cat >"$work/per_event.py" <<'PY'
# Per-event deltas between two snapshots; the events are the rows violations gained.
import sys
def load(path):
    return {(kind, name): list(map(int, values)) for kind, name, *values in (line.split() for line in open(path))}
before, after = load(sys.argv[2]), load(sys.argv[3])
delta = {k: [a - b for a, b in zip(v, before.get(k, [0] * 4))] for k, v in after.items()}
events = delta[("rel", "violations")][0]
print("  %s: %d events" % (sys.argv[1], events))
for (kind, name), (ins, upd, hot, dele) in sorted(delta.items()):
    if kind == "rel" and (ins or upd or dele):
        print("    %-24s inserted %.3f  updated %.3f (HOT %.3f)  deleted %.3f" % (name, ins / events, upd / events, hot / events, dele / events))
records, fpi, wal, _ = delta[("wal", "wal")]
print("    WAL %.0f B (%.1f records, %.2f full-page images); transactions committed %.3f; statements %.2f" % (
    wal / events, records / events, fpi / events, delta[("db", "db")][0] / events, delta[("stmt", "stmt")][0] / events))
PY

# $1 pass name; the rest: more server settings.
measure_writes() {
  local pass=$1; shift
  say "PostgreSQL $("$pg_bin/postgres" --version | awk '{ print $3 }'), $pass"
  start_postgres_and_redis -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all "$@"
  psql -c 'CREATE DATABASE scoring'
  psql -d scoring -c 'CREATE EXTENSION pg_stat_statements'
  local service_port
  service_port=$(free_port)
  (
    cd "$api"
    export ASPNETCORE_ENVIRONMENT=Production Auth__Mode=None Auth__AllowAnonymous=true Database__Provider=Postgres
    Audit__ChainKey=$(head -c 32 /dev/urandom | base64); export Audit__ChainKey
    export ConnectionStrings__Scoring="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=scoring;Maximum Pool Size=50"
    export ConnectionStrings__Redis="127.0.0.1:$redis_port"
    export RateLimit__Anonymous__PermitsPerSecond=10000000 RateLimit__Anonymous__Burst=10000000
    dotnet Scoring.Api.dll migrate >"$work/migrate.log" 2>&1
    exec env Hosting__MetricsPort="$(free_port)" Hosting__HttpPort="$(free_port)" dotnet Scoring.Api.dll --urls "http://127.0.0.1:$service_port"
  ) >"$work/service.log" 2>&1 &
  pids+=($!)
  local service_pid=$!
  wait_for_line "$work/service.log" "Application started" "$service_pid" 120
  snapshot() {
    psql -d scoring -At -F' ' -c "SELECT 'rel', relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables
      UNION ALL SELECT 'wal', 'wal', wal_records, wal_fpi, wal_bytes, 0 FROM pg_stat_wal
      UNION ALL SELECT 'db', 'db', xact_commit, xact_rollback, 0, 0 FROM pg_stat_database WHERE datname = 'scoring'
      UNION ALL SELECT 'stmt', 'stmt', coalesce(sum(calls), 0), 0, 0, 0 FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'scoring')"
  }
  # $1 name; the rest: scoring bench arguments.
  run() {
    local name=$1; shift
    psql -d scoring -c 'SELECT pg_stat_reset(), pg_stat_reset_shared($$wal$$), pg_stat_statements_reset()' >/dev/null
    psql -c 'CHECKPOINT' >/dev/null
    sleep 1
    snapshot >"$work/before"
    dotnet "$cli_dll" bench --address "http://127.0.0.1:$service_port" --json --no-seed-data --skew 0 "$@" >/dev/null 2>"$work/bench.err"
    sleep 2 # the cache marks of the last writes are deleted after their commit
    snapshot >"$work/after"
    python3 "$work/per_event.py" "$name" "$work/before" "$work/after"
  }
  # 20 000 users with one violation each, whose lock rows then exist.
  dotnet "$cli_dll" bench --address "http://127.0.0.1:$service_port" --json --scenario write --population 20000 --skew 0 --duration 1 >/dev/null 2>"$work/bench.err"
  run "one at a time, a new user each" --scenario write --population 2000000 --seed 7 --concurrency 1 --duration 15
  run "one at a time, users with a record" --scenario write --population 20000 --seed 2 --concurrency 1 --duration 15
  run "32 in flight (grouped)" --scenario write --population 20000 --seed 3 --concurrency 32 --duration 20
  run "batches of 100, 4 in flight" --scenario batch-write --population 20000 --seed 4 --concurrency 4 --duration 20
  echo "  bytes per row (heap + indexes):"
  psql -d scoring -At -F' ' -c "SELECT relname, rows, pg_relation_size(relid), pg_indexes_size(relid) FROM (
      SELECT relname, relid, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', relname), false, true, '')))[1]::text::bigint AS rows
      FROM pg_stat_user_tables) t WHERE rows > 1000 ORDER BY 1" \
    | awk '{ printf "    %-24s %8d rows  %5.0f + %5.0f = %5.0f B\n", $1, $2, $3 / $2, $4 / $2, ($3 + $4) / $2 }'
  kill "$service_pid"; wait "$service_pid" 2>/dev/null || true
  unset 'pids[-1]'
  as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null
  rm -rf "$pg_data"; pg_data=""
  stop_redis
}
measure_writes "each figure after a CHECKPOINT"
measure_writes "full_page_writes off" -c full_page_writes=off
