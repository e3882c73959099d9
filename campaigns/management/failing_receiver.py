"""The push receiver the push benchmarks (bench_replies, bench_callbacks) deliver to: an HTTP server
in another process that answers 500 to a share of the requests, counts each smsMsgId it accepted
(of a form push, or of each report in a JSON batch) and writes the counts to its file when stopped.

Run as a script (`python failing_receiver.py PORT RATIO OUT`) it imports only the standard
library, so it starts fast and shares nothing with the process it measures.
"""

import json
import random
import signal
import socket
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FailingReceiver:
    """Starts the receiver on `port` (waiting until it listens); stop() returns {smsMsgId: times accepted}."""

    def __init__(self, port, failure_ratio, out):
        self.out = out
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(port), str(failure_ratio), str(out)], stdout=subprocess.PIPE, text=True
        )
        self.process.stdout.readline()

    def stop(self):
        self.process.terminate()
        self.process.wait(10)
        return json.loads(self.out.read_text())


def accepted_ids(content_type, raw):
    if "json" in content_type:
        return [report["smsMsgId"] for report in json.loads(raw)["statusReportList"]]
    return parse_qs(raw.decode())["smsMsgId"]


def serve(port, ratio, out):
    rng, accepted = random.Random(7), {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            code = 500 if rng.random() < ratio else 200
            if code == 200:
                for key in accepted_ids(self.headers.get("Content-Type", ""), raw):
                    accepted[key] = accepted.get(key, 0) + 1
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        # socketserver's backlog of 5 drops the SYNs of the pushes' parallel connections beyond it
        # (each retried a second later), which the benchmark would count as the console's slowness.
        request_queue_size = 128

    server = Server(("127.0.0.1", port), Handler)

    def stop(*args):
        with open(out, "w") as file:
            json.dump(accepted, file)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), float(sys.argv[2]), sys.argv[3])
