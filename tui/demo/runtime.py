"""Run the demo cluster: store, API server, simulated controllers and consoles on one loop thread.

`DemoCluster` is what `kvtui --demo`, `python -m tui.demo` and the tests use. The server runs on
its own thread with its own event loop, so neither Textual's loop nor a test's blocking client
calls can stall it.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import yaml
from aiohttp import web

from tui.cluster import kinds as K
from tui.cluster.kinds import Kind, by_gvk
from tui.demo import admission, schema, seed
from tui.demo.console import ConsoleHub
from tui.demo.controllers import Simulator
from tui.demo.errors import ApiError, invalid
from tui.demo.real_guests import RealGuestPool, enabled_from_env
from tui.demo.server import ApiServer, RequestRecord, User
from tui.demo.store import Store
from tui.demo.tls import ServingCert, make_serving_cert
from tui.demo.virtapi import VirtApi
from tui.kubevirt.templates import TemplateError, process_template

T = TypeVar("T")

ADMIN_USER = "kvtui-admin"
VIEWER_USER = "kvtui-viewer"
HIDDEN_FROM_VIEWER = frozenset({"vm-prod"})
CONTEXT = "kvtui-demo"
VIEWER_CONTEXT = "kvtui-demo-viewer"


def admit(kind: Kind, obj: dict[str, Any], old: dict[str, Any] | None) -> list[str]:
    """KubeVirt's validating webhooks: warnings back, or a 422 with field causes."""
    result = admission.admit(kind.kind, obj, old)
    if result.allowed:
        return list(result.warnings)
    causes = [
        {
            "reason": c.get("type", "FieldValueInvalid"),
            "message": c.get("message", ""),
            "field": c.get("field", ""),
        }
        for c in result.causes
    ]
    name = obj.get("metadata", {}).get("name", "")
    raise invalid(kind, name, causes, admission.denial_message(kind.kind, result))


def unknown_fields(kind: Kind, obj: dict[str, Any]) -> list[str]:
    return schema.unknown_fields(kind.kind, obj)


def process(template: dict[str, Any]) -> dict[str, Any]:
    try:
        return process_template(template)
    except TemplateError as exc:
        raise invalid(
            K.TEMPLATES, template.get("metadata", {}).get("name", ""), exc.causes
        ) from exc


class DemoCluster:
    """A local Kubernetes API server with KubeVirt and CDI simulated behind it."""

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        seed_data: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        history_limit: int = 5000,
        bookmark_interval: float = 60.0,
        real_guests: bool | None = None,
        real_guest_limit: int | None = None,
    ) -> None:
        """`real_guests`: back running VMIs (up to `real_guest_limit`, default 2) with real
        tiny QEMU guests where the machine allows (tui/demo/real_guests.py); None reads
        $KVTUI_DEMO_REAL_GUESTS ("1", or the limit). `real_guests_reason` says why not."""
        self.time_scale = time_scale
        self.seed_data = seed_data
        self.host = host
        self.port = port
        self.history_limit = history_limit
        self.bookmark_interval = bookmark_interval
        self.token = secrets.token_hex(24)
        self.tls: ServingCert = make_serving_cert((host, "localhost"))
        self.viewer_token = secrets.token_hex(24)
        from_env, env_limit = enabled_from_env()
        self.real_guests_wanted = from_env if real_guests is None else real_guests
        self.real_guest_limit = real_guest_limit if real_guest_limit is not None else env_limit
        self.real_guests: RealGuestPool | None = None
        self.real_guests_reason = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopped: asyncio.Event | None = None
        self.store: Store | None = None
        self.server: ApiServer | None = None
        self.simulator: Simulator | None = None
        self.console: ConsoleHub | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def write_ca(self, path: str | Path) -> Path:
        """The CA that signed the server's certificate, for clients that want a file."""
        path = Path(path)
        path.write_bytes(self.tls.ca_pem)
        return path

    @property
    def requests(self) -> list[RequestRecord]:
        assert self.server is not None
        return self.server.requests

    # -- starting and stopping ---------------------------------------------------------

    def start(self, timeout: float = 30.0) -> DemoCluster:
        """Start on a background thread; returns once the server listens."""
        ready: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="kvtui-demo", daemon=True
        )
        self._thread.start()
        ready.result(timeout)
        return self

    def _run(self, ready: Future[None]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main(ready))
        except BaseException as exc:  # report start-up failures to the starter
            if not ready.done():
                ready.set_exception(exc)
        finally:
            loop.close()

    async def _main(self, ready: Future[None]) -> None:
        self._stopped = asyncio.Event()
        # A restart keeps the objects, as etcd outlives an API server restart; the rest is new.
        restarted = self.store is not None
        store = self.store or Store(history_limit=self.history_limit)
        store.watchers.clear()
        store.listeners.clear()
        if self.real_guests_wanted and self.real_guests is None:
            # Finding (and maybe building) the guest reads a few files: not on the loop.
            pool = await asyncio.to_thread(RealGuestPool, self.real_guest_limit)
            self.real_guests_reason = pool.reason
            self.real_guests = pool if pool.available else None
        console = ConsoleHub(store, time_scale=self.time_scale, real_guests=self.real_guests)
        simulator = Simulator(
            store,
            time_scale=self.time_scale,
            on_vmi_running=console.vmi_running,
            on_vmi_stopped=console.vmi_stopped,
        )
        users = {
            self.token: User(ADMIN_USER),
            self.viewer_token: User(
                VIEWER_USER, read_only=True, hidden_namespaces=HIDDEN_FROM_VIEWER
            ),
        }
        server = ApiServer(
            store,
            users,
            virtapi=VirtApi(store, simulator),
            console=console,
            admit=admit,
            unknown_fields=unknown_fields,
            process_template=process,
            bookmark_interval=self.bookmark_interval,
        )
        self.store, self.server, self.simulator, self.console = store, server, simulator, console
        if not restarted:
            objects = seed.seed_objects()
            if not self.seed_data:  # an empty cluster still has its namespaces and nodes
                objects = [o for o in objects if o["kind"] in ("Namespace", "Node", "StorageClass")]
            load(store, objects)
        await simulator.start()
        if self.seed_data and not restarted:
            simulator.apply_seed_actions(seed.seed_actions())
        runner = web.AppRunner(server.app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(
            runner, self.host, self.port, reuse_address=True, ssl_context=self.tls.server_context()
        )
        await site.start()
        self._runner = runner
        sockets = site._server.sockets if site._server else []  # the ephemeral port we got
        if sockets:
            self.port = sockets[0].getsockname()[1]
        ready.set_result(None)
        await self._stopped.wait()
        # Stop listening before ending the watches: a client that re-watches at once (as
        # informers do) must find the door closed, not open a stream nothing will end.
        await site.stop()
        server.closing = True
        server.stop_watches()
        await console.close()
        await simulator.stop()
        await runner.cleanup()

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is None or self._stopped is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(timeout)
        self._loop = None

    def __enter__(self) -> DemoCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- reaching in (tests, benchmarks) ---------------------------------------------------

    def call(self, fn: Callable[[Store], T], timeout: float = 10.0) -> T:
        """Run `fn(store)` on the server's loop thread and return its result."""
        assert self._loop is not None and self.store is not None
        store = self.store

        async def run() -> T:
            return fn(store)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def drop_watches(self) -> None:
        """End every open watch stream, as an API server restart or a load balancer would."""
        assert self._loop is not None and self.server is not None
        self._loop.call_soon_threadsafe(self.server.stop_watches)

    # -- kubeconfig ----------------------------------------------------------------------

    def kubeconfig(self) -> dict[str, Any]:
        cluster = {
            "name": CONTEXT,
            "cluster": {
                "server": self.url,
                "certificate-authority-data": base64.b64encode(self.tls.ca_pem).decode(),
            },
        }
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [cluster],
            "users": [
                {"name": ADMIN_USER, "user": {"token": self.token}},
                {"name": VIEWER_USER, "user": {"token": self.viewer_token}},
            ],
            "contexts": [
                {
                    "name": CONTEXT,
                    "context": {"cluster": CONTEXT, "user": ADMIN_USER, "namespace": "default"},
                },
                {
                    "name": VIEWER_CONTEXT,
                    "context": {"cluster": CONTEXT, "user": VIEWER_USER, "namespace": "vm-dev"},
                },
            ],
            "current-context": CONTEXT,
        }

    def write_kubeconfig(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.kubeconfig(), sort_keys=False))
        path.chmod(0o600)  # it holds bearer tokens
        return path


def load(store: Store, objects: list[dict[str, Any]]) -> None:
    """Create seed objects; nodes and plain PVCs carry a status no controller would write."""
    for obj in objects:
        kind = by_gvk(obj["apiVersion"], obj["kind"])
        try:
            created, _ = store.create(kind, obj)
        except ApiError as exc:
            raise RuntimeError(
                f"seed object {obj['kind']} {obj['metadata'].get('name')}: {exc.message}"
            ) from exc
        if kind.has_status and obj.get("status"):
            created["status"] = copy.deepcopy(obj["status"])
            store.update(kind, created, internal=True)
