#!/usr/bin/env bash
# The phimesh sidecar pair against the proxies it replaces, on loopback, as separate processes:
# direct, an nginx mTLS pair, an HAProxy mTLS pair (both TLS 1.3, ECDSA P-256, verified client
# certificates) and the phimesh pair with inspection on and off, interleaved over several
# rounds. The app is nginx answering `return 200` (HTTP/1.1 and h2c); the client is h2load (and
# curl for the stream). See benches/README.md for what is measured and docs/benchmarks.md for
# the numbers.
#
#   benches/peers.sh [path/to/phimesh]          # default target/release/phimesh
#
# Environment: ROUNDS (3), N (closed-loop requests per run, 30000), RATE_SECS (seconds per
# fixed-rate run, 10), STREAM_MIB (256), PORT_BASE (21000), WORKERS (nginx worker_processes and
# HAProxy nbthread, 1), ONLY (space-separated subset of: direct nginx haproxy phimesh phimesh-off
# phimesh-base), KEEP (1: keep the work directory), BASE_BIN (another phimesh build, measured as
# `phimesh-base` with inspection on: before/after in one run), PERF (1: also `perf record` the
# pair of every config during its closed loop and print where its CPU went, by part: kernel,
# TLS, HTTP, PHI engine, runtime, allocator, copies, proxy logic).
set -euo pipefail

BIN=${1:-target/dist/phimesh}
BIN=$(realpath "$BIN")
ROUNDS=${ROUNDS:-3}
N=${N:-30000}
RATE_SECS=${RATE_SECS:-10}
STREAM_MIB=${STREAM_MIB:-256}
P=${PORT_BASE:-21000}
WORKERS=${WORKERS:-1}
ONLY=${ONLY:-direct nginx haproxy phimesh phimesh-off${BASE_BIN:+ phimesh-base}}
[ -z "${BASE_BIN:-}" ] || BASE_BIN=$(realpath "$BASE_BIN")

TOOLS="nginx haproxy h2load curl openssl python3"; [ "${PERF:-0}" = 1 ] && TOOLS="$TOOLS perf"
for tool in $TOOLS; do
  command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin
  command -v "$tool" >/dev/null || { echo "peers.sh: $tool missing (run scripts/setup --bench)" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "peers.sh: $BIN missing (cargo build --profile dist)" >&2; exit 2; }

W=$(mktemp -d /tmp/phimesh-peers.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] && echo "work directory: $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
chmod 755 "$W"
cd "$W"

APP1=$((P + 0)) APP2=$((P + 1)) CA=$((P + 2))
FRONT=$((P + 10)) MESH=$((P + 11)) ADMIN_A=$((P + 12)) ADMIN_B=$((P + 13))

# --- certificates: a CA, a server and a client leaf, ECDSA P-256 -------------------------------
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -subj /CN=bench-ca -days 2 -out ca.pem 2>/dev/null
for n in server client; do
  openssl ecparam -name prime256v1 -genkey -noout -out $n.key 2>/dev/null
  openssl req -new -key $n.key -subj /CN=$n -out $n.csr 2>/dev/null
  printf 'subjectAltName=DNS:server,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' > $n.ext
  openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile $n.ext -out $n.pem 2>/dev/null
  cat $n.pem $n.key > $n.all
done

# --- payloads: a 1 KiB JSON body, a clean 256 MiB API log to stream ------------------------------
python3 - "$STREAM_MIB" <<'EOF'
import sys, random
random.seed(7)
body = '{"order":{"id":"%s","items":[%s]}}' % ("x" * 16, ",".join('{"sku":"SKU-%d","qty":%d}' % (i, i % 5) for i in range(60)))
open("body1k", "w").write((body + " " * 1024)[:1024])
lines = []
for i in range(8000):
    lines.append('{"ts":"2026-12-06T10:%02d:%02d.%03dZ","level":"info","route":"/api/v2/orders/%d","status":200,"ms":%d,"bytes":%d}\n'
                 % (i // 600 % 60, i // 10 % 60, i % 1000, random.randrange(10**6), random.randrange(900), random.randrange(10**5)))
block = "".join(lines).encode()
with open("big", "wb") as f:
    want = int(sys.argv[1]) << 20
    while want > 0:
        f.write(block[:want]); want -= len(block)
EOF

# --- the app: nginx `return 200`, HTTP/1.1 on APP1, h2c on APP2, and the stream ----------------
cat > app.conf <<EOF
worker_processes 1;
daemon off;
pid $W/app.pid;
error_log $W/app.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $W/tmp;
  keepalive_requests 10000000;
  client_max_body_size 0;
  server { listen 127.0.0.1:$APP1; location / { return 200 "ok\n"; } location = /big { alias $W/big; } }
  server { listen 127.0.0.1:$APP2 http2; location / { return 200 "ok\n"; } }
}
EOF
mkdir -p tmp
nginx -c "$W/app.conf" -p "$W" & PIDS+=($!)

# --- the phimesh CA (the pair's identities) ------------------------------------------------------
printf 'tok-a spiffe://cluster.local/ns/a/sa/web\ntok-b spiffe://cluster.local/ns/b/sa/db\n' > tokens
printf tok-a > token-a; printf tok-b > token-b
"$BIN" ca --listen 127.0.0.1:$CA --state-dir "$W/castate" --tokens "$W/tokens" >/dev/null 2>ca.err & PIDS+=($!)

wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
wait_port $APP1; wait_port $APP2; wait_port $CA

# --- the pairs -----------------------------------------------------------------------------------
nginx_conf() { # side(client|server) -> config on stdout
  local common="worker_processes $WORKERS; daemon off; pid $W/nginx-$1.pid; error_log $W/nginx-$1.err warn;
events { worker_connections 4096; }"
  if [ "$1" = client ]; then cat <<EOF
$common
http {
  access_log off; client_body_temp_path $W/tmp; proxy_temp_path $W/tmp;
  keepalive_requests 10000000; client_max_body_size 0;
  upstream mesh { server 127.0.0.1:$MESH; keepalive 64; keepalive_requests 10000000; }
  server {
    listen 127.0.0.1:$FRONT; listen 127.0.0.1:$((FRONT + 5)) http2;
    location / {
      proxy_pass https://mesh; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering off; proxy_request_buffering off;
      proxy_ssl_certificate $W/client.pem; proxy_ssl_certificate_key $W/client.key;
      proxy_ssl_trusted_certificate $W/ca.pem; proxy_ssl_verify on; proxy_ssl_name server;
      proxy_ssl_protocols TLSv1.3; proxy_ssl_session_reuse on;
    }
  }
}
EOF
  else cat <<EOF
$common
http {
  access_log off; client_body_temp_path $W/tmp; proxy_temp_path $W/tmp;
  keepalive_requests 10000000; client_max_body_size 0;
  upstream app { server 127.0.0.1:$APP1; keepalive 64; keepalive_requests 10000000; }
  server {
    listen 127.0.0.1:$MESH ssl;
    ssl_certificate $W/server.pem; ssl_certificate_key $W/server.key; ssl_protocols TLSv1.3;
    ssl_client_certificate $W/ca.pem; ssl_verify_client on;
    location / {
      proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering off; proxy_request_buffering off;
    }
  }
}
EOF
  fi
}

haproxy_conf() { # side -> config
  local common="global
  nbthread $WORKERS
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive"
  if [ "$1" = client ]; then cat <<EOF
$common
frontend h1
  bind 127.0.0.1:$FRONT
  default_backend mesh_h1
frontend h2
  bind 127.0.0.1:$((FRONT + 5)) proto h2
  default_backend mesh_h2
backend mesh_h1
  server s 127.0.0.1:$MESH ssl verify required ca-file $W/ca.pem crt $W/client.all verifyhost server sni str(server) ssl-min-ver TLSv1.3 alpn http/1.1
backend mesh_h2
  server s 127.0.0.1:$MESH ssl verify required ca-file $W/ca.pem crt $W/client.all verifyhost server sni str(server) ssl-min-ver TLSv1.3 alpn h2
EOF
  else cat <<EOF
$common
frontend mesh
  bind 127.0.0.1:$MESH ssl crt $W/server.all ca-file $W/ca.pem verify required ssl-min-ver TLSv1.3 alpn h2,http/1.1
  use_backend app_h2 if { ssl_fc_alpn h2 }
  default_backend app_h1
backend app_h1
  server a 127.0.0.1:$APP1
backend app_h2
  server a 127.0.0.1:$APP2 proto h2
EOF
  fi
}

SIDE_PIDS=()
start_pair() { # config proto
  SIDE_PIDS=()
  case $1 in
    direct) ;;
    nginx)
      for s in client server; do nginx_conf $s > nginx-$s.conf; nginx -c "$W/nginx-$s.conf" -p "$W" & SIDE_PIDS+=($!); done ;;
    haproxy)
      for s in client server; do haproxy_conf $s > haproxy-$s.cfg; haproxy -db -f "$W/haproxy-$s.cfg" 2>haproxy-$s.err & SIDE_PIDS+=($!); done ;;
    phimesh|phimesh-off|phimesh-base)
      local insp=on; [ "$1" = phimesh-off ] && insp=off
      local bin=$BIN; [ "$1" = phimesh-base ] && bin=$BASE_BIN
      local app=$APP1; [ "$2" = h2 ] && app=$APP2
      # The sidecar as shipped: `phimesh proxy` hands over to the sidecar-only binary beside it
      # (deploy/Dockerfile), when the build has one.
      local handover=; [ -x "$(dirname "$bin")/phimesh-proxy" ] && handover=$(dirname "$bin")/phimesh-proxy
      local id="--ca-addr https://127.0.0.1:$CA --ca-roots $W/castate/trust-bundle.pem --inspection $insp --mesh-networks 127.0.0.2/32"
      # shellcheck disable=SC2086
      PHIMESH_PROXY_BINARY=$handover "$bin" proxy $id --identity spiffe://cluster.local/ns/b/sa/db --token-file "$W/token-b" \
        --inbound-listen 127.0.0.1:$MESH --inbound-forward 127.0.0.1:$app --admin-listen 127.0.0.1:$ADMIN_B \
        >/dev/null 2>phimesh-b.err & SIDE_PIDS+=($!)
      # shellcheck disable=SC2086
      PHIMESH_PROXY_BINARY=$handover "$bin" proxy $id --identity spiffe://cluster.local/ns/a/sa/web --token-file "$W/token-a" \
        --route 127.0.0.1:$FRONT=127.0.0.2:8080 --peer 127.0.0.2:8080=127.0.0.1:$MESH --admin-listen 127.0.0.1:$ADMIN_A \
        >/dev/null 2>phimesh-a.err & SIDE_PIDS+=($!)
      for _ in $(seq 200); do
        grep -qs "proxy: ready" phimesh-a.err && grep -qs "proxy: ready" phimesh-b.err && break
        sleep 0.05
      done ;;
  esac
  if [ "$1" != direct ]; then wait_port $MESH; wait_port $FRONT; fi
  sleep 0.3
}

stop_pair() {
  for p in "${SIDE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  SIDE_PIDS=()
}

# Every process of the pair: the started ones and their children (nginx workers).
pair_procs() {
  local p
  for p in "${SIDE_PIDS[@]}"; do
    echo "$p"
    pgrep -P "$p" || true
  done
}
cpu_ticks() { local t=0 p; for p in $(pair_procs); do
  t=$((t + $(awk '{print $14 + $15}' /proc/"$p"/stat 2>/dev/null || echo 0))); done; echo $t; }
rss_kib() { local t=0 p; for p in $(pair_procs); do
  t=$((t + $(awk '/^VmRSS/ {print $2}' /proc/"$p"/status 2>/dev/null || echo 0))); done; echo $t; }

url() { # config proto
  if [ "$1" = direct ]; then [ "$2" = h2 ] && echo http://127.0.0.1:$APP2/ || echo http://127.0.0.1:$APP1/
  elif [ "$2" = h2 ] && [[ $1 != phimesh* ]]; then echo http://127.0.0.1:$((FRONT + 5))/
  else echo http://127.0.0.1:$FRONT/; fi
}

TICK=$(getconf CLK_TCK)
RESULTS=$W/results.tsv
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$CFG" "$PROTO" "$1" "$2" >> "$RESULTS"; }

closed_loop() { # url proto -> records rps, cpu, failed
  local flags=(--h1 -c 8); [ "$2" = h2 ] && flags=(-c 1 -m 8)
  h2load "${flags[@]}" -n 2000 -d body1k "$1" >/dev/null 2>&1 || true   # warm-up
  local perf_pid=
  if [ "${PERF:-0}" = 1 ] && [ "$CFG" != direct ]; then
    perf record -q -F 2000 -e cpu-clock -p "$(pair_procs | paste -sd,)" -o "perf-$CFG-$PROTO-$ROUND.data" \
      >/dev/null 2>&1 & perf_pid=$!
    sleep 0.2
  fi
  local t0; t0=$(cpu_ticks)
  local out; out=$(h2load "${flags[@]}" -n "$N" -d body1k "$1" 2>&1 || true)
  local t1; t1=$(cpu_ticks)
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true; fi
  record rps "$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")"
  record failed "$(sed -n 's/^requests: .* \([0-9]*\) failed, \([0-9]*\) errored.*/\1 \2/p' <<<"$out" | awk '{print $1 + $2}')"
  record cpu10k "$(python3 -c "print(($t1 - $t0) / $TICK / $N * 10000)")"
}

fixed_rate() { # url proto name clients rps-per-client
  local flags=(--h1); [ "$2" = h2 ] && flags=()
  rm -f lat.log
  h2load "${flags[@]}" -c "$4" --rps "$5" -D "$RATE_SECS" -d body1k --log-file lat.log "$1" >/dev/null 2>&1 || true
  read -r p50 p99 bad < <(python3 - <<'EOF'
rows = [l.split("\t") for l in open("lat.log") if l.strip()]
d = sorted(int(r[2]) for r in rows)
bad = sum(1 for r in rows if not r[1].startswith("2"))
q = lambda p: d[min(len(d) - 1, int(p * len(d)))] / 1000 if d else float("nan")
print(q(0.50), q(0.99), bad)
EOF
)
  record "$3_p50" "$p50"; record "$3_p99" "$p99"; record "$3_failed" "$bad"
}

stream() { # url
  local s; s=$(curl -sf -o /dev/null -w '%{speed_download}' --max-time 300 "${1}big" || echo 0)
  record stream_mbs "$(python3 -c "print($s / 1e6)")"
}

for ROUND in $(seq "$ROUNDS"); do
  for PROTO in h1 h2; do
    for CFG in $ONLY; do
      [ "$CFG" = nginx ] && [ "$PROTO" = h2 ] && continue   # nginx proxies h2 only to HTTP/1.1
      echo "round $ROUND: $CFG $PROTO" >&2
      start_pair "$CFG" "$PROTO"
      U=$(url "$CFG" "$PROTO")
      [ "$CFG" != direct ] && record rss_idle_mib "$(python3 -c "print($(rss_kib) / 1024)")"
      closed_loop "$U" "$PROTO"
      fixed_rate "$U" "$PROTO" steady 1 1000
      fixed_rate "$U" "$PROTO" burst8 8 125
      [ "$PROTO" = h1 ] && stream "$U"
      [ "$CFG" != direct ] && record rss_load_mib "$(python3 -c "print($(rss_kib) / 1024)")"
      stop_pair
    done
  done
done

python3 - "$RESULTS" "$ROUNDS" "$N" <<'EOF'
import sys, statistics as st
from collections import defaultdict
res, rounds, n = sys.argv[1], sys.argv[2], sys.argv[3]
v = defaultdict(list)
for l in open(res):
    r, cfg, proto, k, x = l.rstrip("\n").split("\t")
    try: v[(cfg, proto, k)].append(float(x))
    except ValueError: pass
med = lambda c, p, k: st.median(v[(c, p, k)]) if v[(c, p, k)] else None
cfgs = [c for c in ["direct", "nginx", "haproxy", "phimesh", "phimesh-off", "phimesh-base"] if any(k[0] == c for k in v)]
f = lambda x, d=2: "–" if x is None else f"{x:,.{d}f}"
print(f"\nMedians of {rounds} interleaved rounds; closed loop {n} requests of 1 KiB; fixed rate 1,000 req/s.\n")
for proto, title in (("h1", "HTTP/1.1, 8 connections"), ("h2", "h2, 8 streams on one connection")):
    print(f"### {title}\n")
    print("| | req/s | proxy CPU-s / 10k req | added p50 / p99 steady (ms) | added p50 / p99 bursts of 8 (ms) |"
          + (" stream MB/s |" if proto == "h1" else "") + " RSS idle / loaded (MiB) | failed |")
    print("| --- | ---: | ---: | ---: | ---: |" + (" ---: |" if proto == "h1" else "") + " ---: | ---: |")
    for c in cfgs:
        if not v[(c, proto, "rps")]: continue
        add = lambda k: None if med(c, proto, k) is None or med("direct", proto, k) is None else med(c, proto, k) - med("direct", proto, k)
        fails = sum(sum(v[(c, proto, k)]) for k in ("failed", "steady_failed", "burst8_failed"))
        row = [c, f(med(c, proto, "rps"), 0), f(med(c, proto, "cpu10k")),
               f"{f(add('steady_p50'))} / {f(add('steady_p99'))}", f"{f(add('burst8_p50'))} / {f(add('burst8_p99'))}"]
        if proto == "h1": row.append(f(med(c, proto, "stream_mbs"), 0))
        row += [f"{f(med(c, proto, 'rss_idle_mib'), 1)} / {f(med(c, proto, 'rss_load_mib'), 1)}", f(fails, 0)]
        print("| " + " | ".join(row) + " |")
    print()
    for c in ("phimesh", "phimesh-off", "phimesh-base"):
        for peer in ("nginx", "haproxy"):
            a, b = med(c, proto, "cpu10k"), med(peer, proto, "cpu10k")
            ra, rb = med(c, proto, "rps"), med(peer, proto, "rps")
            if a and b and ra and rb:
                print(f"- {c} / {peer}: req/s {ra / rb:.2f}x, CPU per request {a / b:.2f}x")
    print()
print(f"raw results: {res} (kept with KEEP=1)")
EOF

# Where the pairs' CPU went during the closed loops (PERF=1): perf samples of every round, by
# part, as a share of the config's samples (mean over rounds).
if [ "${PERF:-0}" = 1 ]; then
  for f in perf-*.data; do
    [ -e "$f" ] || continue
    key=${f#perf-}; key=${key%.data}
    perf report -i "$f" --no-children --sort dso,sym --stdio -q 2>/dev/null \
      | sed "s|^|$key\t|" >> perf.txt || true
  done
  python3 - perf.txt <<'EOF'
import re, sys
from collections import defaultdict
PARTS = [  # the first that matches a sample's "dso symbol" wins
    ("kernel (TCP, syscalls, scheduling)", r"\[kernel|\[k\]"),
    ("PHI engine (detect, Hyperscan)", r"phimesh_detect|libhs\.so|hs_scan|hs_open|hs_close|hs_reset"),
    ("TLS (rustls, ring)", r"rustls|ring_core|ring::|aes_gcm|gcm_|x25519|p256|ecp_nistz|libssl|libcrypto"),
    ("HTTP (hyper, h2, httparse, http)", r"hyper|\bh2::|httparse|\bhttp::|http_body"),
    ("async runtime (tokio)", r"tokio|futures_util|futures_core|mio::"),
    ("allocator (malloc, free)", r"malloc|_int_free|cfree|\bfree\b|realloc|unlink_chunk|tcache"),
    ("copies (memmove, memcpy, memset, memcmp)", r"memmove|memcpy|memset|memcmp|bcmp"),
    ("proxy logic (phimesh_proxy)", r"phimesh_proxy|phimesh_plumbing"),
    ("metrics (prometheus)", r"prometheus"),
]
OTHER = "other (libc, std, the peers' own code)"
share = defaultdict(lambda: defaultdict(float))
rounds = defaultdict(set)
for line in open(sys.argv[1]):
    key, _, rest = line.rstrip("\n").partition("\t")
    cfg, _, rnd = key.rpartition("-")
    rounds[cfg].add(rnd)
    m = re.match(r"\s*([0-9.]+)%\s+(.*)", rest)
    if not m:
        continue
    pct, what = float(m.group(1)), m.group(2)
    part = next((p for p, rx in PARTS if re.search(rx, what)), OTHER)
    share[cfg][part] += pct
cfgs = sorted(share)
print("### Where each pair's CPU went in the closed loops (perf, % of its samples)\n")
print("| part | " + " | ".join(cfgs) + " |")
print("| --- |" + " ---: |" * len(cfgs))
for n in [p for p, _ in PARTS] + [OTHER]:
    print(f"| {n} | " + " | ".join(f"{share[c][n] / len(rounds[c]):.1f}" for c in cfgs) + " |")
EOF
fi
