#!/usr/bin/env python3
"""Loopback HTTP server for tests/unit/test_fetch.c.

Usage: fetchserver.py ROOT LOG
Serves the files in ROOT on 127.0.0.1 at a free port, which it prints on
stdout once listening; appends each request's path to LOG. Paths:
  /files/NAME        the file
  /truncated/NAME    Content-Length of the whole file, half of it, then close
  /short/NAME        no Content-Length, half of the file, then close (looks whole)
  /slow/NAME         the file in 4 KiB pieces every 50 ms
  /flaky/K/NAME      503 for the first K requests of this path, then the file
  /redirect/NAME     302 to /files/NAME
  /endless/RATE/NAME no Content-Length, zeros forever, RATE bytes/s (0: as
                     fast as the client takes them); NAME need not exist
  /stall/NAME        Content-Length of the file, its first KiB, then silence
  anything else      404
"""
import http.server
import os
import sys
import threading
import time

ROOT, LOG = sys.argv[1], sys.argv[2]
counts = {}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def body(self, name):
        path = os.path.join(ROOT, os.path.basename(name))
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def send(self, code, data=b"", length=True, extra=()):
        self.send_response(code)
        if length:
            self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()

    def do_GET(self):
        with lock:
            with open(LOG, "a") as f:
                f.write(self.path + "\n")
            counts[self.path] = counts.get(self.path, 0) + 1
            n = counts[self.path]
        parts = self.path.split("/")[1:]
        kind, name = parts[0], parts[-1]
        if kind == "endless":
            self.endless(int(parts[1]))
            return
        data = self.body(name)
        if data is None or kind not in ("files", "truncated", "short", "slow", "flaky", "redirect", "stall"):
            self.send(404, b"not found\n")
            self.wfile.write(b"not found\n")
            return
        try:
            if kind == "files":
                self.send(200, data)
                self.wfile.write(data)
            elif kind == "truncated":
                self.send(200, data)
                self.wfile.write(data[: len(data) // 2])
            elif kind == "short":
                self.send(200, length=False)
                self.wfile.write(data[: len(data) // 2])
            elif kind == "slow":
                self.send(200, data)
                for i in range(0, len(data), 4096):
                    self.wfile.write(data[i:i + 4096])
                    self.wfile.flush()
                    time.sleep(0.05)
            elif kind == "flaky":
                if n <= int(parts[1]):
                    self.send(503, b"busy\n")
                    self.wfile.write(b"busy\n")
                else:
                    self.send(200, data)
                    self.wfile.write(data)
            elif kind == "redirect":
                self.send(302, b"", extra=[("Location", "/files/" + name)])
            elif kind == "stall":
                self.send(200, data)
                self.wfile.write(data[:1024])
                self.wfile.flush()
                time.sleep(3600)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def endless(self, rate):
        self.send(200, length=False)
        chunk = b"\0" * (rate // 8 if rate else 65536)
        try:
            while True:
                self.wfile.write(chunk)
                self.wfile.flush()
                if rate:
                    time.sleep(0.125)
        except (BrokenPipeError, ConnectionResetError):
            pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
