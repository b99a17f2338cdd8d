#!/usr/bin/env bash
# Compares `phimesh scan` on a 128 MiB digit-heavy JSON log with GNU `grep -cE` looking for the
# SSN pattern alone. Prints wall-clock seconds and MB/s for each (best of 3 runs).
# Usage: benches/scan_vs_grep.sh [path/to/phimesh]   (default target/release/phimesh)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/phimesh}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }
FILE=$(mktemp /tmp/phimesh-scan-bench.XXXXXX)
trap 'rm -f "$FILE"' EXIT
python3 - "$FILE" <<'PY'
import random, sys
r = random.Random(7)
size = 128 << 20
with open(sys.argv[1], "w") as f:
    n = 0
    while n < size:
        line = '{"ts":%d,"order_id":%d,"amount":%d.%02d,"latency_ms":%d,"status":%d,"trace":"%016x%016x","zip":"%05d"}\n' % (
            1700000000 + r.randrange(50000000), r.randrange(10**9), r.randrange(10000), r.randrange(100),
            r.randrange(2000), r.choice([200, 201, 404, 500]), r.getrandbits(64), r.getrandbits(64), r.randrange(100000))
        f.write(line)
        n += len(line)
PY
bytes=$(stat -c %s "$FILE")
best() {
  local best=999999
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s.%N)
    best=$(python3 -c "print(min($best, $t1 - $t0))")
  done
  echo "$best"
}
cat "$FILE" >/dev/null # warm the page cache
tp=$(best "$BIN" scan "$FILE")
tg=$(best grep -cE '[0-9]{3}-[0-9]{2}-[0-9]{4}' "$FILE")
python3 - "$bytes" "$tp" "$tg" <<'PY'
import sys
b, tp, tg = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"input: {b / 2**20:.0f} MiB digit-heavy JSON log")
print(f"phimesh scan            {tp:6.3f} s  {b / tp / 1e6:7.0f} MB/s  (every detector)")
print(f"grep -cE SSN pattern    {tg:6.3f} s  {b / tg / 1e6:7.0f} MB/s  (one pattern)")
print(f"phimesh / grep speed    {tg / tp:.2f}x")
PY
