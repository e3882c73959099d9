"""A small stand-in for a cloud SMS account's send API on loopback, for the HTTP provider's tests.

It checks what the real service checks of a batchSendSms (cloud-sms-spec.md 1.2-1.6: the X-WSSE
headers against the app secret, a form body with from, to of at most 500 numbers and templateId)
and answers as the reference does: 200 with one result per number, or 400/401 with a request
code. `answer(number, fields)` may say a number's status, or "close" (drop the connection without
an answer) or an int (that HTTP status for the whole request).
"""

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from sms.signing import SigningError, parse_wsse


class _Server(ThreadingHTTPServer):
    # socketserver's backlog of 5 drops the SYNs of parallel clients beyond it, each then retried a
    # second later: a stand-in must not make the client under test look slow.
    request_queue_size = 128


class CloudStandIn:
    def __init__(self, app_key, app_secret, answer=None):
        self.app_key, self.app_secret = app_key, app_secret
        self.answer = answer or (lambda number, fields: "000000")
        self.requests = []  # the form fields of every request it took, signed or not
        self.refused = []  # (code, detail) of requests refused for their signature
        self.numbers = []  # every number of every accepted request
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                if self.path != "/sms/batchSendSms/v1":
                    return self.reply(404, {"code": "E000404", "description": "no such URI"})
                fields = {key: values[0] for key, values in parse_qs(body).items()}
                with standin.lock:
                    standin.requests.append(fields)
                try:
                    token = parse_wsse(self.headers.get("Authorization"), self.headers.get("X-WSSE"))
                    if token.app_key != standin.app_key:
                        raise SigningError("E000102", "invalid app_key")
                    token.verify(standin.app_secret, datetime.now(UTC), timedelta(hours=24))
                except SigningError as error:
                    with standin.lock:
                        standin.refused.append((error.code, error.detail))
                    return self.reply(401, {"code": error.code, "description": error.detail})
                if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
                    return self.reply(400, {"code": "E000503", "description": "not a form"})
                numbers = fields.get("to", "").split(",") if fields.get("to") else []
                if not numbers or len(numbers) > 500 or not fields.get("templateId") or not fields.get("from"):
                    return self.reply(400, {"code": "E000503", "description": "bad parameters"})
                answers = [standin.answer(number, fields) for number in numbers]
                if "close" in answers:
                    self.close_connection = True
                    self.connection.shutdown(2)  # taken, never answered
                    return None
                whole = next((answer for answer in answers if isinstance(answer, int)), None)
                with standin.lock:
                    standin.numbers.extend(numbers)
                    first = len(standin.numbers) - len(numbers)
                if whole is not None:
                    return self.reply(whole, {"code": "E000000", "description": "system error"})
                result = [
                    {
                        "originTo": number,
                        "createTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "from": fields["from"],
                        "smsMsgId": f"cloud-{first + n}_{n}",
                        "status": status,
                        "countryId": "CN",
                        "total": 1,
                    }
                    for n, (number, status) in enumerate(zip(numbers, answers, strict=True))
                ]
                return self.reply(200, {"code": "000000", "description": "Success", "result": result})

        return Handler
