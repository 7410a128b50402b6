"""Which VM `enter` on another kind's row opens (tui.kubevirt.owners)."""

from __future__ import annotations

from typing import Any

import pytest

from tui.kubevirt.owners import owning_vm

OWNED = {
    "metadata": {
        "name": "web-01-rootdisk",
        "namespace": "vm-prod",
        "ownerReferences": [
            {"kind": "Pod", "name": "not-this"},
            {"kind": "VirtualMachine", "name": "web-01", "controller": True},
        ],
    }
}


@pytest.mark.parametrize(
    ("view", "obj", "expected"),
    [
        ("vmi", OWNED, ("vm-prod", "web-01")),
        ("vmi", {"metadata": {"name": "standalone", "namespace": "a"}}, None),
        ("dv", OWNED, ("vm-prod", "web-01")),
        ("dv", {"metadata": {"name": "golden", "namespace": "os-images"}}, None),
        (
            "snap",
            {
                "metadata": {"name": "s", "namespace": "a"},
                "spec": {"source": {"kind": "VirtualMachine", "name": "db"}},
            },
            ("a", "db"),
        ),
        (
            "snap",
            {"metadata": {"name": "s", "namespace": "a"}, "spec": {"source": {"kind": "PVC"}}},
            None,
        ),
        ("vmim", {"metadata": {"namespace": "a"}, "spec": {"vmiName": "db"}}, ("a", "db")),
        (
            "ev",
            {
                "metadata": {"namespace": "a"},
                "involvedObject": {"kind": "VirtualMachineInstance", "name": "db"},
            },
            ("a", "db"),
        ),
        ("ev", {"metadata": {"namespace": "a"}, "involvedObject": {"kind": "Node"}}, None),
        # Untrusted shapes never raise.
        ("dv", {"metadata": {"ownerReferences": "junk", "namespace": 3}}, None),
        ("snap", {"spec": ["junk"]}, None),
        ("ev", {"involvedObject": None}, None),
        ("it", OWNED, None),
    ],
)
def test_owning_vm(view: str, obj: dict[str, Any], expected: tuple[str, str] | None) -> None:
    assert owning_vm(view, obj) == expected
