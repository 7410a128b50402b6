"""The VMI console websocket: KubeVirt's wire protocol, its refusals, and one viewer at a time."""

from __future__ import annotations

import json

import aiohttp
import pytest
from kubernetes import client
from kvtest import wait_for

SUB = "/apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachineinstances/{name}/console"


def running_vmi(api: client.ApiClient, ns: str, name: str) -> dict:
    co = client.CustomObjectsApi(api)

    def ready() -> dict | None:
        try:
            vmi = co.get_namespaced_custom_object(
                "kubevirt.io", "v1", ns, "virtualmachineinstances", name
            )
        except client.ApiException:
            return None
        return vmi if vmi.get("status", {}).get("phase") == "Running" else None

    return wait_for(ready, timeout=30, what=f"VMI {ns}/{name} Running")


async def read_until(
    ws: aiohttp.ClientWebSocketResponse, needle: bytes, timeout: float = 10.0
) -> bytes:
    """Collect binary frames until `needle` shows up."""
    buf = b""
    while needle not in buf:
        msg = await ws.receive(timeout=timeout)
        if msg.type != aiohttp.WSMsgType.BINARY:
            raise AssertionError(f"unexpected {msg.type} after {buf[-200:]!r}")
        buf += msg.data
    return buf


async def shell(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Get to a shell prompt whatever state an earlier viewer left the guest in."""
    await ws.send_bytes(b"\r")
    buf = b""
    while not (buf.endswith(b"login: ") or buf.endswith(b"$ ")):
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.BINARY, msg
        buf += msg.data
    if buf.endswith(b"login: "):
        await ws.send_bytes(b"fedora\r")
        await read_until(ws, b"Password: ")
        await ws.send_bytes(b"fedora\r")
        await read_until(ws, b"$ ")


def headers(demo) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo.token}"}


async def test_console_speaks_plain_kubevirt_io_and_reaches_a_shell(demo, api) -> None:
    running_vmi(api, "default", "testvm")
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=demo.tls.client_context())
    ) as http:
        async with http.ws_connect(
            demo.url + SUB.format(ns="default", name="testvm"),
            protocols=("plain.kubevirt.io",),
            headers=headers(demo),
        ) as ws:
            assert ws.protocol == "plain.kubevirt.io"
            await ws.send_str("ignored\r")  # text frames are dropped, as virt-handler drops them
            await ws.send_bytes(b"\r")
            await read_until(ws, b"login: ")
            await ws.send_bytes(b"fedora\r")
            await read_until(ws, b"Password: ")
            await ws.send_bytes(b"fedora\r")
            await read_until(ws, b"$ ")
            await ws.send_bytes(b"echo hello-$((6*7))\r")
            out = await read_until(ws, b"hello-42")
            assert b"ignored" not in out


async def test_second_viewer_cuts_off_the_first(demo, api) -> None:
    running_vmi(api, "default", "testvm")
    url = demo.url + SUB.format(ns="default", name="testvm")
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=demo.tls.client_context())
    ) as http:
        first = await http.ws_connect(url, protocols=("plain.kubevirt.io",), headers=headers(demo))
        second = await http.ws_connect(url, protocols=("plain.kubevirt.io",), headers=headers(demo))
        # The first viewer may still be handed what the guest printed before the second came
        # (a freshly started guest's boot log); after that its socket just drops: no close
        # frame, as with virt-handler (client sees 1006).
        msg = await first.receive(timeout=5)
        while msg.type is aiohttp.WSMsgType.BINARY:
            msg = await first.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
        assert first.close_code in (None, 1006)
        await shell(second)
        await second.send_bytes(b"echo still-$((40+2))\r")
        await read_until(second, b"still-42")
        await second.close()


@pytest.mark.parametrize(
    ("ns", "name", "status", "text"),
    [
        (
            "default",
            "no-such-vm",
            404,
            'virtualmachineinstances.kubevirt.io "no-such-vm" not found',
        ),
        ("vm-prod", "ml-train-01", 400, "VMI is not running"),  # unschedulable: never Running
    ],
)
async def test_console_refusals_before_upgrade(
    demo, api, ns: str, name: str, status: int, text: str
) -> None:
    if name == "ml-train-01":
        wait_for(
            lambda: client.CustomObjectsApi(api).list_namespaced_custom_object(
                "kubevirt.io",
                "v1",
                ns,
                "virtualmachineinstances",
                field_selector=f"metadata.name={name}",
            )["items"],
            what="the unschedulable VMI",
        )
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=demo.tls.client_context())
    ) as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await http.ws_connect(
                demo.url + SUB.format(ns=ns, name=name),
                protocols=("plain.kubevirt.io",),
                headers=headers(demo),
            )
        assert err.value.status == status
        async with http.get(demo.url + SUB.format(ns=ns, name=name), headers=headers(demo)) as resp:
            body = json.loads(await resp.text())
        assert resp.status == status and body["kind"] == "Status" and body["message"] == text


async def test_console_needs_the_token(demo) -> None:
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=demo.tls.client_context())
    ) as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await http.ws_connect(
                demo.url + SUB.format(ns="default", name="testvm"), protocols=("plain.kubevirt.io",)
            )
        assert err.value.status == 401
