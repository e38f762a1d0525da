"""A local stand-in for the Tencent Cloud SMS API (``SendSms``, version 2021-01-11), for tests.

A tiny ``http.server`` on 127.0.0.1 that answers like the real API: ``{"Response": {"SendStatusSet":
[…], "RequestId": …}}`` on success, ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`` for an
API error, or a per-number status code (``SendStatusSet[0].Code`` other than ``Ok``). It checks that
the request is signed (TC3-HMAC-SHA256 with the expected secret id) and records every request.

    with SmsStub() as stub:             # stub.endpoint == "127.0.0.1:PORT"
        stub.fail_next("InternalError", times=2)      # the next two calls fail with an API error
        stub.status_next("LimitExceeded.PhoneNumberDailyLimit")  # the next call: a per-number error
        ... stub.requests ...           # [{"action", "headers", "body"}]
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET_ID = "AKIDstubstubstubstub"
SECRET_KEY = "stub-secret-key"
APP_ID = "1400000000"


class SmsStub:
    def __init__(self, secret_id: str = SECRET_ID, delay: float = 0.0):
        self.secret_id = secret_id
        self.delay = delay  # seconds each answer takes (a real service's latency)
        self.requests: list[dict] = []
        self._plan: list[tuple[str, str]] = []  # ("error" | "status", code) for the next calls
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                time.sleep(stub.delay)
                answer = stub._answer(self.headers.get("X-TC-Action", ""), dict(self.headers), body)
                data = json.dumps({"Response": answer}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SmsStub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, code: str = "InternalError", times: int = 1) -> None:
        with self._lock:
            self._plan += [("error", code)] * times

    def status_next(self, code: str, times: int = 1) -> None:
        with self._lock:
            self._plan += [("status", code)] * times

    @property
    def sent(self) -> list[dict]:
        return [r["body"] for r in self.requests if r["action"] == "SendSms"]

    def _answer(self, action: str, headers: dict, body: dict) -> dict:
        request_id = str(uuid.uuid4())
        with self._lock:
            self.requests.append({"action": action, "headers": headers, "body": body})
            plan = self._plan.pop(0) if self._plan else None
        auth = headers.get("Authorization", "")
        if not auth.startswith("TC3-HMAC-SHA256") or f"Credential={self.secret_id}/" not in auth:
            return _error("AuthFailure.SecretIdNotFound", "The SecretId is not found.", request_id)
        if action != "SendSms":
            return _error("InvalidAction", f"The action `{action}` is not found.", request_id)
        if plan and plan[0] == "error":
            return _error(plan[1], "stub: the service failed", request_id)
        phones = body.get("PhoneNumberSet") or []
        if not phones or not body.get("TemplateId") or not body.get("SmsSdkAppId"):
            return _error("MissingParameter", "stub: a required parameter is missing", request_id)
        code = plan[1] if plan else "Ok"
        return {
            "SendStatusSet": [
                {
                    "SerialNo": f"2433:{uuid.uuid4().int % 10**20}",
                    "PhoneNumber": phone,
                    "Fee": 1 if code == "Ok" else 0,
                    "SessionContext": body.get("SessionContext", ""),
                    "Code": code,
                    "Message": "send success" if code == "Ok" else "stub: refused",
                    "IsoCode": "CN",
                }
                for phone in phones
            ],
            "RequestId": request_id,
        }


def _error(code: str, message: str, request_id: str) -> dict:
    return {"Error": {"Code": code, "Message": message}, "RequestId": request_id}
