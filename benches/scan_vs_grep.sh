#!/usr/bin/env bash
# Compares `phimesh scan` (every detector) with GNU `grep -cE` looking for an SSN pattern alone,
# on two 128 MiB clean JSON API logs:
#   no-dash   numbers, a hex trace id, no '-' anywhere: grep's best case for the dashed pattern,
#             since it skips to that pattern's one literal ('-') with memchr and finds none;
#   iso-uuid  the same log with ISO-8601 timestamps and UUID request ids, as API logs usually
#             carry, so every line has dashes next to digits;
#   phones    the iso-uuid log with a phone number on every line ("phone":"(217) 555-0134"):
#             PHI-dense traffic for the matchers (every line is a match to validate), clean
#             for the verdict (a phone number is PHI only next to patient data).
# and two SSN patterns:
#   dashed    [0-9]{3}-[0-9]{2}-[0-9]{4}: the narrowest SSN pattern, and grep's fastest;
#   phimesh   the separated-SSN pattern phimesh's own SSN detector compiles (dash, space or dot
#             separators, not followed by a digit or dash), written in ERE.
# Prints wall-clock seconds (best of 5 runs, page cache warm) and MB/s for each.
# grep's output goes to a file: with stdout on /dev/null GNU grep stops at the first match.
# Usage: benches/scan_vs_grep.sh [path/to/phimesh]   (default target/release/phimesh)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/phimesh}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }
DIR=$(mktemp -d /tmp/phimesh-scan-bench.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
python3 - "$DIR" <<'PY'
import random, sys, uuid
out, size = sys.argv[1], 128 << 20

def write(name, line):
    r = random.Random(7)
    with open(f"{out}/{name}", "w") as f:
        n = 0
        while n < size:
            s = line(r)
            f.write(s)
            n += len(s)

write("no-dash", lambda r: '{"ts":%d,"order_id":%d,"amount":%d.%02d,"latency_ms":%d,"status":%d,"trace":"%016x%016x","zip":"%05d"}\n' % (
    1700000000 + r.randrange(50000000), r.randrange(10**9), r.randrange(10000), r.randrange(100),
    r.randrange(2000), r.choice([200, 201, 404, 500]), r.getrandbits(64), r.getrandbits(64), r.randrange(100000)))
write("iso-uuid", lambda r: '{"time":"2026-%02d-%02dT%02d:%02d:%02d.%03dZ","request_id":"%s","order_id":%d,"amount":%d.%02d,"latency_ms":%d,"status":%d,"zip":"%05d"}\n' % (
    r.randrange(1, 13), r.randrange(1, 29), r.randrange(24), r.randrange(60), r.randrange(60), r.randrange(1000),
    uuid.UUID(int=r.getrandbits(128)), r.randrange(10**9), r.randrange(10000), r.randrange(100),
    r.randrange(2000), r.choice([200, 201, 404, 500]), r.randrange(100000)))
write("phones", lambda r: '{"time":"2026-%02d-%02dT%02d:%02d:%02d.%03dZ","request_id":"%s","order_id":%d,"phone":"(%03d) %03d-%04d","amount":%d.%02d,"status":%d,"zip":"%05d"}\n' % (
    r.randrange(1, 13), r.randrange(1, 29), r.randrange(24), r.randrange(60), r.randrange(60), r.randrange(1000),
    uuid.UUID(int=r.getrandbits(128)), r.randrange(10**9), r.randrange(201, 990), r.randrange(200, 1000),
    r.randrange(10000), r.randrange(10000), r.randrange(100), r.choice([200, 201, 404, 500]), r.randrange(100000)))
PY
best() {
  local best=999999
  for _ in 1 2 3 4 5; do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s.%N)
    best=$(python3 -c "print(min($best, $t1 - $t0))")
  done
  echo "$best"
}
PATTERNS=(
  'dashed'  '[0-9]{3}-[0-9]{2}-[0-9]{4}'
  'phimesh' '[0-9]{3}(-[0-9]{2}-| [0-9]{2} |\.[0-9]{2}\.)[0-9]{4}([^0-9-]|$)'
)
for name in ${NAMES:-no-dash iso-uuid phones}; do
  file="$DIR/$name"
  cat "$file" >/dev/null # warm the page cache
  "$BIN" scan "$file" >/dev/null && verdict=clean || verdict="PHI or error ($?)"
  bytes=$(stat -c %s "$file")
  tp=$(best "$BIN" scan "$file")
  python3 - "$name" "$bytes" "$tp" "$verdict" <<'PY'
import sys
name, b, tp, verdict = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
print(f"{name}: {b / 2**20:.0f} MiB clean JSON API log (phimesh verdict: {verdict})")
print(f"  phimesh scan (every detector)      {tp:6.3f} s  {b / tp / 1e6:7.0f} MB/s")
PY
  for ((i = 0; i < ${#PATTERNS[@]}; i += 2)); do
    label=${PATTERNS[i]} pattern=${PATTERNS[i + 1]}
    tg=$(best sh -c 'grep -cE "$1" "$2" >"$3"' grep "$pattern" "$file" "$DIR/grep.out")
    python3 - "$label" "$bytes" "$tp" "$tg" "$(cat "$DIR/grep.out")" <<'PY'
import sys
label, b, tp, tg, lines = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
print(f"  grep -cE SSN pattern ({label:7})    {tg:6.3f} s  {b / tg / 1e6:7.0f} MB/s"
      f"  ({lines} lines)  phimesh / grep {tg / tp:.2f}x")
PY
  done
done
