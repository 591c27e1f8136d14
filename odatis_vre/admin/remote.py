"""Run code in a kernel of a running user server, over the Jupyter REST + websocket API.

Used by the health check (``odatis-vre check``), the tests and workshops to act inside a
real server exactly as a notebook would.

>>> out = run_code("http://127.0.0.1:8000/user/ann/", token, "print(1 + 1)")   # doctest: +SKIP
>>> out.stdout
'2\\n'
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect


class RemoteError(RuntimeError):
    """The code raised in the remote kernel; ``.ename``/``.evalue`` say what."""

    def __init__(self, ename: str, evalue: str, traceback: list[str]):
        super().__init__(f"{ename}: {evalue}")
        self.ename, self.evalue, self.traceback = ename, evalue, traceback


@dataclass
class Output:
    stdout: str = ""
    stderr: str = ""
    result: str | None = None
    display: list[dict[str, Any]] = field(default_factory=list)


def _msg(code: str, session: str) -> dict[str, Any]:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "username": "odatis-vre",
            "session": session,
            "msg_type": "execute_request",
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "channel": "shell",
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
    }


async def _execute(ws_url: str, headers: dict[str, str], code: str, timeout: float) -> Output:
    # the server answers the websocket upgrade once the kernel is ready: on a busy machine a new kernel
    # (run below the hub's priority) can take longer than any fixed connect timeout, so the caller's budget applies
    conn = await websocket_connect(
        HTTPRequest(ws_url, headers=headers, connect_timeout=timeout, request_timeout=timeout)
    )
    session = uuid.uuid4().hex
    req = _msg(code, session)
    await conn.write_message(json.dumps(req))
    out = Output()
    error: RemoteError | None = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"the kernel did not finish within {timeout:.0f} s")
            raw = await asyncio.wait_for(conn.read_message(), remaining)
            if raw is None:
                raise ConnectionError("the kernel's websocket closed before the code finished")
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != req["header"]["msg_id"]:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    out.stdout += content["text"]
                else:
                    out.stderr += content["text"]
            elif kind == "execute_result":
                out.result = content["data"].get("text/plain")
            elif kind == "display_data":
                out.display.append(content["data"])
            elif kind == "error":
                error = RemoteError(content["ename"], content["evalue"], content.get("traceback", []))
            elif kind == "status" and content["execution_state"] == "idle":
                break
    finally:
        conn.close()
    if error:
        raise error
    return out


def start_kernel(server_url: str, token: str, name: str = "python3") -> str:
    r = requests.post(
        server_url.rstrip("/") + "/api/kernels",
        json={"name": name},
        headers={"Authorization": f"token {token}"},
        timeout=60,
    )
    r.raise_for_status()
    return r.json()["id"]


def run_code(server_url: str, token: str, code: str, *, kernel_id: str | None = None, timeout: float = 300) -> Output:
    """Execute ``code`` in a kernel of the server at ``server_url`` (``.../user/<name>/``).

    A kernel is started when ``kernel_id`` is not given (and left running, like a notebook's). Raises
    :class:`RemoteError` if the code raises, with the remote exception's name and value.
    """
    kid = kernel_id or start_kernel(server_url, token)
    ws = server_url.rstrip("/").replace("http://", "ws://").replace("https://", "wss://")
    ws_url = f"{ws}/api/kernels/{kid}/channels"
    return asyncio.run(_execute(ws_url, {"Authorization": f"token {token}"}, code, timeout))
