# Helpers shared by tests/perf/run.sh, simulation.sh and reports.sh (sourced, not run). Each script sets
# work, pids, pg_bin and pg_data before its first server starts; cleanup stops what it started.

# PostgreSQL refuses to run as root; as root, run it as the postgres user the package created.
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# Stops every process in pids, then PostgreSQL, and removes the work directory (kept with PERF_KEEP=1).
cleanup() {
  # A process left stopped (the stall run's SIGSTOP) would never act on SIGTERM.
  for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$pg_data" ]; then as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 || true; fi
  if [ -n "${PERF_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}

# Below Linux's ephemeral range (32768 and up): a port an outgoing connection holds cannot be listened on,
# yet answers no connect either.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# Waits (bounded: 60 s, or a fourth argument's seconds) until a log file shows a line, or the process behind it has died.
wait_for_line() {
  local file=$1 text=$2 pid=$3 seconds=${4:-60}
  for _ in $(seq $((seconds * 10))); do
    grep -q "$text" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$(basename "$0"): '$text' never appeared in $file:" >&2
  tail -20 "$file" >&2
  exit 1
}

# Starts PostgreSQL (durable commits as in production: fsync, synchronous_commit on; room for every client)
# and Redis on free loopback ports under $work, and defines psql for the former. Extra arguments are more
# server settings ("-c name=value"). Sets pg_port, pg_data and redis_port.
start_postgres_and_redis() {
  pg_port=$(free_port)
  pg_data=$work/pg
  mkdir -p "$pg_data" && [ "$(id -u)" -eq 0 ] && chown postgres "$pg_data"
  as_postgres "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 >/dev/null
  as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -w -l "$pg_data/log" \
    -o "-p $pg_port -k $pg_data -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB $*" start >/dev/null
  redis_port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --daemonize no >"$work/redis.log" 2>&1 &
  pids+=($!)
  wait_for_line "$work/redis.log" "Ready to accept connections" "${pids[-1]}"
}

psql() { "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -q "$@"; }
