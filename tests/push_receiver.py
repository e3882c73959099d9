"""A real HTTP receiver on a free loopback port for push tests: answers each POST as its script
says (an HTTP status, or "slow" to answer 200 only after `slow_seconds`), then 200, and records
every request it read."""

import contextlib
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: the pushes' eight parallel connections overflowed it,
    # and each SYN the kernel dropped was sent again a second later (490 pushes took 10 s, now 0.2 s).
    request_queue_size = 128


class Receiver:
    def __init__(self, script=(), slow_seconds=2.0):
        self.script = list(script)
        self.slow_seconds = slow_seconds
        self.requests = []  # (content type, body as parsed, the status answered)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kind = self.headers.get("Content-Type", "")
                body = json.loads(raw) if "json" in kind else {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                with receiver.lock:
                    answer = receiver.script.pop(0) if receiver.script else 200
                if answer == "slow":
                    time.sleep(receiver.slow_seconds)
                    answer = 200
                with receiver.lock:
                    receiver.requests.append((kind, body, answer))
                self.send_response(answer)
                self.send_header("Content-Length", "2")
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mo"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def delivered(self):
        """Bodies answered 2xx, in order."""
        return [body for _kind, body, status in self.requests if 200 <= status < 300]


def deliver_all(now):
    """Delivers every pending push in this process, moving the clock to the next attempt when none is due."""
    from django.db.models import Min

    from campaigns import push
    from campaigns.models import Push

    pending = Push.objects.filter(status=Push.Status.PENDING)
    while pending.exists():
        if push.deliver_due(now=now)["claimed"] == 0:
            now = pending.aggregate(at=Min("next_attempt_at"))["at"] + timedelta(milliseconds=1)
