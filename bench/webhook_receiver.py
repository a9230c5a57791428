"""A webhook receiver for events_throughput.py: a bare ASGI app (run by uvicorn on 127.0.0.1)
that answers 200 at once, counts each delivery by its `webhook-id`, and keeps the first few
requests whole so that the benchmark can check their signatures with `standardwebhooks`.

`GET /stats` answers what it saw: deliveries, distinct event ids, the times (Unix seconds) of
the first and the last, and the kept samples; `POST /reset` forgets everything.
"""

import json
import time
from collections import Counter
from typing import Any

SAMPLES_KEPT = 50

seen: Counter[str] = Counter()
times: list[float] = []
samples: list[dict[str, Any]] = []


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Any, status: int, body: bytes = b"") -> None:
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _stats() -> bytes:
    return json.dumps(
        {
            "deliveries": sum(seen.values()),
            "events": len(seen),
            "repeated": sum(1 for n in seen.values() if n > 1),
            "first": times[0] if times else None,
            "last": times[-1] if times else None,
            "samples": samples,
        }
    ).encode()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path, method = scope["path"], scope["method"]
    if path == "/health":
        await _answer(send, 200, b"{}")
    elif path == "/stats":
        await _answer(send, 200, _stats())
    elif path == "/reset" and method == "POST":
        seen.clear()
        times.clear()
        samples.clear()
        await _answer(send, 200, b"{}")
    elif method == "POST":
        body = await _body(receive)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        times.append(time.time())
        seen[headers.get("webhook-id", "")] += 1
        if len(samples) < SAMPLES_KEPT:
            samples.append({"headers": headers, "body": body.decode()})
        await _answer(send, 200, b"{}")
    else:
        await _answer(send, 404, b"{}")
