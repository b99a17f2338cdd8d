#!/usr/bin/env python3
"""grpcio server and client for the proxy_grpc end-to-end tests.

No protoc: generic method handlers with raw-bytes messages (no serializers), service
`phimesh.test.Records`.

    peer.py serve RECORD_FILE
        Serves on 127.0.0.1:<ephemeral>; prints `PORT <n>` once it accepts calls. Every request
        message it receives is appended to RECORD_FILE as one JSON line
        {"method": ..., "msg": <base64>} and flushed before the handler goes on, so the file is
        exactly what reached the server. Runs until stdin closes (or it is killed).

    peer.py call ADDR < SPEC_JSON
        One call through ADDR (plaintext h2, as an app behind its sidecar would). SPEC:
        {"method": "Echo"|"Stream"|"Collect"|"Trailer"|"Abort",
         "messages": [<base64>...],      # request message(s)
         "gzip": bool,                   # grpc per-message compression
         "wait": {"record": FILE, "count": N},  # client streaming: before the last message,
                                         # wait (bounded) until the server recorded N messages
         "repeat": n}                    # unary: make the call n times on one channel
        Prints one JSON line: {"code": <int>, "details": str, "responses": [<base64>...],
        "trailing": [[k, v]...]}.

Methods: Echo (unary, answers the request), Stream (unary request, answers 3 messages each
`part-i ` + request), Collect (client streaming, answers `got N`), Trailer (unary, request
{"note": str, "pad": n}: answers a clean message padded with n bytes and sets trailing metadata
`x-note` to the note), Abort (unary, aborts with
INVALID_ARGUMENT and the request text as details: a trailers-only response).
"""

import base64
import json
import os
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "phimesh.test.Records"
OPTIONS = [("grpc.enable_http_proxy", 0)]


def serve(record_path):
    lock = threading.Lock()
    record = open(record_path, "ab", buffering=0)

    def rec(method, msg):
        line = json.dumps({"method": method, "msg": base64.b64encode(msg).decode()}) + "\n"
        with lock:
            record.write(line.encode())
            os.fsync(record.fileno())

    def echo(req, ctx):
        rec("Echo", req)
        return req

    def stream(req, ctx):
        rec("Stream", req)
        for i in range(3):
            yield b"part-%d " % i + req

    def collect(it, ctx):
        n = 0
        for m in it:
            rec("Collect", m)
            n += 1
        return b"got %d" % n

    def trailer(req, ctx):
        rec("Trailer", req)
        spec = json.loads(req)
        ctx.set_trailing_metadata((("x-note", spec["note"]),))
        return b"clean response " + b"x" * spec.get("pad", 0)

    def abort(req, ctx):
        rec("Abort", req)
        ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, req.decode())

    handlers = {
        "Echo": grpc.unary_unary_rpc_method_handler(echo),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
        "Collect": grpc.stream_unary_rpc_method_handler(collect),
        "Trailer": grpc.unary_unary_rpc_method_handler(trailer),
        "Abort": grpc.unary_unary_rpc_method_handler(abort),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=OPTIONS)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print("PORT %d" % port, flush=True)
    # Until the test closes our stdin (or kills us).
    sys.stdin.read()
    server.stop(0)


def recorded(path):
    try:
        with open(path, "rb") as f:
            return sum(1 for line in f if line.strip())
    except FileNotFoundError:
        return 0


def call(addr, spec):
    method = "/%s/%s" % (SERVICE, spec["method"])
    msgs = [base64.b64decode(m) for m in spec.get("messages", [])]
    kw = {"timeout": 30}
    if spec.get("gzip"):
        kw["compression"] = grpc.Compression.Gzip
    out = {"code": 0, "details": "", "responses": [], "trailing": []}
    with grpc.insecure_channel(addr, options=OPTIONS) as ch:
        # Earlier identical calls on the same channel (one connection): the last one reports.
        for _ in range(spec.get("repeat", 1) - 1):
            r = ch.unary_unary(method)(msgs[0], **kw)
            if r != msgs[0] and spec["method"] == "Echo":
                raise SystemExit("repeated call answered wrongly")
        try:
            kind = spec["method"]
            if kind == "Stream":
                it = ch.unary_stream(method)(msgs[0], **kw)
                for r in it:
                    out["responses"].append(base64.b64encode(r).decode())
                trailing = it.trailing_metadata()
            elif kind == "Collect":
                wait = spec.get("wait")

                def gen():
                    for i, m in enumerate(msgs):
                        if wait and i == len(msgs) - 1:
                            deadline = time.monotonic() + 20
                            while recorded(wait["record"]) < wait["count"]:
                                if time.monotonic() > deadline:
                                    raise SystemExit("server never recorded the clean messages")
                                time.sleep(0.02)
                        yield m

                r, c = ch.stream_unary(method).with_call(gen(), **kw)
                out["responses"].append(base64.b64encode(r).decode())
                trailing = c.trailing_metadata()
            else:
                r, c = ch.unary_unary(method).with_call(msgs[0], **kw)
                out["responses"].append(base64.b64encode(r).decode())
                trailing = c.trailing_metadata()
            out["trailing"] = [[k, v if isinstance(v, str) else v.decode("latin-1")]
                               for k, v in (trailing or ())]
        except grpc.RpcError as e:
            out["code"] = e.code().value[0]
            out["details"] = e.details() or ""
            out["trailing"] = [[k, v if isinstance(v, str) else v.decode("latin-1")]
                               for k, v in (e.trailing_metadata() or ())]
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif sys.argv[1] == "call":
        call(sys.argv[2], json.loads(sys.stdin.read()))
    else:
        raise SystemExit("usage: peer.py serve FILE | call ADDR < SPEC")
