"""Admission rules of the demo API server: what KubeVirt's (and CDI's) webhooks would refuse.

The demo cluster (`tui.demo`) is a fake Kubernetes API server. When an object is created or
updated it calls `admit(kind, obj, old)`; if the result carries causes, the server answers
422 `reason: Invalid` with `details.causes` and the message `denial_message()` builds, as the
real API server does when a validating webhook denies a request (KubeVirt
`pkg/util/webhooks/webhooks.go`).

Everything here is pure: no I/O, no cluster look-ups (so nothing that needs other objects,
such as "instancetype not found" or "source PVC not found", is checked), no Textual imports.

The rules follow KubeVirt v1.9 (`pkg/virt-api/webhooks/validating-webhook/admitters/
vms-admitter.go`, `vmi-create-admitter.go`, `pkg/network/admitter/`,
`pkg/storage/admitters/`, `pkg/instancetype/apply/`) and CDI
(`pkg/apiserver/webhooks/datavolume-validate.go`), with their message texts. Where KubeVirt
puts a path in a cause that is not the object's JSON path (e.g. `spec.dataVolumeTemplate[0]`,
`spec.template.spec.domain.volumes[0].name`, `spec.Source.Kind`), the cause here carries the
real JSON path instead, because the TUI uses `field` to point at the offending line.

A few checks are the API server's own (structural schema / ObjectMeta), not a webhook's:
object names, quantity syntax, required fields and JSON types. They produce causes too, with
the API server's message texts, so a client sees the same 422 either way.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# Quantities, names and MAC addresses follow shared rules in `tui.kubevirt` (the VM builder
# uses them too); they are re-exported here, where the demo and its tests look for them.
from tui.kubevirt.names import dns1123_label_errors, dns1123_subdomain_errors
from tui.kubevirt.names import mac_address_error as mac_address_error
from tui.kubevirt.quantity import QUANTITY_PATTERN
from tui.kubevirt.quantity import format_quantity as format_quantity
from tui.kubevirt.quantity import parse_quantity as parse_quantity

# metav1.CauseType values (k8s.io/apimachinery/pkg/apis/meta/v1/types.go).
INVALID = "FieldValueInvalid"
REQUIRED = "FieldValueRequired"
DUPLICATE = "FieldValueDuplicate"
NOT_SUPPORTED = "FieldValueNotSupported"
NOT_FOUND = "FieldValueNotFound"

Cause = dict  # {"type": INVALID | REQUIRED | ..., "field": "spec.x[0].y", "message": "..."}


@dataclass
class AdmissionResult:
    """The verdict on one object: causes (empty = allowed) and warnings for the client."""

    causes: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.causes

    def status_causes(self) -> list[dict]:
        """The causes as `metav1.StatusCause` JSON, which spells the cause type `reason`."""
        return [
            {"reason": c["type"], "message": c["message"], "field": c["field"]} for c in self.causes
        ]


# Validating webhook configurations (KubeVirt virt-operator `components/validations.go`,
# CDI `cdi-apiserver`), used in the "admission webhook ... denied the request" prefix.
WEBHOOK_NAMES: dict[str, str] = {
    "VirtualMachine": "virtualmachine-validator.kubevirt.io",
    "VirtualMachineInstance": "virtualmachineinstances-create-validator.kubevirt.io",
    "VirtualMachineInstanceMigration": "migration-create-validator.kubevirt.io",
    "VirtualMachineSnapshot": "virtualmachinesnapshot-validator.snapshot.kubevirt.io",
    "VirtualMachineRestore": "virtualmachinerestore-validator.snapshot.kubevirt.io",
    "VirtualMachineClone": "vm-clone-validator.kubevirt.io",
    "VirtualMachineExport": "virtualmachineexport-validator.export.kubevirt.io",
    "VirtualMachineInstancetype": "virtualmachineinstancetype-validator.instancetype.kubevirt.io",
    "VirtualMachineClusterInstancetype": (
        "virtualmachineclusterinstancetype-validator.instancetype.kubevirt.io"
    ),
    "VirtualMachinePreference": "virtualmachinepreference-validator.instancetype.kubevirt.io",
    "VirtualMachineClusterPreference": (
        "virtualmachineclusterpreference-validator.instancetype.kubevirt.io"
    ),
    "DataVolume": "datavolume-validate.cdi.kubevirt.io",
}

# KubeVirt joins at most ten cause messages into the webhook's message.
_MAX_MESSAGES = 10


def denial_message(kind_name: str, result: AdmissionResult) -> str:
    """The Status message the API server returns when the webhook denies the request.

    KubeVirt's `ToAdmissionResponse` joins the first ten cause messages with ", " and adds
    "and N more validation errors"; the API server prefixes the webhook's name.
    """
    if result.allowed:
        return ""
    messages = [c["message"] for c in result.causes[:_MAX_MESSAGES]]
    text = ", ".join(messages)
    if len(result.causes) > _MAX_MESSAGES:
        text += f", and {len(result.causes) - _MAX_MESSAGES} more validation errors"
    webhook = WEBHOOK_NAMES.get(kind_name, f"{kind_name.lower()}-validator.kubevirt.io")
    return f'admission webhook "{webhook}" denied the request: {text}'


def _cause(kind: str, path: str, message: str) -> Cause:
    return {"type": kind, "field": path, "message": message}


# --------------------------------------------------------------------------------------
# Small helpers on untyped JSON
# --------------------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _type_cause(path: str, value: Any, expected: str) -> Cause:
    # The structural-schema message of the API server, e.g.
    # 'Invalid value: "string": spec.x in body must be of type array: "string"'.
    got = _json_type(value)
    return _cause(
        INVALID, path, f'Invalid value: "{got}": {path} in body must be of type {expected}: "{got}"'
    )


def _required(path: str) -> Cause:
    return _cause(REQUIRED, path, "Required value")


def _obj(parent: dict, key: str, path: str, causes: list[Cause]) -> dict:
    """parent[key] as a dict ({} when absent); a non-object value is a type cause."""
    value = parent.get(key)
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    causes.append(_type_cause(path, value, "object"))
    return {}


def _items(parent: dict, key: str, path: str, causes: list[Cause]) -> list[tuple[int, dict]]:
    """The object items of the list parent[key] with their indexes; type causes otherwise."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        causes.append(_type_cause(path, value, "array"))
        return []
    out = []
    for idx, item in enumerate(value):
        if isinstance(item, dict):
            out.append((idx, item))
        else:
            causes.append(_type_cause(f"{path}[{idx}]", item, "object"))
    return out


def _is_set(parent: dict, key: str) -> bool:
    # A Go pointer field is set when the key holds anything but null ({} counts).
    return parent.get(key) is not None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _quantity(parent: dict, key: str, path: str, causes: list[Cause]) -> Decimal | None:
    """Parse parent[key] as a quantity if present; an invalid one is the API server's cause."""
    raw = parent.get(key)
    if raw is None:
        return None
    try:
        return parse_quantity(raw)
    except ValueError:
        if isinstance(raw, str):
            causes.append(
                _cause(
                    INVALID,
                    path,
                    f"Invalid value: \"{raw}\": {path} in body should match '{QUANTITY_PATTERN}'",
                )
            )
        else:
            causes.append(_type_cause(path, raw, "string"))
        return None


def _int_field(parent: dict, key: str, path: str, causes: list[Cause]) -> int | None:
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        causes.append(_type_cause(path, value, "integer"))
        return None
    return value


def _validate_object_name(obj: dict) -> list[Cause]:
    """ObjectMeta rules the API server applies to every custom resource."""
    causes: list[Cause] = []
    meta = _obj(obj, "metadata", "metadata", causes)
    name = meta.get("name")
    if name in (None, ""):
        if not meta.get("generateName"):
            causes.append(_cause(REQUIRED, "metadata.name", "name or generateName is required"))
        return causes
    if not isinstance(name, str):
        return [*causes, _type_cause("metadata.name", name, "string")]
    for err in dns1123_subdomain_errors(name):
        causes.append(_cause(INVALID, "metadata.name", f'Invalid value: "{name}": {err}'))
    return causes


# --------------------------------------------------------------------------------------
# VirtualMachineInstance spec (shared by VMIs and the VM template)
# --------------------------------------------------------------------------------------

VALID_RUN_STRATEGIES = ("Always", "Halted", "Manual", "RerunOnFailure", "Once")
DISK_BUSES = ("virtio", "scsi", "sata", "usb")  # the order KubeVirt prints them in
DISK_TARGETS = ("disk", "lun", "cdrom")
INTERFACE_MODELS = ("e1000", "e1000e", "igb", "ne2k_pci", "pcnet", "rtl8139", "virtio")
INTERFACE_BINDINGS = ("bridge", "masquerade", "sriov", "passtBinding", "binding")
INTERFACE_STATES = ("absent", "down", "up")
VOLUME_SOURCES = (
    "persistentVolumeClaim",
    "sysprep",
    "cloudInitNoCloud",
    "cloudInitConfigDrive",
    "containerDisk",
    "ephemeral",
    "emptyDisk",
    "hostDisk",
    "dataVolume",
    "configMap",
    "secret",
    "downwardAPI",
    "serviceAccount",
    "downwardMetrics",
    "memoryDump",
    "containerPath",
)
_IFACE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_SERIAL_RE = re.compile(r"^[A-Za-z0-9_.+-]+$")
_CLOUD_INIT_MAX = 2048  # bytes of inline user/network data (cloudInitUserMaxLen)
_ONE_M = Decimal(10**6)


def _validate_vmi_spec(spec: Any, base: str, *, creating: bool) -> list[Cause]:
    """Validate a VMI spec found at `base` ("spec" or "spec.template.spec").

    Like KubeVirt's VM admitter, this works on the spec as the defaults would complete it:
    a volume without a disk gets an implicit disk (`SetDefaultVolumeDisk`), and no
    interfaces plus no networks means the default pod network, so neither is a cause.
    """
    causes: list[Cause] = []
    if spec is None:
        return causes  # an empty VM template is the Go zero value, which KubeVirt accepts
    if not isinstance(spec, dict):
        return [_type_cause(base, spec, "object")]
    # Required by the CRD's structural schema.
    if spec.get("domain") is None:
        causes.append(_required(f"{base}.domain"))
    elif isinstance(spec["domain"], dict) and spec["domain"].get("devices") is None:
        causes.append(_required(f"{base}.domain.devices"))
    domain = _obj(spec, "domain", f"{base}.domain", causes)
    devices = _obj(domain, "devices", f"{base}.domain.devices", causes)
    disks = _items(devices, "disks", f"{base}.domain.devices.disks", causes)
    interfaces = _items(devices, "interfaces", f"{base}.domain.devices.interfaces", causes)
    networks = _items(spec, "networks", f"{base}.networks", causes)
    volumes = _items(spec, "volumes", f"{base}.volumes", causes)

    for path, items in (
        (f"{base}.domain.devices.disks", disks),
        (f"{base}.domain.devices.interfaces", interfaces),
        (f"{base}.networks", networks),
    ):
        causes += [
            _required(f"{path}[{idx}].name") for idx, item in items if not _str(item.get("name"))
        ]
    causes += _validate_hostname(spec, base)
    causes += _validate_resources(domain, base)
    causes += _validate_cpu(domain, base)
    if creating:
        causes += _validate_discontinued_bindings(interfaces, base)
    causes += _validate_networks(interfaces, networks, base)
    causes += _validate_boot_order(disks, interfaces, volumes, base)
    causes += _validate_inputs(devices, base)
    causes += _validate_disks(disks, base)
    causes += _validate_firmware(domain, base)
    causes += _validate_volumes(volumes, base)
    causes += _validate_access_credentials(spec, volumes, base)
    return causes


def _validate_hostname(spec: dict, base: str) -> list[Cause]:
    causes: list[Cause] = []
    hostname = _str(spec.get("hostname"))
    if hostname and (errs := dns1123_label_errors(hostname)):
        causes.append(
            _cause(
                INVALID,
                f"{base}.hostname",
                f"{base}.hostname does not conform to the kubernetes DNS_LABEL rules : {', '.join(errs)}",
            )
        )
    subdomain = _str(spec.get("subdomain"))
    if subdomain and (errs := dns1123_subdomain_errors(subdomain)):
        causes.append(
            _cause(
                INVALID,
                f"{base}.subdomain",
                f"{base}.subdomain does not conform to the kubernetes DNS_SUBDOMAIN rules : {', '.join(errs)}",
            )
        )
    return causes


def _validate_resources(domain: dict, base: str) -> list[Cause]:
    """Memory and CPU amounts: syntax first (API server), then KubeVirt's range rules."""
    causes: list[Cause] = []
    rpath = f"{base}.domain.resources"
    resources = _obj(domain, "resources", rpath, causes)
    requests = _obj(resources, "requests", f"{rpath}.requests", causes)
    limits = _obj(resources, "limits", f"{rpath}.limits", causes)
    req_mem = _quantity(requests, "memory", f"{rpath}.requests.memory", causes)
    lim_mem = _quantity(limits, "memory", f"{rpath}.limits.memory", causes)
    _quantity(requests, "cpu", f"{rpath}.requests.cpu", causes)
    _quantity(limits, "cpu", f"{rpath}.limits.cpu", causes)
    memory = _obj(domain, "memory", f"{base}.domain.memory", causes)
    _quantity(memory, "guest", f"{base}.domain.memory.guest", causes)
    _quantity(memory, "maxGuest", f"{base}.domain.memory.maxGuest", causes)
    hugepages = _obj(memory, "hugepages", f"{base}.domain.memory.hugepages", causes)
    _quantity(hugepages, "pageSize", f"{base}.domain.memory.hugepages.pageSize", causes)

    req_path, lim_path = f"{rpath}.requests.memory", f"{rpath}.limits.memory"
    if req_mem is not None:
        if req_mem < 0:
            causes.append(
                _cause(
                    INVALID,
                    req_path,
                    f"{req_path} '{requests['memory']}': must be greater than or equal to 0.",
                )
            )
        elif 0 < req_mem < _ONE_M:
            causes.append(
                _cause(
                    INVALID,
                    req_path,
                    f"{req_path} '{requests['memory']}': must be greater than or equal to 1M.",
                )
            )
    if lim_mem is not None:
        if lim_mem < 0:
            causes.append(
                _cause(
                    INVALID,
                    lim_path,
                    f"{lim_path} '{limits['memory']}': must be greater than or equal to 0.",
                )
            )
        elif req_mem is not None and lim_mem > 0 and req_mem > lim_mem:
            causes.append(
                _cause(
                    INVALID,
                    req_path,
                    f"{req_path} '{requests['memory']}' is greater than {lim_path} '{limits['memory']}'",
                )
            )
    return causes


def _validate_cpu(domain: dict, base: str) -> list[Cause]:
    """CPU topology numbers are unsigned integers; 0 means "unset" as in KubeVirt's Go types."""
    causes: list[Cause] = []
    path = f"{base}.domain.cpu"
    cpu = _obj(domain, "cpu", path, causes)
    values = {}
    for key in ("sockets", "cores", "threads", "maxSockets"):
        value = _int_field(cpu, key, f"{path}.{key}", causes)
        if value is not None and value < 0:
            causes.append(
                _cause(
                    INVALID,
                    f"{path}.{key}",
                    f"Invalid value: {value}: {path}.{key} in body should be greater than or equal to 0",
                )
            )
        elif value is not None:
            values[key] = value
    if (
        values.get("sockets")
        and values.get("maxSockets")
        and values["sockets"] > values["maxSockets"]
    ):
        causes.append(
            _cause(
                INVALID,
                f"{path}.sockets",
                "Number of sockets in CPU topology is greater than the maximum sockets allowed",
            )
        )
    return causes


def _validate_discontinued_bindings(interfaces: list[tuple[int, dict]], base: str) -> list[Cause]:
    # Only checked on creation, so VMs created before v1.3 can still be edited.
    causes: list[Cause] = []
    gone = {
        "slirp": "Slirp interface support",
        "passt": "Passt network binding",
        "macvtap": "Macvtap network binding",
    }
    for idx, iface in interfaces:
        for key, what in gone.items():
            if _is_set(iface, key):
                causes.append(
                    _cause(
                        INVALID,
                        f"{base}.domain.devices.interfaces[{idx}].{key}",
                        f"{what} has been discontinued since v1.3",
                    )
                )
    return causes


def _validate_networks(
    interfaces: list[tuple[int, dict]], networks: list[tuple[int, dict]], base: str
) -> list[Cause]:
    """KubeVirt's network Validator, in its order (pkg/network/admitter/validator.go)."""
    causes: list[Cause] = []
    ipath = f"{base}.domain.devices.interfaces"
    npath = f"{base}.networks"
    networks_by_name = {}
    for _idx, net in networks:
        networks_by_name.setdefault(_str(net.get("name")), net)

    # Only one pod network (hence only one interface on it); multus default excludes pod.
    pod_idx = [idx for idx, net in networks if _is_set(net, "pod")]
    multus_default_idx = [
        idx
        for idx, net in networks
        if isinstance(net.get("multus"), dict) and net["multus"].get("default") is True
    ]
    if len(pod_idx) > 1:
        causes.append(
            _cause(
                DUPLICATE,
                f"{npath}[{pod_idx[1]}].pod",
                f"more than one interface is connected to a pod network in {ipath}",
            )
        )
    if len(multus_default_idx) > 1:
        causes.append(
            _cause(
                INVALID,
                f"{npath}[{multus_default_idx[1]}].multus.default",
                "Multus CNI should only have one default network",
            )
        )
    if pod_idx and multus_default_idx:
        causes.append(
            _cause(
                INVALID,
                f"{npath}[{pod_idx[0]}].pod",
                "Pod network cannot be defined when Multus default network is defined",
            )
        )

    # Exactly one source per network; multus needs the NAD's name.
    for idx, net in networks:
        count = sum(1 for key in ("pod", "multus", "resourceClaim") if _is_set(net, key))
        if count == 0:
            causes.append(_cause(REQUIRED, f"{npath}[{idx}]", "should have a network type"))
        elif count > 1:
            causes.append(_cause(REQUIRED, f"{npath}[{idx}]", "should have only one network type"))
        multus = net.get("multus")
        if isinstance(multus, dict) and not _str(multus.get("networkName")):
            causes.append(
                _cause(
                    REQUIRED,
                    f"{npath}[{idx}].multus.networkName",
                    "CNI delegating plugin must have a networkName",
                )
            )

    # The default network (pod, or multus default) is the one `state: absent` may not unplug.
    default_names = {
        _str(net.get("name"))
        for _idx, net in networks
        if _is_set(net, "pod")
        or (isinstance(net.get("multus"), dict) and net["multus"].get("default") is True)
    }
    for idx, iface in interfaces:
        name = _str(iface.get("name"))
        state = iface.get("state")
        if state not in (None, "") and state not in INTERFACE_STATES:
            causes.append(
                _cause(
                    INVALID,
                    f"{ipath}[{idx}].state",
                    f"logical {name} interface state value is unsupported: {state}",
                )
            )
        if _is_set(iface, "sriov") and state in ("down", "up"):
            causes.append(
                _cause(
                    INVALID,
                    f"{ipath}[{idx}].state",
                    f'"{name}" interface\'s state "{state}" is not supported for SR-IOV NICs',
                )
            )
        if state == "absent" and not _is_set(iface, "bridge"):
            causes.append(
                _cause(
                    INVALID,
                    f"{ipath}[{idx}].state",
                    f'"{name}" interface\'s state "absent" is supported only for bridge binding',
                )
            )
        if state == "absent" and name in default_names:
            causes.append(
                _cause(
                    INVALID,
                    f"{ipath}[{idx}].state",
                    f'"{name}" interface\'s state "absent" is not supported on default networks',
                )
            )

    # Exactly one binding; masquerade and passt only on the pod network.
    for idx, iface in interfaces:
        name = _str(iface.get("name"))
        if sum(1 for key in INTERFACE_BINDINGS if _is_set(iface, key)) != 1:
            causes.append(
                _cause(
                    INVALID,
                    f"{ipath}[{idx}]",
                    f"logical {name} interface must have exactly one binding method or binding plugin",
                )
            )
        net = networks_by_name.get(name, {})
        if _is_set(iface, "masquerade") and not _is_set(net, "pod"):
            causes.append(
                _cause(
                    INVALID,
                    f"{ipath}[{idx}].name",
                    "Masquerade interface only implemented with pod network",
                )
            )
        if _is_set(iface, "passtBinding") and not _is_set(net, "pod"):
            causes.append(
                _cause(
                    INVALID,
                    f"{ipath}[{idx}].name",
                    "PasstBinding interface only implemented with pod network",
                )
            )

    seen: set[str] = set()
    for idx, net in networks:
        name = _str(net.get("name"))
        if name in seen:
            causes.append(
                _cause(
                    DUPLICATE,
                    f"{npath}[{idx}].name",
                    f'Network with name "{name}" already exists, every network must have a unique name',
                )
            )
        seen.add(name)

    iface_names = {_str(iface.get("name")) for _idx, iface in interfaces}
    for idx, net in networks:
        name = _str(net.get("name"))
        if name not in iface_names:
            causes.append(
                _cause(REQUIRED, f"{npath}[{idx}].name", f"{npath}[{idx}].name '{name}' not found.")
            )

    seen = set()
    for idx, iface in interfaces:
        name = _str(iface.get("name"))
        if name in seen:
            causes.append(
                _cause(
                    DUPLICATE,
                    f"{ipath}[{idx}].name",
                    "Only one interface can be connected to one specific network",
                )
            )
        seen.add(name)

    for idx, iface in interfaces:
        name = _str(iface.get("name"))
        if name not in networks_by_name:
            causes.append(
                _cause(INVALID, f"{ipath}[{idx}].name", f"{ipath}[{idx}].name '{name}' not found.")
            )

    for idx, iface in interfaces:
        causes += _validate_interface_fields(iface, idx, ipath, networks_by_name)
    return causes


def _validate_interface_fields(
    iface: dict, idx: int, ipath: str, networks_by_name: dict
) -> list[Cause]:
    causes: list[Cause] = []
    path = f"{ipath}[{idx}]"
    name = _str(iface.get("name"))
    if name and not _IFACE_NAME_RE.match(name):
        causes.append(
            _cause(
                INVALID,
                f"{path}.name",
                "Network interface name can only contain alphabetical characters, numbers, dashes (-) or underscores (_)",
            )
        )
    model = iface.get("model")
    if model not in (None, "") and model not in INTERFACE_MODELS:
        causes.append(
            _cause(
                NOT_SUPPORTED,
                f"{path}.model",
                f"interface {path}.name uses model {model} that is not supported.",
            )
        )
    mac = iface.get("macAddress")
    if isinstance(mac, str) and (err := mac_address_error(mac)):
        causes.append(_cause(INVALID, f"{path}.macAddress", f"interface {path}.name has {err}."))
    # Port forwarding is only looked at on the pod network, as in KubeVirt.
    if _is_set(networks_by_name.get(name, {}), "pod"):
        port_names: set[str] = set()
        for pidx, port in _items(iface, "ports", f"{path}.ports", causes):
            ppath = f"{path}.ports[{pidx}]"
            pname = _str(port.get("name"))
            if pname:
                if pname in port_names:
                    causes.append(
                        _cause(DUPLICATE, f"{ppath}.name", f"Duplicate name of the port: {pname}")
                    )
                port_names.add(pname)
            number = _int_field(port, "port", f"{ppath}.port", causes)
            if not number:
                causes.append(_cause(REQUIRED, f"{ppath}.port", "Port field is mandatory."))
            elif number < 0 or number >= 65536:
                causes.append(
                    _cause(INVALID, f"{ppath}.port", "Port field must be in range 0 < x < 65536.")
                )
            if port.get("protocol") not in (None, "", "TCP", "UDP"):
                causes.append(
                    _cause(
                        INVALID, f"{ppath}.protocol", "Unknown protocol, only TCP or UDP allowed"
                    )
                )
    return causes


def _validate_boot_order(
    disks: list[tuple[int, dict]],
    interfaces: list[tuple[int, dict]],
    volumes: list[tuple[int, dict]],
    base: str,
) -> list[Cause]:
    """Disks need a volume (except an empty CD-ROM), LUNs need a PVC/DV, boot orders unique."""
    causes: list[Cause] = []
    dpath = f"{base}.domain.devices.disks"
    ipath = f"{base}.domain.devices.interfaces"
    volumes_by_name = {}
    for _idx, vol in volumes:
        volumes_by_name.setdefault(_str(vol.get("name")), vol)
    used: set[int] = set()

    for idx, disk in disks:
        name = _str(disk.get("name"))
        volume = volumes_by_name.get(name)
        if volume is None and not _is_set(disk, "cdrom"):
            # DeclarativeHotplugVolumes (Beta, on in v1.9) allows an empty CD-ROM drive.
            causes.append(
                _cause(INVALID, f"{dpath}[{idx}].name", f"{dpath}[{idx}].name '{name}' not found.")
            )
        if (
            _is_set(disk, "lun")
            and volume is not None
            and not _is_set(volume, "persistentVolumeClaim")
            and not _is_set(volume, "dataVolume")
        ):
            causes.append(
                _cause(
                    INVALID,
                    f"{dpath}[{idx}].lun",
                    f"{dpath}[{idx}].lun can only be mapped to a DataVolume or PersistentVolumeClaim volume.",
                )
            )
        order = _int_field(disk, "bootOrder", f"{dpath}[{idx}].bootOrder", causes)
        if order is not None and order >= 1:
            if order in used:
                causes.append(
                    _cause(
                        INVALID,
                        f"{dpath}[{idx}].bootOrder",
                        f"Boot order for {dpath}[{idx}].bootOrder already set for a different device.",
                    )
                )
            used.add(order)

    for idx, iface in interfaces:
        order = _int_field(iface, "bootOrder", f"{ipath}[{idx}].bootOrder", causes)
        if order is None:
            continue
        if order < 1:
            causes.append(
                _cause(
                    INVALID,
                    f"{ipath}[{idx}].bootOrder",
                    f"{ipath}[{idx}] must have a boot order > 0, if supplied",
                )
            )
            continue
        if order in used:
            causes.append(
                _cause(
                    INVALID,
                    f"{ipath}[{idx}].bootOrder",
                    f"Boot order for {ipath}[{idx}].bootOrder already set for a different device.",
                )
            )
        used.add(order)
    return causes


def _validate_inputs(devices: dict, base: str) -> list[Cause]:
    causes: list[Cause] = []
    path = f"{base}.domain.devices.inputs"
    for idx, inp in _items(devices, "inputs", path, causes):
        if inp.get("bus") not in (None, "", "virtio", "usb"):
            causes.append(
                _cause(
                    INVALID, f"{path}[{idx}].bus", "Input device can have only virtio or usb bus."
                )
            )
        if inp.get("type") != "tablet":
            causes.append(
                _cause(INVALID, f"{path}[{idx}].type", "Input device can have only tablet type.")
            )
    return causes


def _validate_disks(disks: list[tuple[int, dict]], base: str) -> list[Cause]:
    """pkg/storage/admitters/disks.go ValidateDisks, one disk at a time."""
    causes: list[Cause] = []
    path = f"{base}.domain.devices.disks"
    first_by_name: dict[str, int] = {}
    for idx, disk in disks:
        dpath = f"{path}[{idx}]"
        name = _str(disk.get("name"))
        if name in first_by_name:
            causes.append(
                _cause(
                    INVALID,
                    f"{dpath}.name",
                    f"{dpath} and {path}[{first_by_name[name]}] must not have the same Name.",
                )
            )
        else:
            first_by_name[name] = idx

        targets = [key for key in DISK_TARGETS if _is_set(disk, key)]
        if len(targets) > 1:
            causes.append(
                _cause(INVALID, dpath, f"{dpath} can only have a single target type defined")
            )

        order = disk.get("bootOrder")
        if isinstance(order, int) and not isinstance(order, bool) and order < 1:
            causes.append(
                _cause(
                    INVALID,
                    f"{dpath}.bootOrder",
                    f"{dpath} must have a boot order > 0, if supplied",
                )
            )

        causes += _validate_disk_bus(disk, dpath, targets[0] if targets else "")

        serial = disk.get("serial")
        if isinstance(serial, str) and serial:
            if not _SERIAL_RE.match(serial):
                causes.append(
                    _cause(
                        INVALID,
                        f"{dpath}.serial",
                        f"{dpath} must be made up of the following characters [A-Za-z0-9_.+-], if specified",
                    )
                )
            if len(serial) > 256:
                causes.append(
                    _cause(
                        INVALID,
                        f"{dpath}.serial",
                        f"{dpath} must be less than or equal to 256 in length, if specified",
                    )
                )
        cache = disk.get("cache")
        if cache not in (None, "", "none", "writethrough", "writeback"):
            causes.append(
                _cause(INVALID, f"{dpath}.cache", f"{dpath}.cache has invalid value {cache}")
            )
        io = disk.get("io")
        if io not in (None, "", "native", "threads"):
            causes.append(
                _cause(
                    NOT_SUPPORTED,
                    f"{dpath}.io",
                    f"Disk IO mode for {path} is not supported. Supported modes are: native, threads.",
                )
            )
        # The disk name becomes a container name, hence a DNS-1123 label.
        for err in dns1123_label_errors(name) if name else []:
            causes.append(_cause(INVALID, f"{dpath}.name", err))
    return causes


def _validate_disk_bus(disk: dict, dpath: str, target: str) -> list[Cause]:
    if not target:
        return []
    device = disk.get(target)
    bus = device.get("bus") if isinstance(device, dict) else None
    if bus in (None, ""):
        return []
    bus_path = f"{dpath}.{target}.bus"
    if bus == "ide":
        return [_cause(INVALID, bus_path, "IDE bus is not supported")]
    if bus == "virtio" and target == "cdrom":
        # virtio is incompatible with CD-ROMs on q35 machines
        return [_cause(INVALID, bus_path, "Bus type virtio is invalid for CD-ROM device")]
    if bus == "sata" and target == "disk" and device.get("readonly") is True:
        return [_cause(INVALID, bus_path, "sata hard-disks do not support read-only.")]
    if bus not in DISK_BUSES:
        return [
            _cause(
                INVALID,
                bus_path,
                f"{dpath} is set with an unrecognized bus {bus}, must be one of: [{' '.join(DISK_BUSES)}]",
            )
        ]
    return []


def _validate_firmware(domain: dict, base: str) -> list[Cause]:
    causes: list[Cause] = []
    dpath = f"{base}.domain"
    firmware = _obj(domain, "firmware", f"{dpath}.firmware", causes)
    bootloader = _obj(firmware, "bootloader", f"{dpath}.firmware.bootloader", causes)
    if _is_set(bootloader, "efi") and _is_set(bootloader, "bios"):
        causes.append(
            _cause(
                INVALID,
                f"{dpath}.firmware.bootloader",
                f"{dpath}.firmware.bootloader has both EFI and BIOS configured, but they are mutually exclusive.",
            )
        )
    efi = bootloader.get("efi")
    secure_boot = isinstance(efi, dict) and efi.get("secureBoot") is not False  # default on
    features = domain.get("features") if isinstance(domain.get("features"), dict) else {}
    smm = features.get("smm")
    smm_on = isinstance(smm, dict) and smm.get("enabled") is not False
    launch = domain.get("launchSecurity")
    tdx = isinstance(launch, dict) and _is_set(launch, "tdx")
    if secure_boot and not smm_on and not tdx:
        causes.append(
            _cause(
                INVALID,
                dpath,
                f"{dpath} has EFI SecureBoot enabled. SecureBoot requires SMM, which is currently disabled.",
            )
        )
    return causes


def _validate_volumes(volumes: list[tuple[int, dict]], base: str) -> list[Cause]:
    causes: list[Cause] = []
    path = f"{base}.volumes"
    first_by_name: dict[str, int] = {}
    service_accounts = 0
    for idx, vol in volumes:
        vpath = f"{path}[{idx}]"
        name = _str(vol.get("name"))
        if not name:
            causes.append(_required(f"{vpath}.name"))
        elif name in first_by_name:
            causes.append(
                _cause(
                    INVALID,
                    f"{vpath}.name",
                    f"{vpath} and {path}[{first_by_name[name]}] must not have the same Name.",
                )
            )
        else:
            first_by_name[name] = idx

        sources = [key for key in VOLUME_SOURCES if _is_set(vol, key)]
        if len(sources) != 1:
            causes.append(_cause(INVALID, vpath, f"{vpath} must have exactly one source type set"))
        data_volume = vol.get("dataVolume")
        if isinstance(data_volume, dict) and not _str(data_volume.get("name")):
            causes.append(_cause(REQUIRED, f"{vpath}.name", "DataVolume 'name' must be set"))
        container_disk = vol.get("containerDisk")
        if isinstance(container_disk, dict) and not _str(container_disk.get("image")):
            causes.append(_required(f"{vpath}.containerDisk.image"))
        pvc = vol.get("persistentVolumeClaim")
        if isinstance(pvc, dict) and not _str(pvc.get("claimName")):
            causes.append(_required(f"{vpath}.persistentVolumeClaim.claimName"))
        empty_disk = vol.get("emptyDisk")
        if isinstance(empty_disk, dict):
            if empty_disk.get("capacity") is None:
                causes.append(_required(f"{vpath}.emptyDisk.capacity"))
            _quantity(empty_disk, "capacity", f"{vpath}.emptyDisk.capacity", causes)
        for source in ("cloudInitNoCloud", "cloudInitConfigDrive"):
            if isinstance(vol.get(source), dict):
                causes += _validate_cloud_init(vol[source], f"{vpath}.{source}")
        host_disk = vol.get("hostDisk")
        if isinstance(host_disk, dict):
            if not _str(host_disk.get("path")):
                causes.append(
                    _cause(
                        INVALID,
                        f"{vpath}.hostDisk.path",
                        f"{vpath}.hostDisk.path is required for hostDisk volume",
                    )
                )
            if host_disk.get("type") not in ("Disk", "DiskOrCreate"):
                causes.append(
                    _cause(
                        INVALID,
                        f"{vpath}.hostDisk.type",
                        f"{vpath}.hostDisk.type has invalid value '{_str(host_disk.get('type'))}', allowed are 'Disk' or 'DiskOrCreate'",
                    )
                )
        for source, key in (
            ("configMap", "name"),
            ("secret", "secretName"),
            ("serviceAccount", "serviceAccountName"),
        ):
            value = vol.get(source)
            if isinstance(value, dict) and not _str(value.get(key)):
                causes.append(
                    _cause(
                        INVALID,
                        f"{vpath}.{source}.{key}",
                        f"{vpath}.{source}.{key} is a required field",
                    )
                )
        if _is_set(vol, "serviceAccount"):
            service_accounts += 1
    if service_accounts > 1:
        causes.append(_cause(INVALID, path, f"{path} must have max one serviceAccount volume set"))
    return causes


def _validate_cloud_init(source: dict, spath: str) -> list[Cause]:
    causes: list[Cause] = []
    user_sources = network_sources = 0
    user_len = network_len = 0
    for prefix, ref_key in (("userData", "secretRef"), ("networkData", "networkDataSecretRef")):
        count = 0
        length = 0
        ref = source.get(ref_key)
        if isinstance(ref, dict) and _str(ref.get("name")):
            count += 1
        encoded = _str(source.get(f"{prefix}Base64"))
        if encoded:
            count += 1
            try:
                length = len(base64.b64decode(encoded, validate=True))
            except (binascii.Error, ValueError):
                causes.append(
                    _cause(
                        INVALID,
                        f"{spath}.{prefix}Base64",
                        f"{spath}.{prefix}Base64 is not a valid base64 value.",
                    )
                )
        inline = _str(source.get(prefix))
        if inline:
            count += 1
            length = len(inline.encode())
        if prefix == "userData":
            user_sources, user_len = count, length
        else:
            network_sources, network_len = count, length
    if user_sources > 1:
        causes.append(_cause(INVALID, spath, f"{spath} must have only one userdatasource set."))
    if user_len > _CLOUD_INIT_MAX:
        causes.append(
            _cause(
                INVALID,
                spath,
                f"{spath} userdata exceeds {_CLOUD_INIT_MAX} byte limit. Should use UserDataSecretRef for larger data.",
            )
        )
    if network_sources > 1:
        causes.append(_cause(INVALID, spath, f"{spath} must have only one networkdata source set."))
    if network_len > _CLOUD_INIT_MAX:
        causes.append(
            _cause(
                INVALID,
                spath,
                f"{spath} networkdata exceeds {_CLOUD_INIT_MAX} byte limit. Should use NetworkDataSecretRef for larger data.",
            )
        )
    if user_sources == 0 and network_sources == 0:
        causes.append(
            _cause(
                INVALID,
                spath,
                f"{spath} must have at least one userdatasource or one networkdatasource set.",
            )
        )
    return causes


def _validate_access_credentials(
    spec: dict, volumes: list[tuple[int, dict]], base: str
) -> list[Cause]:
    causes: list[Cause] = []
    path = f"{base}.accessCredentials"
    has_nocloud = any(_is_set(vol, "cloudInitNoCloud") for _idx, vol in volumes)
    has_config_drive = any(_is_set(vol, "cloudInitConfigDrive") for _idx, vol in volumes)
    for idx, cred in _items(spec, "accessCredentials", path, causes):
        cpath = f"{path}[{idx}]"
        kinds = 0
        for kind in ("sshPublicKey", "userPassword"):
            value = cred.get(kind)
            if not isinstance(value, dict):
                continue
            kinds += 1
            source = value.get("source") if isinstance(value.get("source"), dict) else {}
            method = (
                value.get("propagationMethod")
                if isinstance(value.get("propagationMethod"), dict)
                else {}
            )
            methods = 0
            if kind == "sshPublicKey":
                if _is_set(method, "noCloud"):
                    methods += 1
                    if not has_nocloud:
                        causes.append(
                            _cause(
                                INVALID,
                                f"{cpath}.sshPublicKey.propagationMethod",
                                f"{cpath} requires a noCloud volume to exist when the noCloud propagationMethod is in use.",
                            )
                        )
                if _is_set(method, "configDrive"):
                    methods += 1
                    if not has_config_drive:
                        causes.append(
                            _cause(
                                INVALID,
                                f"{cpath}.sshPublicKey.propagationMethod",
                                f"{cpath} requires a configDrive volume to exist when the configDrive propagationMethod is in use.",
                            )
                        )
                agent = method.get("qemuGuestAgent")
                if agent is not None:
                    methods += 1
                    if not (isinstance(agent, dict) and agent.get("users")):
                        causes.append(
                            _cause(
                                INVALID,
                                f"{cpath}.sshPublicKey.propagationMethod.qemuGuestAgent.users",
                                f"{cpath} requires at least one user to be present in the users list",
                            )
                        )
            elif _is_set(method, "qemuGuestAgent"):
                methods += 1
            if not _is_set(source, "secret"):
                causes.append(
                    _cause(
                        INVALID,
                        f"{cpath}.{kind}.source",
                        f"{cpath} must have exactly one source set",
                    )
                )
            if methods != 1:
                causes.append(
                    _cause(
                        INVALID,
                        f"{cpath}.{kind}.propagationMethod",
                        f"{cpath} must have exactly one propagationMethod set",
                    )
                )
        if kinds != 1:
            causes.append(
                _cause(INVALID, cpath, f"{cpath} must have exactly one access credential type set")
            )
    return causes


def _validate_mandatory_memory(spec: Any, base: str) -> list[Cause]:
    """A VMI (not a VM template, which an instancetype may complete) must ask for memory."""
    if not isinstance(spec, dict):
        return []
    domain = spec.get("domain") if isinstance(spec.get("domain"), dict) else {}
    resources = domain.get("resources") if isinstance(domain.get("resources"), dict) else {}
    requests = resources.get("requests") if isinstance(resources.get("requests"), dict) else {}
    try:
        if requests.get("memory") is not None and parse_quantity(requests["memory"]) != 0:
            return []
    except ValueError:
        return []  # already reported as a syntax error
    memory = domain.get("memory") if isinstance(domain.get("memory"), dict) else {}
    if memory.get("guest") is not None or memory.get("hugepages") is not None:
        return []
    return [
        _cause(
            REQUIRED,
            f"{base}.domain.resources.requests.memory",
            f"no memory requested, at least one of '{base}.domain.memory.guest', "
            f"'{base}.domain.memory.hugepages.pageSize' or '{base}.domain.resources.requests.memory' must be set",
        )
    ]


# --------------------------------------------------------------------------------------
# VirtualMachine
# --------------------------------------------------------------------------------------


def _validate_run_strategy(spec: dict) -> list[Cause]:
    causes: list[Cause] = []
    running = spec.get("running")
    strategy = spec.get("runStrategy")
    if running is not None and not isinstance(running, bool):
        causes.append(_type_cause("spec.running", running, "boolean"))
    if running is not None and strategy is not None:
        causes.append(
            _cause(
                INVALID,
                "spec.running",
                "Running and RunStrategy are mutually exclusive. Note that Running is deprecated, please use RunStrategy instead",
            )
        )
    if running is None and strategy is None:
        causes.append(_cause(INVALID, "spec.running", "RunStrategy must be specified"))
    if strategy is not None:
        if strategy == "WaitAsReceiver":
            # Only with the DecentralizedLiveMigration gate, which the demo cluster lacks.
            causes.append(
                _cause(
                    INVALID,
                    "spec.runStrategy",
                    "Invalid RunStrategy (WaitAsReceiver), DecentralizedLiveMigration feature gate is not enabled in kubevirt resource",
                )
            )
        elif strategy not in VALID_RUN_STRATEGIES:
            causes.append(_cause(INVALID, "spec.runStrategy", f"Invalid RunStrategy ({strategy})"))
    return causes


def _uses_instancetype(spec: dict) -> bool:
    matcher = spec.get("instancetype")
    return isinstance(matcher, dict) and bool(matcher.get("name") or matcher.get("inferFromVolume"))


def _instancetype_conflicts(spec: dict) -> list[Cause]:
    """VM fields an instancetype owns (pkg/instancetype/apply/cpu.go, memory.go).

    Only the fields that conflict whatever the instancetype holds are checked, since the
    instancetype itself is not looked up here.
    """
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    tspec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    domain = tspec.get("domain") if isinstance(tspec.get("domain"), dict) else {}
    cpu = domain.get("cpu") if isinstance(domain.get("cpu"), dict) else {}
    memory = domain.get("memory") if isinstance(domain.get("memory"), dict) else {}
    resources = domain.get("resources") if isinstance(domain.get("resources"), dict) else {}
    requests = resources.get("requests") if isinstance(resources.get("requests"), dict) else {}
    limits = resources.get("limits") if isinstance(resources.get("limits"), dict) else {}
    base = "spec.template.spec.domain"
    paths = []
    if "cpu" in requests:
        paths.append(f"{base}.resources.requests.cpu")
    if "cpu" in limits:
        paths.append(f"{base}.resources.limits.cpu")
    for key in ("sockets", "cores", "threads"):
        if cpu.get(key):  # 0 is "unset" in KubeVirt's Go types
            paths.append(f"{base}.cpu.{key}")
    # KubeVirt reports only the first memory conflict.
    if memory.get("guest") is not None:
        paths.append(f"{base}.memory.guest")
    elif "memory" in requests:
        paths.append(f"{base}.resources.requests.memory")
    elif "memory" in limits:
        paths.append(f"{base}.resources.limits.memory")
    return [
        _cause(INVALID, p, f"VM field(s) {p} conflicts with selected instance type") for p in paths
    ]


def _validate_data_volume_templates(spec: dict) -> list[Cause]:
    """KubeVirt's ValidateDataVolumeTemplate (pkg/storage/admitters/data-volume-template.go)."""
    causes: list[Cause] = []
    path = "spec.dataVolumeTemplates"
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    tspec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    referenced = set()
    for vol in tspec.get("volumes") or []:
        if not isinstance(vol, dict):
            continue
        for source, key in (("dataVolume", "name"), ("persistentVolumeClaim", "claimName")):
            if isinstance(vol.get(source), dict):
                referenced.add(_str(vol[source].get(key)))
    first_by_name: dict[str, int] = {}
    for idx, dvt in _items(spec, "dataVolumeTemplates", path, causes):
        dpath = f"{path}[{idx}]"
        meta = dvt.get("metadata") if isinstance(dvt.get("metadata"), dict) else {}
        name = _str(meta.get("name"))
        if not name:
            causes.append(
                _cause(
                    REQUIRED,
                    f"{dpath}.metadata.name",
                    f"'name' field must not be empty for DataVolumeTemplate entry {dpath}.metadata.name.",
                )
            )
            continue
        if name in first_by_name:
            # Two templates would create the same DataVolume.
            causes.append(
                _cause(
                    DUPLICATE,
                    f"{dpath}.metadata.name",
                    f"DataVolumeTemplate entry {dpath} has the same name as {path}[{first_by_name[name]}]: {name}",
                )
            )
        else:
            first_by_name[name] = idx
        dv_spec = dvt.get("spec")
        if not isinstance(dv_spec, dict):
            causes.append(_required(f"{dpath}.spec"))
            continue
        spec_causes = _validate_dv_template_spec(dv_spec, f"{dpath}.spec")
        causes += spec_causes
        if not spec_causes and name not in referenced:
            causes.append(
                _cause(
                    REQUIRED,
                    dpath,
                    f"DataVolumeTemplate entry {dpath} must be referenced in the VMI template's 'volumes' list",
                )
            )
    return causes


def _validate_dv_template_spec(dv_spec: dict, spath: str) -> list[Cause]:
    causes: list[Cause] = []
    has_pvc, has_storage = _is_set(dv_spec, "pvc"), _is_set(dv_spec, "storage")
    if not has_pvc and not has_storage:
        return [_cause(INVALID, f"{spath}.storage", "Missing Data volume PVC or Storage")]
    if has_pvc and has_storage:
        return [
            _cause(
                INVALID,
                spath,
                "Duplicate storage definition, both target storage and target pvc defined",
            )
        ]
    target_key = "pvc" if has_pvc else "storage"
    target = _obj(dv_spec, target_key, f"{spath}.{target_key}", causes)
    resources = _obj(target, "resources", f"{spath}.{target_key}.resources", causes)
    requests = _obj(resources, "requests", f"{spath}.{target_key}.resources.requests", causes)
    _quantity(requests, "storage", f"{spath}.{target_key}.resources.requests.storage", causes)
    externally_populated = _is_set(target, "dataSource") or _is_set(target, "dataSourceRef")
    has_source, has_ref = _is_set(dv_spec, "source"), _is_set(dv_spec, "sourceRef")
    if externally_populated and (has_source or has_ref):
        causes.append(
            _cause(
                INVALID,
                f"{spath}.source",
                "External population is incompatible with Source and SourceRef",
            )
        )
    elif not externally_populated and not has_source and not has_ref:
        causes.append(
            _cause(
                INVALID,
                f"{spath}.source",
                "Data volume should have either Source, SourceRef, or be externally populated",
            )
        )
    elif has_source:
        source = _obj(dv_spec, "source", f"{spath}.source", causes)
        count = sum(1 for value in source.values() if value is not None)
        if count == 0:
            causes.append(_cause(INVALID, f"{spath}.source", "Missing dataVolume valid source"))
        elif count > 1:
            causes.append(_cause(INVALID, f"{spath}.source", "Multiple dataVolume sources"))
    return causes


def _is_deleting(obj: dict) -> bool:
    meta = obj.get("metadata")
    return isinstance(meta, dict) and bool(meta.get("deletionTimestamp"))


def admit_vm(vm: dict, old: dict | None = None) -> AdmissionResult:
    """Validate a VirtualMachine on create (`old` None) or update, as virt-api would.

    Warnings (the `spec.running` deprecation) are only given when the VM is allowed, as
    KubeVirt only attaches them to an allowing response.
    """
    if not isinstance(vm, dict):
        return AdmissionResult([_type_cause("", vm, "object")])
    if _is_deleting(vm):
        # KubeVirt lets a VM that is being deleted through so finalizers can be removed.
        return AdmissionResult()
    causes = _validate_object_name(vm)
    if vm.get("spec") is None:
        return AdmissionResult([*causes, _required("spec")])
    if not isinstance(vm["spec"], dict):
        return AdmissionResult([*causes, _type_cause("spec", vm["spec"], "object")])
    spec = vm["spec"]
    if _uses_instancetype(spec):
        causes += _instancetype_conflicts(spec)
    template = spec.get("template")
    if template is None:
        causes.append(_cause(REQUIRED, "spec.template", "missing virtual machine template."))
    elif not isinstance(template, dict):
        causes.append(_type_cause("spec.template", template, "object"))
    else:
        if template.get("metadata") is not None and not isinstance(template["metadata"], dict):
            causes.append(_type_cause("spec.template.metadata", template["metadata"], "object"))
        causes += _validate_vmi_spec(
            template.get("spec"), "spec.template.spec", creating=old is None
        )
        causes += _validate_data_volume_templates(spec)
    causes += _validate_run_strategy(spec)
    warnings = []
    if not causes and spec.get("running") is not None:
        warnings.append("spec.running is deprecated, please use spec.runStrategy instead.")
    return AdmissionResult(causes, warnings)


def admit_vmi(vmi: dict, old: dict | None = None) -> AdmissionResult:
    """Validate a VirtualMachineInstance: the VM template rules, with paths under `spec.`."""
    if not isinstance(vmi, dict):
        return AdmissionResult([_type_cause("", vmi, "object")])
    if old is not None or _is_deleting(vmi):
        # The VMI update validator only guards spec changes made by KubeVirt itself
        # (hotplug, migration); the demo server's controllers write VMIs freely.
        return AdmissionResult()
    causes = _validate_object_name(vmi)
    if vmi.get("spec") is None:
        return AdmissionResult([*causes, _required("spec")])
    causes += _validate_vmi_spec(vmi.get("spec"), "spec", creating=True)
    causes += _validate_mandatory_memory(vmi.get("spec"), "spec")
    return AdmissionResult(causes)


# --------------------------------------------------------------------------------------
# Other kinds
# --------------------------------------------------------------------------------------


def _immutable_spec(obj: dict, old: dict | None, message: str, kind: str = INVALID) -> list[Cause]:
    if old is not None and isinstance(old, dict) and old.get("spec") != obj.get("spec"):
        return [_cause(kind, "spec", message)]
    return []


def _spec_of(obj: dict, causes: list[Cause]) -> dict:
    if obj.get("spec") is None:
        causes.append(_required("spec"))
        return {}
    return _obj(obj, "spec", "spec", causes)


def _validate_vm_reference(ref: dict, path: str) -> list[Cause]:
    """A snapshot source / restore target: kind and name required, apiGroup kubevirt.io."""
    causes = []
    for key in ("kind", "name"):
        if not _str(ref.get(key)):
            causes.append(_required(f"{path}.{key}"))
    group = ref.get("apiGroup")
    if group is None:
        causes.append(_cause(NOT_FOUND, f"{path}.apiGroup", "missing apiGroup"))
    elif group != "kubevirt.io":
        causes.append(_cause(INVALID, f"{path}.apiGroup", "invalid apiGroup"))
    elif _str(ref.get("kind")) and ref.get("kind") != "VirtualMachine":
        causes.append(_cause(INVALID, f"{path}.kind", "invalid kind"))
    return causes


def admit_vm_snapshot(obj: dict, old: dict | None = None) -> AdmissionResult:
    """pkg/storage/admitters/vmsnapshot.go (+ the CRD's required fields)."""
    if old is not None:
        return AdmissionResult(_immutable_spec(obj, old, "spec in immutable after creation"))
    causes = _validate_object_name(obj)
    spec = _spec_of(obj, causes)
    if spec or obj.get("spec") is not None:
        if spec.get("source") is None:
            causes.append(_required("spec.source"))
        else:
            causes += _validate_vm_reference(
                _obj(spec, "source", "spec.source", causes), "spec.source"
            )
    return AdmissionResult(causes)


def admit_vm_restore(obj: dict, old: dict | None = None) -> AdmissionResult:
    """pkg/storage/admitters/vmrestore.go (+ the CRD's required fields)."""
    if old is not None:
        return AdmissionResult(_immutable_spec(obj, old, "spec in immutable after creation"))
    causes = _validate_object_name(obj)
    spec = _spec_of(obj, causes)
    if spec or obj.get("spec") is not None:
        if spec.get("target") is None:
            causes.append(_required("spec.target"))
        else:
            causes += _validate_vm_reference(
                _obj(spec, "target", "spec.target", causes), "spec.target"
            )
        if not _str(spec.get("virtualMachineSnapshotName")):
            causes.append(_required("spec.virtualMachineSnapshotName"))
        policy = spec.get("volumeRestorePolicy")
        if policy is not None and policy not in ("RandomizeNames", "InPlace", "PrefixTargetName"):
            causes.append(
                _cause(
                    INVALID,
                    "spec.volumeRestorePolicy",
                    f'volume restore policy "{policy}" doesn\'t exist',
                )
            )
        ownership = spec.get("volumeOwnershipPolicy")
        if ownership is not None and ownership not in ("Vm", "None"):
            causes.append(
                _cause(
                    INVALID,
                    "spec.volumeOwnershipPolicy",
                    f'volume ownership policy "{ownership}" doesn\'t exist',
                )
            )
    return AdmissionResult(causes)


def _clone_filter_causes(filters: Any, name: str) -> list[Cause]:
    """vmclone-admitter.go validateFilters: "!" only first, "*" only last."""
    causes: list[Cause] = []
    if not isinstance(filters, list):
        return causes
    pattern = "%s filter %s is invalid: cannot contain a %s character (%s); FilterRules: %s"
    for flt in filters:
        if not isinstance(flt, str) or flt == "":
            continue
        if len(flt) == 1:
            if flt == "!":
                causes.append(_cause(INVALID, name, "a negation character is not a valid filter"))
            continue
        if "!" in flt[1:]:
            causes.append(
                _cause(
                    INVALID,
                    name,
                    pattern
                    % (
                        name,
                        flt,
                        "negation",
                        "!",
                        "NegationChar can be only used at the beginning of the filter",
                    ),
                )
            )
        if "*" in flt[:-1]:
            causes.append(
                _cause(
                    INVALID,
                    name,
                    pattern
                    % (
                        name,
                        flt,
                        "wildcard",
                        "*",
                        "WildcardChar can be only at the end of the filter",
                    ),
                )
            )
    return causes


def admit_vm_clone(obj: dict, old: dict | None = None) -> AdmissionResult:
    """pkg/virt-api/webhooks/validating-webhook/admitters/vmclone-admitter.go."""
    causes = [] if old is not None else _validate_object_name(obj)
    spec = _spec_of(obj, causes)
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    # KubeVirt names these paths after the Go fields; the first two are its own spelling.
    causes += _clone_filter_causes(spec.get("annotationFilters"), "spec.annotations")
    causes += _clone_filter_causes(spec.get("labelFilters"), "spec.labels")
    causes += _clone_filter_causes(template.get("annotationFilters"), "spec.template.annotations")
    causes += _clone_filter_causes(template.get("labelFilters"), "spec.template.labels")
    source = spec.get("source")
    target = spec.get("target")
    source = source if isinstance(source, dict) else None
    target = target if isinstance(target, dict) else None
    source_kind = _str(source.get("kind")) if source else ""
    if source_kind not in ("VirtualMachine", "VirtualMachineSnapshot"):
        causes.append(_cause(INVALID, "spec.source.kind", "Source kind is not supported"))
    if target is not None and target.get("kind") != "VirtualMachine":
        causes.append(_cause(INVALID, "spec.target.kind", "Target kind is not supported"))
    if source is None:
        causes.append(_cause(INVALID, "spec.source", "Source cannot be nil"))
    else:
        if not _str(source.get("apiGroup")):
            causes.append(
                _cause(INVALID, "spec.source.apiGroup", "Source's APIGroup cannot be empty")
            )
        if not source_kind:
            causes.append(_cause(INVALID, "spec.source.kind", "Source's Kind cannot be empty"))
        if not _str(source.get("name")):
            causes.append(_cause(INVALID, "spec.source.name", "Source's name cannot be empty"))
    if (
        source is not None
        and target is not None
        and source_kind == "VirtualMachine"
        and target.get("kind") == "VirtualMachine"
        and target.get("name") == source.get("name")
    ):
        causes.append(
            _cause(
                INVALID,
                "spec.target.name",
                "Target name cannot be equal to source name when both are VirtualMachines",
            )
        )
    macs = spec.get("newMacAddresses")
    if isinstance(macs, dict):
        for iface, mac in macs.items():
            if isinstance(mac, str) and mac and mac_address_error(mac):
                causes.append(
                    _cause(
                        INVALID,
                        f"spec.newMacAddresses.{iface}",
                        f"interface {iface} has malformed MAC address ({mac}).",
                    )
                )
    for idx, patch in enumerate(spec.get("patches") or []):
        try:
            json.loads(patch) if isinstance(patch, str) else None
        except ValueError:
            causes.append(
                _cause(INVALID, f"spec.patches[{idx}]", f"patch is not valid JSON ({patch})")
            )
    return AdmissionResult(causes)


def admit_migration(obj: dict, old: dict | None = None) -> AdmissionResult:
    """migration-create-admitter.go / migration-update-admitter.go."""
    if old is not None:
        return AdmissionResult(
            _immutable_spec(
                obj, old, "update of Migration object's spec is restricted", NOT_SUPPORTED
            )
        )
    causes = _validate_object_name(obj)
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    if not _str(spec.get("vmiName")):
        causes.append(_cause(REQUIRED, "spec.vmiName", "vmiName is missing"))
    return AdmissionResult(causes)


_URL_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):(?P<rest>.*)$")
_CLONE_SOURCES = ("pvc", "snapshot")


def _url_error(url: str) -> str:
    """CDI validateSourceURL (http, https only)."""
    if url == "":
        return "source URL is empty"
    match = _URL_RE.match(url)
    if not match or not match.group("rest"):
        return f"Invalid source URL: {url}"
    if match.group("scheme") not in ("http", "https"):
        return f"Invalid source URL scheme: {url}"
    return ""


def _dv_size(target: dict, tpath: str, label: str, required: bool, causes: list[Cause]) -> bool:
    """CDI validateStorageSize; False when a cause was added."""
    resources = target.get("resources") if isinstance(target.get("resources"), dict) else {}
    requests = resources.get("requests") if isinstance(resources.get("requests"), dict) else {}
    path = f"{tpath}.resources.requests.storage"
    if requests.get("storage") is None:
        if required:
            causes.append(_cause(INVALID, path, f"{label} size is missing"))
            return False
        return True
    size = _quantity(requests, "storage", path, causes)
    if size is None:
        return False
    if size <= 0:
        causes.append(_cause(INVALID, path, f"{label} size can't be equal or less than zero"))
        return False
    return True


def admit_data_volume(obj: dict, old: dict | None = None) -> AdmissionResult:
    """CDI's datavolume-validate.go (what needs no cluster look-up), first cause wins."""
    causes = [] if old is not None else _validate_object_name(obj)
    if causes:
        return AdmissionResult(causes)
    spec = _spec_of(obj, causes)
    if causes:
        return AdmissionResult(causes)
    has_pvc, has_storage = _is_set(spec, "pvc"), _is_set(spec, "storage")
    if not has_pvc and not has_storage:
        return AdmissionResult([_cause(INVALID, "spec.pvc", "Missing Data volume PVC")])
    if has_pvc and has_storage:
        return AdmissionResult(
            [
                _cause(
                    INVALID,
                    "spec",
                    "Duplicate storage definition, both target storage and target pvc defined",
                )
            ]
        )
    source = spec.get("source") if isinstance(spec.get("source"), dict) else None
    source_ref = spec.get("sourceRef") if isinstance(spec.get("sourceRef"), dict) else None
    # With `storage`, CDI works the size out of a clone source itself.
    cloning = source_ref is not None or (
        source is not None and any(_is_set(source, k) for k in _CLONE_SOURCES)
    )
    modes_ok = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
    if has_pvc:
        pvc = _obj(spec, "pvc", "spec.pvc", causes)
        if not _dv_size(pvc, "spec.pvc", "PVC", True, causes):
            return AdmissionResult(causes)
        modes = pvc.get("accessModes") or []
        if not modes:
            return AdmissionResult(
                [
                    _cause(
                        INVALID,
                        "spec.pvc.accessModes",
                        "Required value: at least 1 access mode is required",
                    )
                ]
            )
        if len(modes) > 1:
            return AdmissionResult(
                [_cause(INVALID, "spec.pvc.accessModes", "PVC multiple accessModes")]
            )
        bad = [m for m in modes if m not in modes_ok]
    else:
        storage = _obj(spec, "storage", "spec.storage", causes)
        if not _dv_size(storage, "spec.storage", "Storage", not cloning, causes):
            return AdmissionResult(causes)
        bad = [m for m in storage.get("accessModes") or [] if m not in modes_ok]
    if bad:
        target = "pvc" if has_pvc else "storage"
        return AdmissionResult(
            [
                _cause(
                    INVALID,
                    f"spec.{target}.accessModes",
                    f'Unsupported value: "{bad[0]}": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce"',
                )
            ]
        )
    if (source is None) == (source_ref is None):
        return AdmissionResult(
            [_cause(INVALID, "spec.source", "Data volume should have either Source or SourceRef")]
        )
    if source_ref is not None:
        kind = _str(source_ref.get("kind"))
        if not kind:
            return AdmissionResult(
                [_cause(INVALID, "spec.sourceRef.kind", "Missing sourceRef kind")]
            )
        if kind != "DataSource":
            return AdmissionResult(
                [
                    _cause(
                        INVALID,
                        "spec.sourceRef.kind",
                        f"Unsupported sourceRef kind {kind}, currently only DataSource is supported",
                    )
                ]
            )
        if not _str(source_ref.get("name")):
            return AdmissionResult(
                [_cause(INVALID, "spec.sourceRef.name", "Missing sourceRef name")]
            )
        return AdmissionResult()
    assert source is not None
    kinds = [key for key, value in source.items() if value is not None]
    if not kinds:
        return AdmissionResult([_cause(INVALID, "spec.source", "Missing Data volume source")])
    if len(kinds) > 1:
        return AdmissionResult([_cause(INVALID, "spec.source", "Multiple Data volume sources")])
    kind = kinds[0]
    body = source[kind] if isinstance(source[kind], dict) else {}
    if kind in ("http", "s3", "imageio", "vddk"):
        if err := _url_error(_str(body.get("url"))):
            return AdmissionResult(
                [_cause(INVALID, f"spec.source.{kind}.url", f"spec.source {err}")]
            )
    content_type = spec.get("contentType")
    if content_type not in (None, "", "kubevirt", "archive"):
        return AdmissionResult(
            [_cause(INVALID, "spec.contentType", "ContentType not one of: kubevirt, archive")]
        )
    if kind == "blank" and content_type == "archive":
        return AdmissionResult(
            [
                _cause(
                    INVALID,
                    "spec.contentType",
                    "SourceType cannot be blank and the contentType be archive",
                )
            ]
        )
    if kind == "registry":
        if content_type not in (None, "", "kubevirt"):
            return AdmissionResult(
                [
                    _cause(
                        INVALID,
                        "spec.contentType",
                        "ContentType must be kubevirt when Source is Registry",
                    )
                ]
            )
        url = _str(body.get("url"))
        if url or not _str(body.get("imageStream")):
            scheme = url.split("://", 1)[0] if "://" in url else ""
            if scheme not in ("docker", "oci-archive"):
                return AdmissionResult(
                    [
                        _cause(
                            INVALID,
                            "spec.source.registry.url",
                            f"Illegal registry source URL scheme {url}",
                        )
                    ]
                )
    if kind == "pvc" and not (_str(body.get("namespace")) and _str(body.get("name"))):
        return AdmissionResult(
            [_cause(INVALID, "spec.source.pvc", "spec.source.pvc source PVC is not valid")]
        )
    return AdmissionResult()


_ADMITTERS: dict[str, Callable[[dict, dict | None], AdmissionResult]] = {
    "VirtualMachine": admit_vm,
    "VirtualMachineInstance": admit_vmi,
    "VirtualMachineSnapshot": admit_vm_snapshot,
    "VirtualMachineRestore": admit_vm_restore,
    "VirtualMachineClone": admit_vm_clone,
    "VirtualMachineInstanceMigration": admit_migration,
    "DataVolume": admit_data_volume,
}


def admit(kind_name: str, obj: dict, old: dict | None = None) -> AdmissionResult:
    """Run the admission rules of `kind_name` ("VirtualMachine", ...); other kinds pass."""
    admitter = _ADMITTERS.get(kind_name)
    if admitter is None:
        return AdmissionResult()
    return admitter(obj, old)
