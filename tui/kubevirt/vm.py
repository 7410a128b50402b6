"""Read model of a VirtualMachine and its VirtualMachineInstance: what a VM list row shows.

Pure functions over plain dict manifests (as the API returns them): no I/O, no Textual.
Every value comes out as a string ready for display; the cluster decides what a status is
(`status.printableStatus`, computed by virt-controller), we only read and categorise it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from tui.kubevirt.untrusted import as_dict as _dict
from tui.kubevirt.untrusted import as_list as _list
from tui.kubevirt.untrusted import as_str as _str

StatusCategory = Literal["running", "transitional", "stopped", "error"]

# virt-controller's printable statuses (KubeVirt vm.go `setPrintableStatus`), by how a user
# should read them at a glance. Anything not listed is judged by `status_category`'s rules.
_RUNNING = frozenset({"Running"})
_STOPPED = frozenset({"Stopped", "Halted", "Succeeded"})
_TRANSITIONAL = frozenset(
    {
        "Starting",
        "Stopping",
        "Terminating",
        "Migrating",
        "Paused",
        "Provisioning",
        "WaitingForVolumeBinding",
        "WaitingForReceiver",
        "Pending",
        "Scheduling",
        "Scheduled",
        "Unknown",
    }
)
_ERROR = frozenset(
    {
        "ErrorUnschedulable",
        "ErrImagePull",
        "ImagePullBackOff",
        "CrashLoopBackOff",
        "ErrorPvcNotFound",
        "ErrorDataVolumeNotFound",
        "DataVolumeError",
        "Failed",
    }
)


@dataclass(frozen=True)
class VmRow:
    """One VM as the list shows it; every field is display text ("" when unknown)."""

    uid: str
    name: str
    namespace: str
    status: str
    ready: str
    ip: str
    node: str
    age: str
    created: datetime | None
    run_strategy: str
    vcpu: str
    memory: str
    # The VM's spec changed in a way the running guest only picks up on restart
    # (KubeVirt's RestartRequired condition): the list marks such rows.
    restart_required: bool = False

    @property
    def key(self) -> str:
        """A stable identity for the row: the uid, or namespace/name before one is assigned."""
        return self.uid or f"{self.namespace}/{self.name}"

    @property
    def category(self) -> StatusCategory:
        return status_category(self.status)


def vm_row(
    vm: dict[str, Any],
    vmi: dict[str, Any] | None = None,
    now: datetime | None = None,
    instancetype: dict[str, Any] | None = None,
) -> VmRow:
    """Build the list row of `vm`, completed by its running instance `vmi` when there is one.

    `instancetype` is the object `instancetype_ref` names, when the caller has it: a VM
    without a VMI then shows its vCPUs and memory instead of the instancetype's name.
    `now` is injectable so ages are testable; it defaults to the current UTC time.
    """
    meta = _dict(vm.get("metadata"))
    status = _dict(vm.get("status"))
    spec = _dict(vm.get("spec"))
    vmi_status = _dict(_dict(vmi).get("status"))
    created = parse_timestamp(meta.get("creationTimestamp"))
    interfaces = _list(vmi_status.get("interfaces"))
    return VmRow(
        uid=_str(meta.get("uid")),
        name=_str(meta.get("name")),
        namespace=_str(meta.get("namespace")),
        status=_str(status.get("printableStatus")) or "Unknown",
        ready=condition_status(status, "Ready"),
        ip=_str(_dict(interfaces[0]).get("ipAddress")) if interfaces else "",
        node=_str(vmi_status.get("nodeName")),
        age=humanize_age(created, now),
        created=created,
        run_strategy=run_strategy(spec),
        vcpu=vcpu_text(spec, vmi, instancetype),
        memory=memory_text(spec, vmi, instancetype),
        restart_required=condition_status(status, "RestartRequired") == "True",
    )


# `spec.instancetype.kind` as KubeVirt reads it (pkg/instancetype/find/spec.go): any case,
# singular or plural; empty means the cluster-wide kind.
_NAMESPACED_INSTANCETYPE = ("virtualmachineinstancetype", "virtualmachineinstancetypes")
_CLUSTER_INSTANCETYPE = (
    "",
    "virtualmachineclusterinstancetype",
    "virtualmachineclusterinstancetypes",
)


def instancetype_ref(spec: dict[str, Any]) -> tuple[bool, str] | None:
    """(namespaced?, name) of the instancetype a VM spec names; None without one (or with a
    kind KubeVirt would refuse)."""
    ref = _dict(_dict(spec).get("instancetype"))
    name = _str(ref.get("name"))
    kind = _str(ref.get("kind")).lower()
    if not name:
        return None
    if kind in _NAMESPACED_INSTANCETYPE:
        return True, name
    if kind in _CLUSTER_INSTANCETYPE:
        return False, name
    return None


def status_category(status: str) -> StatusCategory:
    """How a printable status reads at a glance: running, transitional, stopped or error."""
    if status in _RUNNING:
        return "running"
    if status in _STOPPED:
        return "stopped"
    if status in _ERROR:
        return "error"
    if status in _TRANSITIONAL:
        return "transitional"
    # Newer KubeVirt releases add statuses; their names say which side they are on.
    lowered = status.lower()
    if any(word in lowered for word in ("err", "fail", "backoff", "notfound", "unschedulable")):
        return "error"
    return "transitional"


def condition_status(status: dict[str, Any], type_: str) -> str:
    """The `status` ("True"/"False"/"Unknown") of condition `type_`, or "" when absent."""
    for cond in _list(status.get("conditions")):
        cond = _dict(cond)
        if cond.get("type") == type_:
            return _str(cond.get("status"))
    return ""


def run_strategy(spec: dict[str, Any]) -> str:
    """The VM's run strategy, translating the deprecated `running` bool as KubeVirt does."""
    strategy = _str(spec.get("runStrategy"))
    if strategy:
        return strategy
    running = spec.get("running")
    if running is True:
        return "Always"
    if running is False:
        return "Halted"
    return ""


def vcpu_text(
    spec: dict[str, Any],
    vmi: dict[str, Any] | None = None,
    instancetype: dict[str, Any] | None = None,
) -> str:
    """vCPUs as sockets*cores*threads, or the instancetype's guest vCPUs when it decides.

    A running VMI carries the expanded spec (instancetype applied), so it wins. When the
    instancetype decides and its object is not at hand (not readable, not found), its name.
    """
    vmi_domain = _dict(_dict(_dict(vmi).get("spec")).get("domain"))
    if vmi_domain.get("cpu"):
        return str(_cpu_count(_dict(vmi_domain.get("cpu"))))
    named = _dict(spec.get("instancetype"))
    if named.get("name"):
        guest = _dict(_dict(_dict(instancetype).get("spec")).get("cpu")).get("guest")
        return _str(guest) if guest else _str(named.get("name"))
    domain = _template_domain(spec)
    if domain.get("cpu"):
        return str(_cpu_count(_dict(domain.get("cpu"))))
    resources = _dict(domain.get("resources"))
    for section in ("limits", "requests"):
        cpu = _dict(resources.get(section)).get("cpu")
        if cpu:
            return _str(cpu)
    # KubeVirt's default topology is one socket, one core, one thread.
    return "1"


def memory_text(
    spec: dict[str, Any],
    vmi: dict[str, Any] | None = None,
    instancetype: dict[str, Any] | None = None,
) -> str:
    """Guest memory as written in the manifest (e.g. "2Gi"), the instancetype's when it
    decides, or the instancetype's name when its object is not at hand."""
    for domain in (_dict(_dict(_dict(vmi).get("spec")).get("domain")), _template_domain(spec)):
        guest = _dict(domain.get("memory")).get("guest")
        if guest:
            return _str(guest)
        request = _dict(_dict(domain.get("resources")).get("requests")).get("memory")
        if request:
            return _str(request)
    guest = _dict(_dict(_dict(instancetype).get("spec")).get("memory")).get("guest")
    if guest:
        return _str(guest)
    return _str(_dict(spec.get("instancetype")).get("name"))


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an RFC 3339 timestamp as the API writes it ("2024-01-02T03:04:05Z")."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def humanize_age(created: datetime | None, now: datetime | None = None) -> str:
    """An age the way kubectl prints it (k8s.io/apimachinery `duration.HumanDuration`)."""
    if created is None:
        return ""
    now = now or datetime.now(timezone.utc)
    return human_duration((now - created).total_seconds())


def human_duration(seconds_f: float) -> str:
    """kubectl's HumanDuration: 45s, 5m10s, 3h, 4d5h, 300d, 2y10d; small clock skew reads 0s."""
    seconds = int(seconds_f)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def _cpu_count(cpu: dict[str, Any]) -> int:
    total = 1
    for part in ("sockets", "cores", "threads"):
        value = cpu.get(part)
        # A missing or nonsense count means KubeVirt's default of one.
        total *= value if isinstance(value, int) and value > 0 else 1
    return total


def _template_domain(spec: dict[str, Any]) -> dict[str, Any]:
    return _dict(_dict(_dict(spec.get("template")).get("spec")).get("domain"))
