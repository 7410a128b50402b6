"""Informer edge cases against a scripted HTTP stub (the demo server covers the rest)."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kubernetes import client

from tui.cluster import kinds as K
from tui.cluster.informer import Informer, InformerEvent, InformerState


def wait_until(predicate, timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def pod(name: str, rv: int) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv)}}


class Stub:
    """A tiny API server: lists answer `items`; each watch takes the next scripted answer."""

    def __init__(self) -> None:
        # Successive list answers as (resourceVersion, items); the last one repeats.
        self.lists: list[tuple[str, list[dict[str, Any]]]] = [("1", [])]
        self.watches: queue.Queue = queue.Queue()
        self.requests: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 - http.server API
                stub.requests.append(self.path)
                if "watch=true" in self.path:
                    stub.answer_watch(self)
                else:
                    rv, items = stub.lists.pop(0) if len(stub.lists) > 1 else stub.lists[0]
                    body = json.dumps(
                        {
                            "kind": "PodList",
                            "apiVersion": "v1",
                            "metadata": {"resourceVersion": rv},
                            "items": items,
                        }
                    ).encode()
                    self.send(200, body)

            def send(self, code: int, body: bytes, close: bool = False) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if close:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer_watch(self, handler: BaseHTTPRequestHandler) -> None:
        # Decided at once: a real API server sends a watch's headers straight away.
        try:
            script = self.watches.get_nowait()
        except queue.Empty:
            script = ("hold", [])
        action, payload = script
        if action == "status":
            code, status = payload
            handler.send(code, json.dumps(status).encode(), close=True)
            return
        # A close-delimited stream (HTTP/1.0 style, no chunking): events, then hold or close.
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Connection", "close")
        handler.end_headers()
        for line in payload:
            handler.wfile.write(
                (line if isinstance(line, str) else json.dumps(line)).encode() + b"\n"
            )
            handler.wfile.flush()
        if action == "hold":
            time.sleep(30)  # an idle watch: only the informer's stop() ends it early
        handler.close_connection = True

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[Stub]:
    s = Stub()
    yield s
    s.close()


@pytest.fixture
def api(stub: Stub) -> client.ApiClient:
    cfg = client.Configuration()
    cfg.host = stub.url
    return client.ApiClient(cfg)


def run(api, **kw) -> tuple[Informer, list[InformerEvent]]:
    events: list[InformerEvent] = []
    informer = Informer(api, K.PODS, "ns", backoff_initial=0.05, backoff_max=0.2, **kw)
    informer.add_listener(events.extend)
    informer.start()
    return informer, events


def gone(message: str = "too old resource version: 1 (5)") -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": "Expired",
        "code": 410,
    }


def test_http_410_on_watch_relists_and_diffs(stub, api):
    stub.lists = [("1", [pod("a", 1), pod("b", 1)]), ("9", [pod("a", 7), pod("c", 8)])]
    stub.watches.put(("status", (410, gone())))
    informer, events = run(api)
    try:
        wait_until(lambda: informer.list_count == 2, what="the relist after 410")
        wait_until(lambda: [e.type for e in events].count("SYNCED") == 2, what="two SYNCED")
        changes = sorted((e.type, e.obj["metadata"]["name"]) for e in events if e.obj)
        assert changes == [
            ("ADDED", "a"),
            ("ADDED", "b"),
            ("ADDED", "c"),
            ("DELETED", "b"),
            ("MODIFIED", "a"),
        ]
        assert informer.resource_version == "9"
        assert informer.items()[0]["kind"] == "Pod"  # list items get kind filled in
    finally:
        informer.stop()


def test_error_event_with_410_relists(stub, api):
    stub.lists = [("1", [pod("a", 1)])]
    stub.watches.put(("close", [{"type": "ERROR", "object": gone()}]))
    informer, events = run(api)
    try:
        wait_until(lambda: informer.list_count == 2, what="the relist after an ERROR event")
        assert informer.state is InformerState.SYNCED
    finally:
        informer.stop()


def test_other_error_events_relist_after_a_backoff(stub, api):
    stub.lists = [("1", [pod("a", 1)])]
    internal = {"kind": "Status", "code": 500, "reason": "InternalError", "message": "etcd hiccup"}
    stub.watches.put(("close", [{"type": "ERROR", "object": internal}]))
    informer, events = run(api)
    try:
        wait_until(lambda: [e.type for e in events].count("SYNCED") == 2, what="the relist")
        states = [e.state for e in events if e.type == "STATE"]
        assert InformerState.ERROR in states and states[-1] is InformerState.SYNCED
        error = next(
            e.error for e in events if e.type == "STATE" and e.state is InformerState.ERROR
        )
        assert error.status == 500 and "etcd hiccup" in str(error)
    finally:
        informer.stop()


def test_close_delimited_streams_bookmarks_and_duplicates(stub, api):
    stub.lists = [("1", [pod("a", 1)])]
    stub.watches.put(
        (
            "close",
            [
                {"type": "MODIFIED", "object": pod("a", 2)},
                {
                    "type": "BOOKMARK",
                    "object": {"kind": "Pod", "metadata": {"resourceVersion": "4"}},
                },
            ],
        )
    )
    # The resumed watch replays an event the informer already has, then a new one.
    stub.watches.put(
        (
            "hold",
            [{"type": "MODIFIED", "object": pod("a", 2)}, {"type": "ADDED", "object": pod("b", 5)}],
        )
    )
    informer, events = run(api)
    try:
        wait_until(lambda: len([e for e in events if e.obj]) >= 3, what="three changes")
        changes = [
            (e.type, e.obj["metadata"]["name"], e.obj["metadata"]["resourceVersion"])
            for e in events
            if e.obj
        ]
        assert changes == [("ADDED", "a", "1"), ("MODIFIED", "a", "2"), ("ADDED", "b", "5")]
        watches = [r for r in stub.requests if "watch=true" in r]
        assert "resourceVersion=1&" in watches[0] or watches[0].endswith("resourceVersion=1")
        assert "resourceVersion=4" in watches[1]  # resumed from the bookmark
        assert informer.list_count == 1
    finally:
        informer.stop()


def test_garbage_in_the_stream_resumes_from_the_last_good_event(stub, api):
    stub.lists = [("1", [])]
    stub.watches.put(("close", [{"type": "ADDED", "object": pod("a", 2)}, "{not json"]))
    stub.watches.put(("hold", [{"type": "ADDED", "object": pod("b", 3)}]))
    informer, events = run(api)
    try:
        wait_until(lambda: informer.get("ns", "b") is not None, what="b")
        assert informer.list_count == 1
        assert "resourceVersion=2" in [r for r in stub.requests if "watch=true" in r][1]
    finally:
        informer.stop()


def test_a_listener_that_raises_does_not_stop_the_others(stub, api):
    stub.lists = [("1", [pod("a", 1)])]
    informer = Informer(api, K.PODS, "ns")
    good: list[InformerEvent] = []

    def bad(batch):
        raise RuntimeError("boom")

    informer.add_listener(bad)
    informer.add_listener(good.extend)
    informer.start()
    try:
        wait_until(lambda: any(e.type == "SYNCED" for e in good), what="SYNCED")
    finally:
        informer.stop()


def test_unreachable_from_the_start_is_disconnected_then_recovers(api, stub):
    # Point at a closed port first, then at the stub: the same informer gets there by itself.
    api.configuration.host = "http://127.0.0.1:9"
    api.rest_client.pool_manager.clear()
    informer, events = run(api)
    try:
        wait_until(lambda: informer.state is InformerState.DISCONNECTED, what="DISCONNECTED")
        assert informer.last_error.transport
        assert (
            str(informer.last_error)
            == "Cannot reach the cluster at http://127.0.0.1:9: connection refused"
        )
        api.configuration.host = stub.url
        wait_until(lambda: informer.state is InformerState.SYNCED, what="SYNCED")
        assert informer.last_error is None
    finally:
        informer.stop()


def test_stop_returns_at_once_while_a_watch_is_open(stub, api):
    informer, events = run(api)
    wait_until(lambda: informer.state is InformerState.SYNCED, what="SYNCED")
    wait_until(lambda: informer.watch_count == 1, what="the watch")
    time.sleep(0.1)
    t0 = time.monotonic()
    informer.stop()
    assert time.monotonic() - t0 < 0.5
    assert not informer._thread.is_alive() and not informer._dispatcher.is_alive()
    assert events[-1].type == "STATE" and events[-1].state is InformerState.STOPPED


def test_pause_closes_the_stream_and_resume_picks_up(stub, api):
    stub.lists = [("1", [pod("a", 1)])]
    informer, events = run(api)
    try:
        wait_until(lambda: informer.watch_count == 1, what="the watch")
        informer.pause()
        wait_until(lambda: informer.state is InformerState.PAUSED, what="PAUSED")
        stub.watches.put(("hold", [{"type": "ADDED", "object": pod("b", 2)}]))
        informer.resume()
        wait_until(lambda: informer.get("ns", "b") is not None, what="b after resume")
        assert informer.list_count == 1
        wait_until(lambda: informer.state is InformerState.SYNCED, what="SYNCED")
    finally:
        informer.stop()
