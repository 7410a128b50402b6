"""Seed data for the demo cluster: what a fresh `kvtui --demo` shows.

`seed_objects()` returns plain manifests (no status, uid or resourceVersion) in creation order;
the demo server stores them one by one and its simulated KubeVirt/CDI controllers take over
from there (VMIs, launcher pods, PVCs for DataVolumes, snapshot contents, statuses).
Two kinds are the exception and carry a `status`, because no controller writes one for them:
Nodes (capacity, allocatable, conditions, nodeInfo) and the plain, pre-bound PVC.

`seed_actions()` lists what the simulator does once the seeded VMs have settled, so that the
demo also shows states that only an action reaches (Paused, Migrating).

Annotations the simulator honours (see also the VMs below):

* `demo.kvtui.io/import-seconds` — on a VM and on its DataVolume template: how long the
  simulated CDI import of an `http` source takes (build-centos: 600 s, so it stays
  Provisioning while the demo is open).
* `demo.kvtui.io/migration-seconds` — on a VM: how long a live migration of it takes
  (web-02: 600 s, so it stays Migrating after the seeded "migrate" action).

The shapes follow KubeVirt v1.9 and its companions (brief §1, §6, §8, §9): common-templates for
the Templates, common-instancetypes for the u1 instancetypes and the preferences, CDI for the
golden images in `kubevirt-os-images`. Every VM passes the KubeVirt webhooks' rules and uses
`runStrategy`, except the product article's own sample VM, kept verbatim with `running: false`.
"""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]

OS_IMAGES_NS = "kubevirt-os-images"
TEMPLATES_NS = "openshift"
CT_VERSION = "v0.32.2"  # common-templates release stamped into template labels
CI_VERSION = "v1.2.0"  # common-instancetypes release stamped into instancetype labels

V1 = "v1"
KUBEVIRT_V1 = "kubevirt.io/v1"
CDI_V1B1 = "cdi.kubevirt.io/v1beta1"
IT_V1B1 = "instancetype.kubevirt.io/v1beta1"
SNAP_V1B1 = "snapshot.kubevirt.io/v1beta1"
TEMPLATE_V1 = "template.openshift.io/v1"
NAD_V1 = "k8s.cni.cncf.io/v1"
STORAGE_V1 = "storage.k8s.io/v1"

IMPORT_SECONDS = "demo.kvtui.io/import-seconds"
MIGRATION_SECONDS = "demo.kvtui.io/migration-seconds"

# Demo logins: the simulated guests accept the cloud-init user/password of their VM.
LOGINS = {
    "fedora": ("fedora", "fedora"),
    "centos": ("cloud-user", "centos"),
    "rhel": ("cloud-user", "redhat"),
    "ubuntu": ("ubuntu", "ubuntu"),
}


# --------------------------------------------------------------------------------------------
# Small builders
# --------------------------------------------------------------------------------------------


def _meta(
    name: str,
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def _user_data(os_name: str, extra: str = "") -> str:
    user, password = LOGINS[os_name]
    text = f"#cloud-config\nuser: {user}\npassword: {password}\nchpasswd: {{ expire: False }}\n"
    return text + extra


def _cloudinit_volume(os_name: str, extra: str = "", network_data: str | None = None) -> Obj:
    source: Obj = {"userData": _user_data(os_name, extra)}
    if network_data:
        source["networkData"] = network_data
    return {"name": "cloudinitdisk", "cloudInitNoCloud": source}


def _disk(name: str, bus: str | None = "virtio", boot_order: int | None = None) -> Obj:
    disk: Obj = {"name": name, "disk": {"bus": bus} if bus else {}}
    if boot_order is not None:
        disk["bootOrder"] = boot_order
    return disk


def _pod_nic(model: str | None = "virtio") -> Obj:
    nic: Obj = {"name": "default", "masquerade": {}}
    if model:
        nic["model"] = model
    return nic


POD_NETWORK: Obj = {"name": "default", "pod": {}}


def _dv_from_datasource(
    name: str, datasource: str, size: str = "30Gi", labels: dict[str, str] | None = None
) -> Obj:
    """A dataVolumeTemplate cloning a golden image through its DataSource."""
    return {
        "apiVersion": CDI_V1B1,
        "kind": "DataVolume",
        "metadata": _meta(name, labels=labels),
        "spec": {
            "sourceRef": {"kind": "DataSource", "name": datasource, "namespace": OS_IMAGES_NS},
            "storage": {"resources": {"requests": {"storage": size}}},
        },
    }


def _cpu(sockets: int = 1, cores: int = 1, threads: int = 1) -> Obj:
    return {"sockets": sockets, "cores": cores, "threads": threads}


def _vm(
    name: str,
    namespace: str,
    *,
    run_strategy: str,
    labels: dict[str, str],
    template_labels: dict[str, str] | None = None,
    template_annotations: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    domain: Obj,
    networks: list[Obj],
    volumes: list[Obj],
    dv_templates: list[Obj] | None = None,
    extra_spec: Obj | None = None,
    extra_vmi_spec: Obj | None = None,
    grace: int = 180,
) -> Obj:
    tmpl_labels = {"kubevirt.io/domain": name, "vm.kubevirt.io/name": name}
    for key in ("app", "tier", "env"):
        if key in labels:
            tmpl_labels[key] = labels[key]
    tmpl_labels.update(template_labels or {})
    tmpl_meta: Obj = {"labels": tmpl_labels}
    if template_annotations:
        tmpl_meta["annotations"] = dict(template_annotations)
    vmi_spec: Obj = {"domain": domain}
    if networks:
        vmi_spec["networks"] = networks
    vmi_spec["terminationGracePeriodSeconds"] = grace
    vmi_spec["volumes"] = volumes
    vmi_spec.update(extra_vmi_spec or {})
    spec: Obj = {"runStrategy": run_strategy}
    if dv_templates:
        spec["dataVolumeTemplates"] = dv_templates
    spec.update(extra_spec or {})
    spec["template"] = {"metadata": tmpl_meta, "spec": vmi_spec}
    return {
        "apiVersion": KUBEVIRT_V1,
        "kind": "VirtualMachine",
        "metadata": _meta(name, namespace, labels, annotations),
        "spec": spec,
    }


# --------------------------------------------------------------------------------------------
# Namespaces, nodes, storage
# --------------------------------------------------------------------------------------------


def _namespaces() -> list[Obj]:
    spec = [
        ("default", {}),
        ("kube-system", {}),
        ("kubevirt", {"app.kubernetes.io/part-of": "kubevirt"}),
        ("openshift", {}),
        (
            "openshift-cnv",
            {"openshift.io/cluster-monitoring": "true", "app.kubernetes.io/part-of": "kubevirt"},
        ),
        (OS_IMAGES_NS, {"app.kubernetes.io/part-of": "kubevirt", "env": "shared"}),
        ("vm-prod", {"env": "prod", "team": "platform"}),
        ("vm-dev", {"env": "dev", "team": "platform"}),
    ]
    out = []
    for name, labels in spec:
        all_labels = {"kubernetes.io/metadata.name": name, **labels}
        out.append(
            {"apiVersion": V1, "kind": "Namespace", "metadata": _meta(name, labels=all_labels)}
        )
    return out


def _node(index: int, cpus: int, memory_gib: int, zone: str) -> Obj:
    name = f"node-{index:02d}"
    mem_ki = memory_gib * 1024 * 1024
    alloc_mem_ki = mem_ki - 4 * 1024 * 1024  # system + kube reserved
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        "node-role.kubernetes.io/control-plane": "",
        "node-role.kubernetes.io/master": "",
        "node-role.kubernetes.io/worker": "",
        "topology.kubernetes.io/region": "demo",
        "topology.kubernetes.io/zone": zone,
        "kubevirt.io/schedulable": "true",
        "kubevirt.io/ksm-enabled": "false",
        "cpumanager": "false",
        "cpu-vendor.node.kubevirt.io/Intel": "true",
        "cpu-model.node.kubevirt.io/Icelake-Server": "true",
        "host-model-cpu.node.kubevirt.io/Icelake-Server": "true",
        "scheduling.node.kubevirt.io/tsc-frequency-2100000000": "true",
    }
    devices = {
        "devices.kubevirt.io/kvm": "1k",
        "devices.kubevirt.io/tun": "1k",
        "devices.kubevirt.io/vhost-net": "1k",
    }
    ip = f"192.168.122.1{index}"
    return {
        "apiVersion": V1,
        "kind": "Node",
        "metadata": _meta(
            name,
            labels=labels,
            annotations={
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        ),
        "spec": {"podCIDR": f"10.128.{index}.0/24", "podCIDRs": [f"10.128.{index}.0/24"]},
        "status": {
            "capacity": {
                "cpu": str(cpus),
                "memory": f"{mem_ki}Ki",
                "pods": "250",
                "ephemeral-storage": "468097540Ki",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                **devices,
            },
            "allocatable": {
                "cpu": f"{cpus * 1000 - 500}m",
                "memory": f"{alloc_mem_ki}Ki",
                "pods": "250",
                "ephemeral-storage": "430324950869",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                **devices,
            },
            "conditions": [
                {
                    "type": "MemoryPressure",
                    "status": "False",
                    "reason": "KubeletHasSufficientMemory",
                    "message": "kubelet has sufficient memory available",
                },
                {
                    "type": "DiskPressure",
                    "status": "False",
                    "reason": "KubeletHasNoDiskPressure",
                    "message": "kubelet has no disk pressure",
                },
                {
                    "type": "PIDPressure",
                    "status": "False",
                    "reason": "KubeletHasSufficientPID",
                    "message": "kubelet has sufficient PID available",
                },
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                },
            ],
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": f"5d0c6a3e-1b2f-4c7a-9e10-00000000000{index}",
                "containerRuntimeVersion": "cri-o://1.31.3",
                "kernelVersion": "5.14.0-427.50.1.el9_4.x86_64",
                "kubeProxyVersion": "v1.31.4",
                "kubeletVersion": "v1.31.4",
                "machineID": f"9a1f3c5e7b2d4f60818293a4b5c6d7e{index}",
                "operatingSystem": "linux",
                "osImage": "CentOS Stream CoreOS 9",
                "systemUUID": f"4c4c4544-0046-3510-8052-b4c04f4d320{index}",
            },
        },
    }


def _nodes() -> list[Obj]:
    return [
        _node(1, 32, 128, "zone-a"),
        _node(2, 32, 128, "zone-b"),
        _node(3, 48, 192, "zone-c"),
    ]


def _storage_classes() -> list[Obj]:
    return [
        {
            "apiVersion": STORAGE_V1,
            "kind": "StorageClass",
            "metadata": _meta(
                "local-storage",
                annotations={"storageclass.kubernetes.io/is-default-class": "true"},
                labels={"app.kubernetes.io/part-of": "hostpath-provisioner"},
            ),
            "provisioner": "kubevirt.io.hostpath-provisioner",
            "parameters": {"storagePool": "local"},
            "reclaimPolicy": "Delete",
            "allowVolumeExpansion": True,
            "volumeBindingMode": "Immediate",
        },
        {
            "apiVersion": STORAGE_V1,
            "kind": "StorageClass",
            "metadata": _meta(
                "ceph-rbd",
                annotations={
                    "description": "Ceph RBD block storage (replicated, live-migratable as RWX Block)"
                },
                labels={"app.kubernetes.io/part-of": "rook-ceph"},
            ),
            "provisioner": "rbd.csi.ceph.com",
            "parameters": {
                "clusterID": "rook-ceph",
                "pool": "replicapool",
                "imageFormat": "2",
                "imageFeatures": "layering",
                "csi.storage.k8s.io/fstype": "ext4",
                "csi.storage.k8s.io/provisioner-secret-name": "rook-csi-rbd-provisioner",
                "csi.storage.k8s.io/provisioner-secret-namespace": "rook-ceph",
                "csi.storage.k8s.io/node-stage-secret-name": "rook-csi-rbd-node",
                "csi.storage.k8s.io/node-stage-secret-namespace": "rook-ceph",
            },
            "reclaimPolicy": "Delete",
            "allowVolumeExpansion": True,
            "volumeBindingMode": "Immediate",
        },
    ]


# --------------------------------------------------------------------------------------------
# Instancetypes and preferences (common-instancetypes shapes)
# --------------------------------------------------------------------------------------------

U1_SIZES = [("small", 1, "2Gi"), ("medium", 1, "4Gi"), ("large", 2, "8Gi"), ("xlarge", 4, "16Gi")]


def _cluster_instancetypes() -> list[Obj]:
    out = []
    for size, cpus, memory in U1_SIZES:
        out.append(
            {
                "apiVersion": IT_V1B1,
                "kind": "VirtualMachineClusterInstancetype",
                "metadata": _meta(
                    f"u1.{size}",
                    labels={
                        "instancetype.kubevirt.io/vendor": "kubevirt.io",
                        "instancetype.kubevirt.io/class": "general.purpose",
                        "instancetype.kubevirt.io/cpu": str(cpus),
                        "instancetype.kubevirt.io/memory": memory,
                        "instancetype.kubevirt.io/size": size,
                        "instancetype.kubevirt.io/version": "1",
                        "instancetype.kubevirt.io/icon-pf": "pficon-server-group",
                        "instancetype.kubevirt.io/common-instancetypes-version": CI_VERSION,
                        "app.kubernetes.io/name": "common-instancetypes",
                    },
                    annotations={
                        "instancetype.kubevirt.io/displayName": "General Purpose",
                        "instancetype.kubevirt.io/description": (
                            "The U Series is quite neutral and provides resources for\n"
                            "general purpose applications.\n\n"
                            '*U* is the abbreviation for "Universal", hinting at the universal\n'
                            "attitude towards workloads.\n\n"
                            "VMs of instance types will share physical CPU cores on a\n"
                            "time-slice basis with other VMs."
                        ),
                    },
                ),
                "spec": {"cpu": {"guest": cpus}, "memory": {"guest": memory}},
            }
        )
    return out


def _preference_labels(os_type: str) -> dict[str, str]:
    return {
        "instancetype.kubevirt.io/vendor": "kubevirt.io",
        "instancetype.kubevirt.io/os-type": os_type,
        "instancetype.kubevirt.io/arch": "amd64",
        "instancetype.kubevirt.io/common-instancetypes-version": CI_VERSION,
        "app.kubernetes.io/name": "common-instancetypes",
    }


def _linux_preference(
    name: str, display: str, icon: str, tags: str, min_memory: str, secure_boot: bool = True
) -> Obj:
    spec: Obj = {
        "annotations": {"vm.kubevirt.io/os": "linux"},
        "cpu": {"preferredCPUTopology": "spread"},
        "devices": {
            "preferredDiskBus": "virtio",
            "preferredInterfaceModel": "virtio",
            "preferredInterfaceMultiqueue": True,
            "preferredRng": {},
        },
        "firmware": {"preferredEfi": {"secureBoot": secure_boot}},
        "requirements": {"cpu": {"guest": 1}, "memory": {"guest": min_memory}},
        "preferredTerminationGracePeriodSeconds": 180,
    }
    if secure_boot:
        spec["features"] = {"preferredSmm": {}}
    return {
        "apiVersion": IT_V1B1,
        "kind": "VirtualMachineClusterPreference",
        "metadata": _meta(
            name,
            labels=_preference_labels("linux"),
            annotations={
                "openshift.io/display-name": display,
                "iconClass": icon,
                "tags": tags,
                "openshift.io/provider-display-name": "KubeVirt",
            },
        ),
        "spec": spec,
    }


def _windows10_preference() -> Obj:
    return {
        "apiVersion": IT_V1B1,
        "kind": "VirtualMachineClusterPreference",
        "metadata": _meta(
            "windows.10",
            labels=_preference_labels("windows"),
            annotations={
                "openshift.io/display-name": "Microsoft Windows 10",
                "iconClass": "icon-windows",
                "tags": "hidden,kubevirt,windows",
                "openshift.io/provider-display-name": "KubeVirt",
            },
        ),
        "spec": {
            "annotations": {"vm.kubevirt.io/os": "windows"},
            "clock": {
                "preferredClockOffset": {"utc": {}},
                "preferredTimer": {
                    "hpet": {"present": False},
                    "hyperv": {},
                    "pit": {"tickPolicy": "delay"},
                    "rtc": {"tickPolicy": "catchup"},
                },
            },
            "cpu": {"preferredCPUTopology": "sockets"},
            "devices": {
                "preferredAutoattachInputDevice": True,
                "preferredDiskBus": "sata",
                "preferredInputBus": "usb",
                "preferredInputType": "tablet",
                "preferredInterfaceModel": "e1000e",
                "preferredTPM": {},
            },
            "features": {
                "preferredAcpi": {},
                "preferredApic": {},
                "preferredHyperv": {
                    "frequencies": {},
                    "ipi": {},
                    "reenlightenment": {},
                    "relaxed": {},
                    "reset": {},
                    "runtime": {},
                    "spinlocks": {"spinlocks": 8191},
                    "synic": {},
                    "synictimer": {"direct": {}},
                    "tlbflush": {},
                    "vapic": {},
                    "vpindex": {},
                },
                "preferredSmm": {},
            },
            "firmware": {"preferredEfi": {"secureBoot": True}},
            "requirements": {"cpu": {"guest": 1}, "memory": {"guest": "2Gi"}},
            "preferredTerminationGracePeriodSeconds": 3600,
        },
    }


def _cluster_preferences() -> list[Obj]:
    return [
        _linux_preference(
            "fedora", "Fedora (amd64)", "icon-fedora", "hidden,kubevirt,fedora", "2Gi"
        ),
        _linux_preference(
            "centos.stream9",
            "CentOS Stream 9 (amd64)",
            "icon-centos",
            "hidden,kubevirt,centos",
            "1.5Gi",
        ),
        _linux_preference(
            "rhel.9",
            "Red Hat Enterprise Linux 9 (amd64)",
            "icon-rhel",
            "hidden,kubevirt,rhel",
            "1.5Gi",
        ),
        _linux_preference(
            "ubuntu",
            "Ubuntu (amd64)",
            "icon-ubuntu",
            "hidden,kubevirt,ubuntu",
            "2Gi",
            secure_boot=False,
        ),
        _windows10_preference(),
    ]


def _namespaced_instancetypes() -> list[Obj]:
    return [
        {
            "apiVersion": IT_V1B1,
            "kind": "VirtualMachineInstancetype",
            "metadata": _meta(
                "dev-small",
                "vm-dev",
                labels={
                    "instancetype.kubevirt.io/vendor": "platform-team",
                    "instancetype.kubevirt.io/class": "development",
                    "instancetype.kubevirt.io/cpu": "1",
                    "instancetype.kubevirt.io/memory": "1Gi",
                    "env": "dev",
                },
                annotations={
                    "instancetype.kubevirt.io/displayName": "Developer sandbox",
                    "instancetype.kubevirt.io/description": "Small, overcommitted VMs for throwaway dev work.",
                },
            ),
            "spec": {"cpu": {"guest": 1}, "memory": {"guest": "1Gi", "overcommitPercent": 25}},
        },
        {
            "apiVersion": IT_V1B1,
            "kind": "VirtualMachinePreference",
            "metadata": _meta(
                "dev-linux",
                "vm-dev",
                labels={"instancetype.kubevirt.io/os-type": "linux", "env": "dev"},
                annotations={
                    "openshift.io/display-name": "Linux (dev defaults)",
                    "iconClass": "icon-linux",
                },
            ),
            "spec": {
                "devices": {
                    "preferredDiskBus": "virtio",
                    "preferredInterfaceModel": "virtio",
                    "preferredRng": {},
                },
                "preferredTerminationGracePeriodSeconds": 30,
            },
        },
    ]


# --------------------------------------------------------------------------------------------
# Networks, golden images, volumes
# --------------------------------------------------------------------------------------------


def _nads() -> list[Obj]:
    config = (
        '{"cniVersion": "0.3.1", "name": "br-vlan100", "type": "bridge", "bridge": "br1", '
        '"vlan": 100, "macspoofchk": true, "ipam": {}}'
    )
    return [
        {
            "apiVersion": NAD_V1,
            "kind": "NetworkAttachmentDefinition",
            "metadata": _meta(
                "br-vlan100",
                ns,
                labels={"env": env, "network": "vlan100"},
                annotations={
                    "k8s.v1.cni.cncf.io/resourceName": "bridge.network.kubevirt.io/br1",
                    "description": "Linux bridge br1, VLAN 100 (datacenter L2 segment)",
                },
            ),
            "spec": {"config": config},
        }
        for ns, env in (("vm-prod", "prod"), ("vm-dev", "dev"))
    ]


# name, display, http url, default instancetype, default preference
GOLDEN_IMAGES = [
    (
        "fedora",
        "Fedora 41 Cloud Base",
        "https://download.fedoraproject.org/pub/fedora/linux/releases/41/Cloud/x86_64/images/"
        "Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2",
        "u1.medium",
        "fedora",
    ),
    (
        "centos-stream9",
        "CentOS Stream 9 GenericCloud",
        "https://cloud.centos.org/centos/9-stream/x86_64/images/"
        "CentOS-Stream-GenericCloud-9-latest.x86_64.qcow2",
        "u1.medium",
        "centos.stream9",
    ),
    (
        "rhel9",
        "Red Hat Enterprise Linux 9.4 KVM guest image",
        "http://image-mirror.kubevirt-os-images.svc.cluster.local/rhel/rhel-9.4-x86_64-kvm.qcow2",
        "u1.medium",
        "rhel.9",
    ),
    (
        "ubuntu",
        "Ubuntu 24.04 LTS (Noble) cloud image",
        "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img",
        "u1.medium",
        "ubuntu",
    ),
    (
        "win10",
        "Windows 10 Enterprise 22H2 (sysprepped)",
        "http://image-mirror.kubevirt-os-images.svc.cluster.local/windows/win10-22h2-sysprep.qcow2",
        "u1.large",
        "windows.10",
    ),
]


def _golden_datavolumes() -> list[Obj]:
    return [
        {
            "apiVersion": CDI_V1B1,
            "kind": "DataVolume",
            "metadata": _meta(
                name,
                OS_IMAGES_NS,
                labels={
                    "app.kubernetes.io/component": "golden-image",
                    "os": name,
                    "instancetype.kubevirt.io/default-instancetype": itype,
                    "instancetype.kubevirt.io/default-preference": pref,
                },
                annotations={
                    "description": display,
                    "cdi.kubevirt.io/storage.bind.immediate.requested": "true",
                },
            ),
            "spec": {
                "source": {"http": {"url": url}},
                "storage": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "30Gi"}},
                    "storageClassName": "local-storage",
                },
            },
        }
        for name, display, url, itype, pref in GOLDEN_IMAGES
    ]


def _datasources() -> list[Obj]:
    return [
        {
            "apiVersion": CDI_V1B1,
            "kind": "DataSource",
            "metadata": _meta(
                name,
                OS_IMAGES_NS,
                labels={
                    "app.kubernetes.io/component": "golden-image",
                    "instancetype.kubevirt.io/default-instancetype": itype,
                    "instancetype.kubevirt.io/default-preference": pref,
                },
                annotations={"description": display},
            ),
            "spec": {"source": {"pvc": {"namespace": OS_IMAGES_NS, "name": name}}},
        }
        for name, display, _url, itype, pref in GOLDEN_IMAGES
    ]


def _standalone_volumes() -> list[Obj]:
    iso_library = {
        "apiVersion": V1,
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(
            "iso-library",
            "vm-dev",
            labels={"app": "iso-library", "tier": "storage", "env": "dev"},
            annotations={
                "description": "Installer ISOs and the virtio-win driver disk",
                "pv.kubernetes.io/bind-completed": "yes",
                "pv.kubernetes.io/bound-by-controller": "yes",
                "volume.beta.kubernetes.io/storage-provisioner": "kubevirt.io.hostpath-provisioner",
                "volume.kubernetes.io/storage-provisioner": "kubevirt.io.hostpath-provisioner",
            },
        ),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "10Gi"}},
            "storageClassName": "local-storage",
            "volumeMode": "Filesystem",
            "volumeName": "pvc-8c2f6a1e-3d4b-4f1a-9b7e-5a6c7d8e9f01",
        },
        "status": {
            "phase": "Bound",
            "accessModes": ["ReadWriteOnce"],
            "capacity": {"storage": "10Gi"},
        },
    }
    # A blank disk waiting to be hot-plugged into a running dev VM (addvolume demo).
    scratch = {
        "apiVersion": CDI_V1B1,
        "kind": "DataVolume",
        "metadata": _meta(
            "dev-scratch",
            "vm-dev",
            labels={"app": "scratch", "tier": "storage", "env": "dev"},
            annotations={"description": "Blank scratch disk, ready to hot-plug"},
        ),
        "spec": {
            "source": {"blank": {}},
            "storage": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "5Gi"}},
                "storageClassName": "local-storage",
            },
        },
    }
    return [iso_library, scratch]


# --------------------------------------------------------------------------------------------
# Templates (common-templates shapes)
# --------------------------------------------------------------------------------------------

FLAVORS = {"tiny": (1, "1.5Gi"), "small": (1, "2Gi"), "medium": (1, "4Gi"), "large": (2, "8Gi")}

# os key -> display, description, icon, osinfo ids, data source, cloud user, min memory bytes
LINUX_OSES: dict[str, dict[str, Any]] = {
    "fedora": {
        "display": "Fedora VM",
        "description": "Template for Fedora Linux 41 VM or newer.",
        "image": "Fedora",
        "icon": "icon-fedora",
        "tags": "hidden,kubevirt,virtualmachine,fedora",
        "os_ids": {
            "fedora41": "Fedora Linux 41 or higher",
            "fedora42": "Fedora Linux 41 or higher",
        },
        "datasource": "fedora",
        "user": "fedora",
        "containerdisk": "quay.io/containerdisks/fedora:latest",
        "min_memory": 1073741824,
    },
    "centos-stream9": {
        "display": "CentOS Stream 9 VM",
        "description": "Template for CentOS Stream 9 VM or newer.",
        "image": "CentOS Stream",
        "icon": "icon-centos",
        "tags": "hidden,kubevirt,virtualmachine,linux,centosstream",
        "os_ids": {"centos-stream9": "CentOS Stream 9 or higher"},
        "datasource": "centos-stream9",
        "user": "cloud-user",
        "containerdisk": "quay.io/containerdisks/centos-stream:9",
        "min_memory": 1610612736,
    },
    "rhel9": {
        "display": "Red Hat Enterprise Linux 9 VM",
        "description": "Template for Red Hat Enterprise Linux 9 VM or newer.",
        "image": "Red Hat Enterprise Linux",
        "icon": "icon-rhel",
        "tags": "hidden,kubevirt,virtualmachine,linux,rhel",
        "os_ids": {
            f"rhel9.{minor}": "Red Hat Enterprise Linux 9.0 or higher" for minor in range(5)
        },
        "datasource": "rhel9",
        "user": "cloud-user",
        "containerdisk": "registry.redhat.io/rhel9/rhel-guest-image",
        "min_memory": 1610612736,
    },
    "ubuntu": {
        "display": "Ubuntu VM",
        "description": "Template for Ubuntu 22.04 LTS VM or newer.",
        "image": "Ubuntu",
        "icon": "icon-ubuntu",
        "tags": "hidden,kubevirt,virtualmachine,linux,ubuntu",
        "os_ids": {
            "ubuntu22.04": "Ubuntu 22.04 LTS or higher",
            "ubuntu24.04": "Ubuntu 22.04 LTS or higher",
        },
        "datasource": "ubuntu",
        "user": "ubuntu",
        "containerdisk": "quay.io/containerdisks/ubuntu:24.04",
        "min_memory": 1073741824,
    },
}


def _template_common_annotations(display: str, description: str, icon: str, tags: str) -> Obj:
    return {
        "openshift.io/display-name": display,
        "description": description,
        "tags": tags,
        "iconClass": icon,
        "openshift.io/provider-display-name": "KubeVirt",
        "openshift.io/documentation-url": "https://github.com/kubevirt/common-templates",
        "openshift.io/support-url": "https://github.com/kubevirt/common-templates/issues",
        "template.openshift.io/bindable": "false",
        "template.kubevirt.io/version": "v1alpha1",
        "defaults.template.kubevirt.io/disk": "rootdisk",
    }


def _template_labels(
    os_ids: dict[str, str], workload: str, flavor: str, default: bool
) -> dict[str, str]:
    labels = {f"os.template.kubevirt.io/{os_id}": "true" for os_id in os_ids}
    labels[f"workload.template.kubevirt.io/{workload}"] = "true"
    labels[f"flavor.template.kubevirt.io/{flavor}"] = "true"
    labels["template.kubevirt.io/type"] = "base"
    labels["template.kubevirt.io/version"] = CT_VERSION
    if default:
        labels["template.kubevirt.io/default-os-variant"] = "true"
    labels["template.kubevirt.io/architecture"] = "amd64"
    return labels


def _validations(min_memory: int, windows: bool = False) -> str:
    rules = [
        "  {\n"
        '    "name": "minimal-required-memory",\n'
        '    "path": "jsonpath::.spec.domain.memory.guest",\n'
        '    "rule": "integer",\n'
        '    "message": "This VM requires more memory.",\n'
        f'    "min": {min_memory}\n'
        "  }"
    ]
    if windows:
        rules.append(
            "  {\n"
            '    "name": "windows-disk-bus",\n'
            '    "path": "jsonpath::.spec.domain.devices.disks[*].disk.bus",\n'
            '    "valid": "jsonpath::.spec.domain.devices.disks[*].disk.bus",\n'
            '    "rule": "enum",\n'
            '    "message": "disk bus has to be either virtio or sata or scsi",\n'
            '    "values": ["virtio", "sata", "scsi"]\n'
            "  }"
        )
    return "[\n" + ",\n".join(rules) + "\n]\n"


EDITABLE = (
    "/objects[0].spec.template.spec.domain.cpu.sockets\n"
    "/objects[0].spec.template.spec.domain.cpu.cores\n"
    "/objects[0].spec.template.spec.domain.cpu.threads\n"
    "/objects[0].spec.template.spec.domain.memory.guest\n"
    "/objects[0].spec.template.spec.domain.devices.disks\n"
    "/objects[0].spec.template.spec.volumes\n"
    "/objects[0].spec.template.spec.networks\n"
)


def _linux_template(
    os_key: str, flavor: str, default: bool = False, memory: str | None = None
) -> Obj:
    info = LINUX_OSES[os_key]
    name = f"{os_key}-server-{flavor}"
    cpus, flavor_memory = FLAVORS[flavor]
    memory = memory or flavor_memory
    annotations = _template_common_annotations(
        info["display"],
        f"{info['description']} A PVC with the {info['image']} disk image must be available.",
        info["icon"],
        info["tags"],
    )
    annotations["template.kubevirt.io/containerdisks"] = info["containerdisk"] + "\n"
    annotations["template.kubevirt.io/editable"] = EDITABLE
    for os_id, os_name in info["os_ids"].items():
        annotations[f"name.os.template.kubevirt.io/{os_id}"] = os_name
    vm = {
        "apiVersion": KUBEVIRT_V1,
        "kind": "VirtualMachine",
        "metadata": {
            "name": "${NAME}",
            "labels": {
                "vm.kubevirt.io/template": name,
                "vm.kubevirt.io/template.version": CT_VERSION,
                "vm.kubevirt.io/template.revision": "1",
                "app": "${NAME}",
            },
            "annotations": {"vm.kubevirt.io/validations": _validations(info["min_memory"])},
        },
        "spec": {
            "dataVolumeTemplates": [
                {
                    "apiVersion": CDI_V1B1,
                    "kind": "DataVolume",
                    "metadata": {"name": "${NAME}"},
                    "spec": {
                        "storage": {"resources": {"requests": {"storage": "30Gi"}}},
                        "sourceRef": {
                            "kind": "DataSource",
                            "name": "${DATA_SOURCE_NAME}",
                            "namespace": "${DATA_SOURCE_NAMESPACE}",
                        },
                    },
                }
            ],
            "runStrategy": "Halted",
            "template": {
                "metadata": {
                    "annotations": {
                        "vm.kubevirt.io/os": os_key,
                        "vm.kubevirt.io/workload": "server",
                        "vm.kubevirt.io/flavor": flavor,
                    },
                    "labels": {"kubevirt.io/domain": "${NAME}", "kubevirt.io/size": flavor},
                },
                "spec": {
                    "architecture": "amd64",
                    "domain": {
                        "features": {"smm": {"enabled": True}},
                        "firmware": {"bootloader": {"efi": {}}},
                        "cpu": _cpu(sockets=cpus),
                        "memory": {"guest": memory},
                        "devices": {
                            "rng": {},
                            "disks": [_disk("rootdisk"), _disk("cloudinitdisk")],
                            "interfaces": [_pod_nic()],
                        },
                    },
                    "terminationGracePeriodSeconds": 180,
                    "networks": [dict(POD_NETWORK)],
                    "volumes": [
                        {"name": "rootdisk", "dataVolume": {"name": "${NAME}"}},
                        {
                            "name": "cloudinitdisk",
                            "cloudInitNoCloud": {
                                "userData": (
                                    "#cloud-config\n"
                                    f"user: {info['user']}\n"
                                    "password: ${CLOUD_USER_PASSWORD}\n"
                                    "chpasswd: { expire: False }"
                                )
                            },
                        },
                    ],
                },
            },
        },
    }
    return {
        "apiVersion": TEMPLATE_V1,
        "kind": "Template",
        "metadata": _meta(
            name,
            TEMPLATES_NS,
            labels=_template_labels(info["os_ids"], "server", flavor, default),
            annotations=annotations,
        ),
        "objects": [vm],
        "parameters": [
            {
                "name": "NAME",
                "description": "VM name",
                "generate": "expression",
                "from": f"{os_key}-[a-z0-9]{{16}}",
            },
            {
                "name": "DATA_SOURCE_NAME",
                "description": "Name of the DataSource to clone",
                "value": info["datasource"],
            },
            {
                "name": "DATA_SOURCE_NAMESPACE",
                "description": "Namespace of the DataSource",
                "value": OS_IMAGES_NS,
            },
            {
                "name": "CLOUD_USER_PASSWORD",
                "description": f"Randomized password for the cloud-init user {info['user']}",
                "generate": "expression",
                "from": "[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}",
            },
        ],
    }


def _windows10_template(flavor: str = "medium", default: bool = True) -> Obj:
    name = f"windows10-desktop-{flavor}"
    cpus, memory = FLAVORS[flavor]
    os_ids = {"win10": "Microsoft Windows 10"}
    annotations = _template_common_annotations(
        "Microsoft Windows 10 VM",
        "Template for Microsoft Windows 10 VM. A PVC with the Windows disk image must be available.",
        "icon-windows",
        "hidden,kubevirt,virtualmachine,windows",
    )
    annotations["defaults.template.kubevirt.io/network"] = "default"
    annotations["template.kubevirt.io/editable"] = (
        "/objects[0].spec.template.spec.domain.cpu.cores\n"
        "/objects[0].spec.template.spec.domain.memory.guest\n"
        "/objects[0].spec.template.spec.domain.devices.disks\n"
        "/objects[0].spec.template.spec.volumes\n"
        "/objects[0].spec.template.spec.networks\n"
    )
    annotations["name.os.template.kubevirt.io/win10"] = os_ids["win10"]
    vm = {
        "apiVersion": KUBEVIRT_V1,
        "kind": "VirtualMachine",
        "metadata": {
            "name": "${NAME}",
            "labels": {
                "vm.kubevirt.io/template": name,
                "vm.kubevirt.io/template.version": CT_VERSION,
                "vm.kubevirt.io/template.revision": "1",
                "app": "${NAME}",
            },
            "annotations": {"vm.kubevirt.io/validations": _validations(2147483648, windows=True)},
        },
        "spec": {
            "dataVolumeTemplates": [
                {
                    "apiVersion": CDI_V1B1,
                    "kind": "DataVolume",
                    "metadata": {"name": "${NAME}"},
                    "spec": {
                        "storage": {"resources": {"requests": {"storage": "60Gi"}}},
                        "sourceRef": {
                            "kind": "DataSource",
                            "name": "${DATA_SOURCE_NAME}",
                            "namespace": "${DATA_SOURCE_NAMESPACE}",
                        },
                    },
                }
            ],
            "runStrategy": "Halted",
            "template": {
                "metadata": {
                    "annotations": {
                        "vm.kubevirt.io/os": "windows10",
                        "vm.kubevirt.io/workload": "desktop",
                        "vm.kubevirt.io/flavor": flavor,
                    },
                    "labels": {"kubevirt.io/domain": "${NAME}", "kubevirt.io/size": flavor},
                },
                "spec": {
                    "architecture": "amd64",
                    "domain": _windows_domain(cpus, memory, disks=[_disk("rootdisk", "sata")]),
                    "terminationGracePeriodSeconds": 3600,
                    "volumes": [{"name": "rootdisk", "dataVolume": {"name": "${NAME}"}}],
                    "networks": [dict(POD_NETWORK)],
                },
            },
        },
    }
    return {
        "apiVersion": TEMPLATE_V1,
        "kind": "Template",
        "metadata": _meta(
            name,
            TEMPLATES_NS,
            labels=_template_labels(os_ids, "desktop", flavor, default),
            annotations=annotations,
        ),
        "objects": [vm],
        "parameters": [
            {
                "name": "NAME",
                "description": "VM name",
                "generate": "expression",
                "from": "windows10-[a-z0-9]{16}",
            },
            {
                "name": "DATA_SOURCE_NAME",
                "description": "Name of the DataSource to clone",
                "value": "win10",
            },
            {
                "name": "DATA_SOURCE_NAMESPACE",
                "description": "Namespace of the DataSource",
                "value": OS_IMAGES_NS,
            },
        ],
    }


def _windows_domain(
    cpus: int,
    memory: str,
    disks: list[Obj],
    timezone: str | None = None,
    cores: int = 1,
) -> Obj:
    """The common-templates Windows domain: sata disks, e1000e NIC, Hyper-V enlightenments."""
    clock: Obj = {"timezone": timezone} if timezone else {"utc": {}}
    clock["timer"] = {
        "hpet": {"present": False},
        "pit": {"tickPolicy": "delay"},
        "rtc": {"tickPolicy": "catchup"},
        "hyperv": {},
    }
    return {
        "clock": clock,
        "cpu": _cpu(sockets=cpus, cores=cores),
        "memory": {"guest": memory},
        "features": {
            "acpi": {},
            "apic": {},
            "smm": {},
            "hyperv": {
                "relaxed": {},
                "vapic": {},
                "vpindex": {},
                "spinlocks": {"spinlocks": 8191},
                "synic": {},
                "synictimer": {"direct": {}},
                "tlbflush": {},
                "frequencies": {},
                "reenlightenment": {},
                "ipi": {},
                "runtime": {},
                "reset": {},
            },
        },
        "firmware": {"bootloader": {"efi": {"secureBoot": True}}},
        "devices": {
            "disks": disks,
            "interfaces": [_pod_nic("e1000e")],
            "inputs": [{"type": "tablet", "bus": "usb", "name": "tablet"}],
        },
    }


def _templates() -> list[Obj]:
    return [
        _linux_template("fedora", "small", default=True),
        _linux_template("fedora", "medium"),
        _linux_template("fedora", "large"),
        _linux_template("centos-stream9", "small", default=True),
        _linux_template("rhel9", "small", default=True),
        # Ubuntu: not upstream in common-templates; shaped like Fedora, small = 1 vCPU / 3Gi.
        _linux_template("ubuntu", "small", default=True, memory="3Gi"),
        _windows10_template("medium"),
    ]


# --------------------------------------------------------------------------------------------
# Virtual machines
# --------------------------------------------------------------------------------------------


def _from_template_labels(template: str, os_id: str, flavor: str, workload: str) -> dict[str, str]:
    return {
        "vm.kubevirt.io/template": template,
        "vm.kubevirt.io/template.namespace": TEMPLATES_NS,
        "vm.kubevirt.io/template.version": CT_VERSION,
        "vm.kubevirt.io/template.revision": "1",
        f"os.template.kubevirt.io/{os_id}": "true",
        f"flavor.template.kubevirt.io/{flavor}": "true",
        f"workload.template.kubevirt.io/{workload}": "true",
    }


def _vm_prod() -> list[Obj]:
    ns = "vm-prod"
    web_01 = _vm(
        "web-01",
        ns,
        run_strategy="Always",
        labels={
            "app": "web",
            "tier": "frontend",
            "env": "prod",
            **_from_template_labels("fedora-server-small", "fedora41", "small", "server"),
        },
        annotations={
            "description": "Public web frontend (nginx), blue pool. Owner: web team.",
            "name.os.template.kubevirt.io/fedora41": "Fedora Linux 41",
        },
        template_annotations={
            "vm.kubevirt.io/os": "fedora",
            "vm.kubevirt.io/workload": "server",
            "vm.kubevirt.io/flavor": "small",
        },
        template_labels={"kubevirt.io/size": "small"},
        dv_templates=[_dv_from_datasource("web-01", "fedora", labels={"app": "web"})],
        domain={
            "features": {"smm": {"enabled": True}},
            "firmware": {"bootloader": {"efi": {}}},
            "cpu": _cpu(),
            "memory": {"guest": "2Gi"},
            "devices": {
                "rng": {},
                "disks": [_disk("rootdisk", boot_order=1), _disk("cloudinitdisk")],
                "interfaces": [_pod_nic()],
            },
        },
        networks=[dict(POD_NETWORK)],
        volumes=[
            {"name": "rootdisk", "dataVolume": {"name": "web-01"}},
            _cloudinit_volume("fedora", "hostname: web-01\npackages: [nginx]\n"),
        ],
        extra_vmi_spec={"architecture": "amd64"},
    )
    web_02 = _vm(
        "web-02",
        ns,
        run_strategy="Always",
        labels={"app": "web", "tier": "frontend", "env": "prod"},
        annotations={
            "description": "Public web frontend (nginx), green pool. Live-migratable (container disk).",
            MIGRATION_SECONDS: "600",
        },
        domain={
            "cpu": _cpu(),
            "memory": {"guest": "2Gi"},
            "devices": {
                "rng": {},
                "networkInterfaceMultiqueue": True,
                "disks": [_disk("containerdisk", boot_order=1), _disk("cloudinitdisk")],
                "interfaces": [_pod_nic()],
            },
        },
        networks=[dict(POD_NETWORK)],
        volumes=[
            {
                "name": "containerdisk",
                "containerDisk": {"image": "quay.io/containerdisks/fedora:41"},
            },
            _cloudinit_volume("fedora", "hostname: web-02\npackages: [nginx]\n"),
        ],
        extra_vmi_spec={"evictionStrategy": "LiveMigrate"},
    )
    db_01 = _vm(
        "db-01",
        ns,
        run_strategy="Always",
        labels={"app": "postgres", "tier": "database", "env": "prod", "backup": "nightly"},
        annotations={
            "description": "PostgreSQL 16 primary. Replicates to db-02 over VLAN 100.",
        },
        dv_templates=[
            _dv_from_datasource("db-01-rootdisk", "centos-stream9", labels={"app": "postgres"}),
            {
                "apiVersion": CDI_V1B1,
                "kind": "DataVolume",
                "metadata": _meta("db-01-data", labels={"app": "postgres"}),
                "spec": {
                    "source": {"blank": {}},
                    "storage": {
                        "accessModes": ["ReadWriteMany"],
                        "volumeMode": "Block",
                        "resources": {"requests": {"storage": "50Gi"}},
                        "storageClassName": "ceph-rbd",
                    },
                },
            },
        ],
        domain={
            "cpu": _cpu(sockets=2),
            "memory": {"guest": "4Gi"},
            "devices": {
                "rng": {},
                "disks": [
                    _disk("rootdisk", boot_order=1),
                    {**_disk("datadisk"), "serial": "pgdata01", "cache": "none", "io": "native"},
                    _disk("cloudinitdisk"),
                ],
                "interfaces": [
                    _pod_nic(),
                    {
                        "name": "replication",
                        "bridge": {},
                        "model": "virtio",
                        "macAddress": "02:6b:76:00:64:11",
                    },
                ],
            },
        },
        networks=[
            dict(POD_NETWORK),
            {"name": "replication", "multus": {"networkName": "br-vlan100"}},
        ],
        volumes=[
            {"name": "rootdisk", "dataVolume": {"name": "db-01-rootdisk"}},
            {"name": "datadisk", "dataVolume": {"name": "db-01-data"}},
            _cloudinit_volume(
                "centos",
                "hostname: db-01\n",
                network_data=(
                    "version: 2\n"
                    "ethernets:\n"
                    "  eth0:\n"
                    "    dhcp4: true\n"
                    "  eth1:\n"
                    "    addresses: [192.168.100.11/24]\n"
                ),
            ),
        ],
    )
    db_02 = _vm(
        "db-02",
        ns,
        run_strategy="Halted",
        labels={
            "app": "postgres",
            "tier": "database",
            "env": "prod",
            "role": "standby",
            **_from_template_labels("rhel9-server-small", "rhel9.4", "small", "server"),
        },
        annotations={"description": "PostgreSQL standby on RHEL 9. Start it for failover drills."},
        dv_templates=[_dv_from_datasource("db-02", "rhel9", labels={"app": "postgres"})],
        domain={
            "cpu": _cpu(sockets=2),
            "memory": {"guest": "4Gi"},
            "devices": {
                "rng": {},
                "disks": [_disk("rootdisk", boot_order=1), _disk("cloudinitdisk")],
                "interfaces": [_pod_nic()],
            },
        },
        networks=[dict(POD_NETWORK)],
        volumes=[
            {"name": "rootdisk", "dataVolume": {"name": "db-02"}},
            _cloudinit_volume("rhel", "hostname: db-02\n"),
        ],
    )
    cache_01 = _vm(
        "cache-01",
        ns,
        run_strategy="RerunOnFailure",
        labels={"app": "redis", "tier": "cache", "env": "prod"},
        annotations={"description": "Redis cache. Sized by the u1.medium instancetype."},
        extra_spec={
            "instancetype": {"kind": "VirtualMachineClusterInstancetype", "name": "u1.medium"},
            "preference": {"kind": "VirtualMachineClusterPreference", "name": "fedora"},
        },
        domain={
            "devices": {
                "disks": [_disk("containerdisk", None), _disk("cloudinitdisk", None)],
                "interfaces": [_pod_nic(None)],
            },
        },
        networks=[dict(POD_NETWORK)],
        volumes=[
            {
                "name": "containerdisk",
                "containerDisk": {"image": "quay.io/containerdisks/fedora:41"},
            },
            _cloudinit_volume("fedora", "hostname: cache-01\npackages: [redis]\n"),
        ],
    )
    ml_train = _vm(
        "ml-train-01",
        ns,
        run_strategy="Always",
        labels={"app": "ml-training", "tier": "batch", "env": "prod"},
        annotations={
            "description": "Model training worker. Needs an A100 node (none in this cluster yet).",
        },
        domain={
            "cpu": _cpu(sockets=8),
            "memory": {"guest": "32Gi"},
            "devices": {
                "disks": [_disk("containerdisk", boot_order=1), _disk("cloudinitdisk")],
                "interfaces": [_pod_nic()],
            },
        },
        networks=[dict(POD_NETWORK)],
        volumes=[
            {
                "name": "containerdisk",
                "containerDisk": {"image": "quay.io/containerdisks/ubuntu:24.04"},
            },
            _cloudinit_volume("ubuntu", "hostname: ml-train-01\n"),
        ],
        extra_vmi_spec={
            "nodeSelector": {"gpu": "nvidia-a100"},
            "tolerations": [
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
            ],
        },
    )
    return [web_01, web_02, db_01, db_02, cache_01, ml_train]


def _vm_dev() -> list[Obj]:
    ns = "vm-dev"
    dev_fedora = _vm(
        "dev-fedora",
        ns,
        run_strategy="Always",
        labels={"app": "devbox", "tier": "dev", "env": "dev", "owner": "alice"},
        annotations={"description": "Alice's Fedora workstation VM."},
        dv_templates=[
            _dv_from_datasource("dev-fedora-rootdisk", "fedora", labels={"app": "devbox"})
        ],
        domain={
            "cpu": _cpu(cores=2),
            "memory": {"guest": "4Gi"},
            "devices": {
                "rng": {},
                "disks": [_disk("rootdisk", boot_order=1), _disk("cloudinitdisk")],
                "interfaces": [_pod_nic()],
            },
        },
        networks=[dict(POD_NETWORK)],
        volumes=[
            {"name": "rootdisk", "dataVolume": {"name": "dev-fedora-rootdisk"}},
            _cloudinit_volume("fedora", "hostname: dev-fedora\n"),
        ],
    )
    dev_ubuntu = _vm(
        "dev-ubuntu",
        ns,
        run_strategy="Manual",
        labels={"app": "devbox", "tier": "dev", "env": "dev", "owner": "bob"},
        annotations={"description": "Bob's Ubuntu VM. Manual run strategy: start it when needed."},
        dv_templates=[
            _dv_from_datasource("dev-ubuntu-rootdisk", "ubuntu", labels={"app": "devbox"})
        ],
        domain={
            "cpu": _cpu(),
            "memory": {"guest": "3Gi"},
            "devices": {
                "rng": {},
                "disks": [_disk("rootdisk", boot_order=1), _disk("cloudinitdisk")],
                "interfaces": [_pod_nic()],
            },
        },
        networks=[dict(POD_NETWORK)],
        volumes=[
            {"name": "rootdisk", "dataVolume": {"name": "dev-ubuntu-rootdisk"}},
            _cloudinit_volume("ubuntu", "hostname: dev-ubuntu\n"),
        ],
    )
    pxe = _vm(
        "pxe-installer",
        ns,
        run_strategy="Halted",
        labels={"app": "pxe-installer", "tier": "infra", "env": "dev"},
        annotations={
            "description": "Boots from the network (PXE on VLAN 100) and installs onto a blank disk.",
        },
        dv_templates=[
            {
                "apiVersion": CDI_V1B1,
                "kind": "DataVolume",
                "metadata": _meta("pxe-installer-disk", labels={"app": "pxe-installer"}),
                "spec": {
                    "source": {"blank": {}},
                    "storage": {"resources": {"requests": {"storage": "20Gi"}}},
                },
            }
        ],
        domain={
            "cpu": _cpu(sockets=2),
            "memory": {"guest": "2Gi"},
            "devices": {
                "disks": [_disk("installdisk", boot_order=2)],
                "interfaces": [
                    {
                        "name": "provisioning",
                        "bridge": {},
                        "model": "virtio",
                        "macAddress": "02:6b:76:00:64:50",
                        "bootOrder": 1,
                    }
                ],
            },
        },
        networks=[{"name": "provisioning", "multus": {"networkName": "br-vlan100"}}],
        volumes=[{"name": "installdisk", "dataVolume": {"name": "pxe-installer-disk"}}],
    )
    win_build = _vm(
        "win-build",
        ns,
        run_strategy="Always",
        labels={
            "app": "ci-runner",
            "tier": "build",
            "env": "dev",
            **_from_template_labels("windows10-desktop-medium", "win10", "medium", "desktop"),
        },
        annotations={
            "description": "Windows 10 build agent for the desktop client (MSVC, WiX).",
            "name.os.template.kubevirt.io/win10": "Microsoft Windows 10",
        },
        template_annotations={
            "vm.kubevirt.io/os": "windows10",
            "vm.kubevirt.io/workload": "desktop",
            "vm.kubevirt.io/flavor": "medium",
        },
        template_labels={"kubevirt.io/size": "medium"},
        dv_templates=[
            _dv_from_datasource("win-build-rootdisk", "win10", "60Gi", labels={"app": "ci-runner"})
        ],
        domain=_windows_domain(
            1,
            "8Gi",
            disks=[
                _disk("rootdisk", "sata", boot_order=1),
                {"name": "drivers", "cdrom": {"bus": "sata", "readonly": True}},
            ],
            timezone="Asia/Shanghai",
            cores=4,
        ),
        networks=[dict(POD_NETWORK)],
        volumes=[
            {"name": "rootdisk", "dataVolume": {"name": "win-build-rootdisk"}},
            {
                "name": "drivers",
                "persistentVolumeClaim": {"claimName": "iso-library", "readOnly": True},
            },
        ],
        grace=3600,
        extra_vmi_spec={"architecture": "amd64"},
    )
    build_centos = _vm(
        "build-centos",
        ns,
        run_strategy="Always",
        labels={"app": "ci-runner", "tier": "build", "env": "dev"},
        annotations={
            "description": "CentOS Stream 9 build host, imported straight from cloud.centos.org.",
            IMPORT_SECONDS: "600",
        },
        dv_templates=[
            {
                "apiVersion": CDI_V1B1,
                "kind": "DataVolume",
                "metadata": _meta(
                    "build-centos-rootdisk",
                    labels={"app": "ci-runner"},
                    annotations={IMPORT_SECONDS: "600"},
                ),
                "spec": {
                    "source": {
                        "http": {
                            "url": "https://cloud.centos.org/centos/9-stream/x86_64/images/"
                            "CentOS-Stream-GenericCloud-9-latest.x86_64.qcow2"
                        }
                    },
                    "storage": {
                        "resources": {"requests": {"storage": "40Gi"}},
                        "storageClassName": "local-storage",
                    },
                },
            }
        ],
        domain={
            "cpu": _cpu(sockets=4),
            "memory": {"guest": "8Gi"},
            "devices": {
                "rng": {},
                "disks": [_disk("rootdisk", boot_order=1), _disk("cloudinitdisk")],
                "interfaces": [_pod_nic()],
            },
        },
        networks=[dict(POD_NETWORK)],
        volumes=[
            {"name": "rootdisk", "dataVolume": {"name": "build-centos-rootdisk"}},
            _cloudinit_volume("centos", "hostname: build-centos\n"),
        ],
    )
    sandbox = _vm(
        "dev-sandbox",
        ns,
        run_strategy="Halted",
        labels={"app": "sandbox", "tier": "dev", "env": "dev"},
        annotations={"description": "Throwaway VM sized by the namespaced dev-small instancetype."},
        extra_spec={
            "instancetype": {"kind": "VirtualMachineInstancetype", "name": "dev-small"},
            "preference": {"kind": "VirtualMachinePreference", "name": "dev-linux"},
        },
        domain={
            "devices": {
                "disks": [_disk("containerdisk", None), _disk("cloudinitdisk", None)],
                "interfaces": [_pod_nic(None)],
            }
        },
        networks=[dict(POD_NETWORK)],
        volumes=[
            {
                "name": "containerdisk",
                "containerDisk": {"image": "quay.io/containerdisks/fedora:41"},
            },
            _cloudinit_volume("fedora", "hostname: dev-sandbox\n"),
        ],
        grace=30,
    )
    return [dev_fedora, dev_ubuntu, pxe, win_build, build_centos, sandbox]


def _vm_default() -> list[Obj]:
    # The user guide's Fedora sample (brief §10), without the ssh-key Secret it refers to.
    testvm = _vm(
        "testvm",
        "default",
        run_strategy="Always",
        labels={"app": "testvm", "tier": "test", "env": "test", "kubevirt.io/vm": "testvm"},
        domain={
            "devices": {
                "disks": [_disk("containerdisk"), _disk("cloudinitdisk")],
                "interfaces": [_pod_nic(None)],
                "rng": {},
            },
            "resources": {"requests": {"memory": "1024M"}},
        },
        networks=[dict(POD_NETWORK)],
        volumes=[
            {
                "name": "containerdisk",
                "containerDisk": {"image": "quay.io/containerdisks/fedora:latest"},
            },
            _cloudinit_volume("fedora"),
        ],
        grace=0,
    )
    return [testvm]


def _product_sample_vm() -> Obj:
    """`kubevirt-examples/00-product-sample-vm.yaml`, verbatim (deprecated `running: false`)."""
    return {
        "apiVersion": KUBEVIRT_V1,
        "kind": "VirtualMachine",
        "metadata": {
            "name": "vm-example",
            "namespace": "openshift-cnv",
            "labels": {
                "app": "vm-example",
                "os.template.kubevirt.io/fedora35": "true",
                "flavor.template.kubevirt.io/small": "true",
                "vm.kubevirt.io/template": "fedora-server-small",
                "workload.template.kubevirt.io/server": "true",
            },
            "annotations": {
                "name.os.template.kubevirt.io/fedora35": "Fedora 35",
                "description": "VM example",
            },
        },
        "spec": {
            "running": False,
            "template": {
                "metadata": {
                    "annotations": {
                        "vm.kubevirt.io/flavor": "small",
                        "vm.kubevirt.io/os": "fedora",
                        "vm.kubevirt.io/workload": "server",
                    },
                    "labels": {
                        "flavor.template.kubevirt.io/small": "true",
                        "kubevirt.io/domain": "vm-example",
                        "kubevirt.io/size": "small",
                        "vm.kubevirt.io/name": "vm-example",
                        "os.template.kubevirt.io/fedora35": "true",
                        "workload.template.kubevirt.io/server": "true",
                    },
                },
                "spec": {
                    "domain": {
                        "machine": {"type": "virt"},
                        "cpu": {"cores": 1, "sockets": 1, "threads": 1},
                        "devices": {
                            "disks": [
                                {
                                    "bootOrder": 1,
                                    "disk": {"bus": "virtio"},
                                    "name": "containerdisk",
                                },
                                {"disk": {"bus": "virtio"}, "name": "cloudinitdisk"},
                            ],
                            "interfaces": [
                                {"masquerade": {}, "name": "default", "model": "virtio"}
                            ],
                            "networkInterfaceMultiqueue": True,
                            "rng": {},
                        },
                        "resources": {"requests": {"memory": "1G"}},
                    },
                    "hostname": "vm-example",
                    "networks": [{"name": "default", "pod": {}}],
                    "terminationGracePeriodSeconds": 0,
                    "volumes": [
                        {
                            "containerDisk": {"image": "quay.io/containerdisks/fedora:35"},
                            "name": "containerdisk",
                        },
                        {
                            "cloudInitNoCloud": {
                                "userData": (
                                    "#cloud-config\npassword: fedora\nchpasswd: { expire: False }"
                                )
                            },
                            "name": "cloudinitdisk",
                        },
                    ],
                },
            },
        },
    }


def _snapshots() -> list[Obj]:
    def snap(name: str, ns: str, vm: str, labels: dict[str, str], description: str) -> Obj:
        return {
            "apiVersion": SNAP_V1B1,
            "kind": "VirtualMachineSnapshot",
            "metadata": _meta(name, ns, labels=labels, annotations={"description": description}),
            "spec": {
                "source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm},
                "deletionPolicy": "Delete",
                "failureDeadline": "5m",
            },
        }

    return [
        snap(
            "db-01-nightly",
            "vm-prod",
            "db-01",
            {"app": "postgres", "env": "prod", "backup": "nightly"},
            "Nightly backup of the PostgreSQL primary",
        ),
        snap(
            "dev-fedora-pre-upgrade",
            "vm-dev",
            "dev-fedora",
            {"app": "devbox", "env": "dev"},
            "Before the Fedora 41 -> 42 upgrade",
        ),
    ]


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def seed_objects() -> list[dict]:
    """Manifests (plain dicts, apiVersion/kind/metadata/spec, NO status, NO resourceVersion/uid)
    in creation order: namespaces first, then nodes, storage classes, cluster kinds, namespaced
    kinds, VMs, and last the snapshots of VMs (they need their source VM to exist).

    Only Nodes and the plain PVC `vm-dev/iso-library` carry a status: no controller writes one.
    Each call returns fresh copies, so callers may mutate them.
    """
    objects: list[Obj] = [
        *_namespaces(),
        *_nodes(),
        *_storage_classes(),
        *_cluster_instancetypes(),
        *_cluster_preferences(),
        *_nads(),
        *_namespaced_instancetypes(),
        *_golden_datavolumes(),
        *_datasources(),
        *_standalone_volumes(),
        *_templates(),
        *_vm_prod(),
        *_vm_dev(),
        *_vm_default(),
        _product_sample_vm(),
        *_snapshots(),
    ]
    return copy.deepcopy(objects)


def seed_actions() -> list[tuple[str, str, str]]:
    """What the simulator does once the seeded VMs have settled, to reach states that need an
    action: (verb, namespace, vm name), verbs `pause` and `migrate`."""
    return [
        ("pause", "vm-prod", "db-01"),
        ("migrate", "vm-prod", "web-02"),
    ]


# The state each seeded VM is meant to show once the demo has settled (for docs and tests).
INTENDED_STATES: dict[tuple[str, str], str] = {
    ("vm-prod", "web-01"): "Running",
    ("vm-prod", "web-02"): "Migrating",
    ("vm-prod", "db-01"): "Paused",
    ("vm-prod", "db-02"): "Stopped",
    ("vm-prod", "cache-01"): "Running",
    ("vm-prod", "ml-train-01"): "ErrorUnschedulable",
    ("vm-dev", "dev-fedora"): "Running",
    ("vm-dev", "dev-ubuntu"): "Stopped",
    ("vm-dev", "pxe-installer"): "Stopped",
    ("vm-dev", "win-build"): "Running",
    ("vm-dev", "build-centos"): "Provisioning",
    ("vm-dev", "dev-sandbox"): "Stopped",
    ("default", "testvm"): "Running",
    ("openshift-cnv", "vm-example"): "Stopped",
}
