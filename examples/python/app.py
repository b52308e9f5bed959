#!/usr/bin/env python3
"""A worker app of your own, in Python with the standard library only.

clusterbench starts one process per worker. It either hands the process a
listening socket at fd 3 (LISTEN_FDS=1, LISTEN_PID, as systemd does) or
tells it a port to listen on ($PORT). The worker's index is in
WORKER_INDEX.

This app does not name its worker in its responses, as most apps do not:
clusterbench then counts each worker's requests and connections in the
kernel. Add an X-Worker header with WORKER_INDEX to let the client count
them too (see examples/node/app.js).
"""
import http.server
import os
import socket


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep connections alive when asked

    def do_GET(self):
        body = b"hello\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # one line per request would cost more than the request


def inherited_socket():
    """The listening socket at fd 3, if it was handed to this process."""
    if os.environ.get("LISTEN_FDS") == "1" and os.environ.get("LISTEN_PID") == str(os.getpid()):
        return socket.socket(fileno=3)
    return None


def main():
    sock = inherited_socket()
    if sock is None:
        address = (os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"]))
        server = http.server.ThreadingHTTPServer(address, Hello)
    else:
        server = http.server.ThreadingHTTPServer(sock.getsockname(), Hello, bind_and_activate=False)
        server.socket.close()
        server.socket = sock
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
