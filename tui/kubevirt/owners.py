"""Which VM an object is about: where `enter` on a VMI, DataVolume, snapshot, migration or
event takes the user (that VM's details), as the OpenShift console links them.

Pure functions over untrusted manifests; None when the object names no VM (a standalone
VMI, a DataVolume nobody owns, an event about a node), and the list then shows its YAML.
"""

from __future__ import annotations

from typing import Any

from tui.kubevirt.untrusted import as_dict, as_list, as_str

VM_KINDS = frozenset({"VirtualMachine", "VirtualMachineInstance"})


def _owner_vm(meta: dict[str, Any]) -> str:
    for ref in as_list(meta.get("ownerReferences")):
        ref = as_dict(ref)
        if ref.get("kind") == "VirtualMachine" and as_str(ref.get("name")):
            return as_str(ref.get("name"))
    return ""


def owning_vm(view: str, obj: dict[str, Any]) -> tuple[str, str] | None:
    """(namespace, VM name) the object of list `view` ("vmi", "dv", "snap", "vmim", "ev")
    belongs to, or None."""
    meta = as_dict(obj.get("metadata"))
    namespace = as_str(meta.get("namespace"))
    spec = as_dict(obj.get("spec"))
    name = ""
    if view == "vmi":
        # A VM's VMI carries the VM as its controller owner, and always the VM's name.
        name = _owner_vm(meta)
    elif view == "dv":
        name = _owner_vm(meta)
    elif view == "snap":
        source = as_dict(spec.get("source"))
        if source.get("kind") == "VirtualMachine":
            name = as_str(source.get("name"))
    elif view == "vmim":
        # A migration names the VMI; a VM's VMI has the VM's name.
        name = as_str(spec.get("vmiName"))
    elif view == "ev":
        involved = as_dict(obj.get("involvedObject"))
        if involved.get("kind") in VM_KINDS:
            name = as_str(involved.get("name"))
            namespace = as_str(involved.get("namespace")) or namespace
    if not name or not namespace:
        return None
    return namespace, name


def node_name(obj: dict[str, Any]) -> str:
    """A Node object's name (enter on a node: the VMs running there)."""
    return as_str(as_dict(obj.get("metadata")).get("name"))
