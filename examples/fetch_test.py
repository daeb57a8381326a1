#!/usr/bin/env python3
"""fetch_test.py - TAP test of examples/http_hello and examples/fetch together.

Starts http_hello on an ephemeral loopback port (its "listening on" line says
which), speaks raw HTTP to it to check keep-alive, pipelining, Connection:
close, HTTP/1.0, a dropped request body and a bad request; runs fetch on 200
URLs with 16 fibers and checks that every one got 200 and "hello"; runs fetch
on a port nobody listens on and checks that it reports the failure; then stops
the server with SIGTERM while a keep-alive connection is still open and checks
that it exits with status 0.

    fetch_test.py HTTP_HELLO FETCH
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading

TIMEOUT = 60 * (4 if os.environ.get("WEFT_STRESS_SCALE") else 1)  # sanitizers run slower

results = []


def check(ok, name, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}")
    if not ok and detail:
        for line in str(detail).splitlines():
            print(f"# {line}")
    sys.stdout.flush()
    return ok


def recv_response(sock, buf=b"", head=False):
    """One response from sock: (status, headers dict, body, rest of buf), or None at
    EOF. buf: bytes already received; head: the response to a HEAD (no body)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        buf += chunk
    header, buf = buf.split(b"\r\n\r\n", 1)
    lines = header.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = 0 if head else int(headers.get("content-length", "0"))
    while len(buf) < n:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        buf += chunk
    return status, headers, buf[:n], buf[n:]


def at_eof(sock):
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.settimeout(TIMEOUT)
    return s


def raw_checks(port):
    # Keep-alive and pipelining: two requests in one write, then a third.
    s = connect(port)
    s.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
    r1 = recv_response(s)
    r2 = r1 and recv_response(s, r1[3])
    s.sendall(b"HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n")
    r3 = r2 and recv_response(s, r2[3], head=True)
    check(r1 is not None and r2 is not None and r1[0] == r2[0] == 200 and
          r1[2] == r2[2] == b"hello" and "connection" not in r1[1],
          "HTTP/1.1 keeps the connection alive and answers pipelined requests in order",
          f"{r1!r} {r2!r}")
    # HEAD: the headers announce 5 bytes, none follow; the connection stays.
    s.sendall(b"GET /d HTTP/1.1\r\nHost: x\r\n\r\n")
    r4 = r3 and recv_response(s, b"")
    check(r3 is not None and r3[0] == 200 and r3[1].get("content-length") == "5" and
          r3[2] == b"" and r3[3] == b"" and r4 is not None and r4[2] == b"hello",
          "HEAD gets headers only, and the connection goes on", f"{r3!r} {r4!r}")
    s.close()

    # Connection: close is honoured: the server closes after the response.
    s = connect(port)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    r = recv_response(s)
    check(r is not None and r[0] == 200 and r[1].get("connection") == "close" and at_eof(s),
          "Connection: close gets 'Connection: close' and the server closes", repr(r))
    s.close()

    # HTTP/1.0 closes by default; with keep-alive it stays open.
    s = connect(port)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    r = recv_response(s)
    check(r is not None and r[0] == 200 and at_eof(s), "HTTP/1.0 closes by default", repr(r))
    s.close()
    s = connect(port)
    s.sendall(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
    r1 = recv_response(s)
    s.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    r2 = r1 and recv_response(s, r1[3])
    check(r1 is not None and r1[1].get("connection", "").lower() == "keep-alive" and
          r2 is not None and r2[0] == 200, "HTTP/1.0 with Connection: keep-alive stays open",
          f"{r1!r} {r2!r}")
    s.close()

    # A body announced by Content-Length is read and dropped, sent in pieces.
    s = connect(port)
    s.sendall(b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabcde")
    s.sendall(b"fghijGET /q HTTP/1.1\r\nHost: x\r\n\r\n")
    r1 = recv_response(s)
    r2 = r1 and recv_response(s, r1[3])
    check(r1 is not None and r2 is not None and r1[0] == r2[0] == 200 and r2[2] == b"hello",
          "a request body is dropped and the next request is read after it", f"{r1!r} {r2!r}")
    s.close()

    # Garbage gets 400 and a close.
    s = connect(port)
    s.sendall(b"NONSENSE\r\n\r\n")
    r = recv_response(s)
    check(r is not None and r[0] == 400 and at_eof(s), "a bad request line gets 400 and a close",
          repr(r))
    s.close()


def main():
    if len(sys.argv) != 3:
        print("usage: fetch_test.py HTTP_HELLO FETCH", file=sys.stderr)
        return 2
    hello, fetch = sys.argv[1], sys.argv[2]
    print("1..14")
    srv = subprocess.Popen([hello, "--listen", "127.0.0.1:0", "--workers", "2"],
                           stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(4 * TIMEOUT, srv.kill)
    watchdog.start()
    try:
        line = srv.stderr.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not check(m is not None and m.group(1) != "0",
                     "http_hello says which ephemeral port it listens on", line):
            srv.kill()
            return 1
        port = int(m.group(1))
        # Drain its stderr from here on, so that it never blocks on a full pipe.
        err_lines = []
        drain = threading.Thread(target=lambda: err_lines.extend(srv.stderr), daemon=True)
        drain.start()

        raw_checks(port)

        urls = [f"http://127.0.0.1:{port}/page/{i}" for i in range(200)]
        out = subprocess.run([fetch, "--fibers", "16", "--workers", "2"] + urls,
                             capture_output=True, text=True, timeout=TIMEOUT)
        lines = out.stdout.splitlines()
        ok_lines = [l for l in lines if re.match(r"200 +5 bytes .*/page/\d+$", l)]
        check(out.returncode == 0 and len(ok_lines) == 200,
              "fetch: 200 URLs with 16 fibers, every one 200 with a 5-byte body, exit status 0",
              f"status {out.returncode}\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
        got = [int(l.rsplit("/", 1)[1]) for l in ok_lines]
        check(got == list(range(200)), "fetch prints the results in the order of the URLs")
        check(bool(lines) and re.match(r"fetched 200 URLs with at most 16 fibers in [\d.]+ ms .*"
                                       r"200 2xx, 0 other status, 0 failed", lines[-1]),
              "fetch's summary counts 200 successes and the total time",
              lines[-1] if lines else "no output")

        # A port with nobody listening: the fetch fails, and says so.
        hold = socket.socket()
        hold.bind(("127.0.0.1", 0))
        dead = hold.getsockname()[1]
        out = subprocess.run([fetch, f"http://localhost:{dead}/", f"http://127.0.0.1:{port}/"],
                             capture_output=True, text=True, timeout=TIMEOUT)
        hold.close()
        lines = out.stdout.splitlines()
        check(out.returncode == 1 and len(lines) == 3 and lines[0].startswith("ERR") and
              "refused" in lines[0] and lines[1].startswith("200 "),
              "fetch reports a refused connection and exits 1; the other URL still succeeds",
              out.stdout + out.stderr)

        # SIGTERM with a keep-alive connection open: a clean stop, status 0.
        idle = connect(port)
        idle.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        r = recv_response(idle)
        srv.send_signal(signal.SIGTERM)
        try:
            rc = srv.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            srv.kill()
            rc = "hung"
        drain.join(timeout=5)
        check(r is not None and rc == 0 and at_eof(idle),
              "SIGTERM stops http_hello with status 0, closing an idle keep-alive connection",
              f"status {rc}\n" + "".join(err_lines))
        idle.close()
        check(any(re.search(r"stopped after \d+ connections, \d+ requests", l)
                  for l in err_lines), "http_hello says what it served as it stops",
              "".join(err_lines))
    finally:
        watchdog.cancel()
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    return 0 if all(results) and len(results) == 14 else 1


if __name__ == "__main__":
    sys.exit(main())
