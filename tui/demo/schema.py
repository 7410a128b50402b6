"""Strict field validation for the demo API server: which fields of an object are unknown.

The real API server decodes custom resources against the CRD's structural schema. With
`?fieldValidation=Strict` (what kubectl sends) an unknown field makes the request fail with
422 `strict decoding error: unknown field "spec.template.spec.domain.devicess"`; with `Warn`
the object is accepted and each unknown field comes back as a `Warning` header; with
`Ignore` nothing is said (the field is pruned). kvtui's YAML editor uses the same mechanism
to flag misspelled fields.

The schemas below are a compact, hand-written copy of KubeVirt v1.9's CRDs
(`pkg/virt-operator/resource/generate/components/validations_generated.go`) and CDI's
DataVolume: at every level written out, the known field names are exactly the CRD's, so a
valid manifest never trips it. Below that depth objects are free-form (`ANY`), as are the
places the CRDs mark `x-kubernetes-preserve-unknown-fields` (template metadata,
`domain.clock`) and the Kubernetes types whose detail does not pay here (affinity,
tolerations, probes, label maps). Status is free-form. Kinds without a schema here have no
unknown fields.
"""

from __future__ import annotations

from typing import Any, TypeAlias

# A schema node is ANY (free-form: anything goes, don't descend), a dict of field name to
# node (an object with exactly those fields), or a one-element list holding the node of the
# list's items.
ANY = None
Node: TypeAlias = "dict[str, Node] | list[Node] | None"


def obj(*leaves: str, **children: Node) -> dict[str, Node]:
    """An object schema: `leaves` are fields not looked into, `children` have their own."""
    node: dict[str, Node] = dict.fromkeys(leaves, ANY)
    node.update(children)
    return node


def list_of(item: Node) -> list[Node]:
    return [item]


EMPTY = obj  # `EMPTY()`: an object with no fields at all, such as `masquerade: {}`

# metav1.ObjectMeta: strict at the top level of every object (the API server decodes it
# into the Go type), free-form inside.
OBJECT_META = obj(
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
)

# ---- VirtualMachineInstance spec (also the VM's spec.template.spec) -------------------

CPU = obj(
    "cores",
    "dedicatedCpuPlacement",  # sic: the JSON name differs from the Go field's
    "isolateEmulatorThread",
    "maxSockets",
    "model",
    "numa",
    "realtime",
    "sockets",
    "threads",
    features=list_of(obj("name", "policy")),
)

MEMORY = obj(
    "guest",
    "maxGuest",
    hugepages=obj("pageSize"),
    reservedOverhead=obj("addedOverhead", "memLock"),
)

RESOURCES = obj("limits", "requests", "overcommitGuestOverhead")

FEATURES = obj(
    "hyperv",
    acpi=obj("enabled"),
    apic=obj("enabled", "endOfInterrupt"),
    hypervPassthrough=obj("enabled"),
    kvm=obj("hidden"),
    pvspinlock=obj("enabled"),
    smm=obj("enabled"),
)

FIRMWARE = obj(
    "kernelBoot",
    "serial",
    "uuid",
    acpi=obj("msdmNameRef", "slicNameRef"),
    bootloader=obj(bios=obj("useSerial"), efi=obj("persistent", "secureBoot")),
)

DISK = obj(
    "bootOrder",
    "cache",
    "changedBlockTracking",
    "dedicatedIOThread",
    "errorPolicy",
    "io",
    "name",
    "serial",
    "shareable",
    "tag",
    blockSize=obj(
        custom=obj("discardGranularity", "logical", "physical"), matchVolume=obj("enabled")
    ),
    cdrom=obj("bus", "readonly", "tray"),
    disk=obj("bus", "pciAddress", "readonly"),
    lun=obj("bus", "readonly", "reservation"),
)

INTERFACE = obj(
    "acpiIndex",
    "bootOrder",
    "macAddress",
    "model",
    "name",
    "pciAddress",
    "state",
    "tag",
    binding=obj("name"),
    bridge=EMPTY(),
    dhcpOptions=obj("bootFileName", "ntpServers", "privateOptions", "tftpServerName"),
    macvtap=EMPTY(),  # discontinued bindings are still in the schema (the webhook refuses them)
    masquerade=EMPTY(),
    passt=EMPTY(),
    passtBinding=EMPTY(),
    portRanges=list_of(obj("end", "protocol", "start")),
    ports=list_of(obj("name", "port", "protocol")),
    slirp=EMPTY(),
    sriov=EMPTY(),
)

DEVICES = obj(
    "autoattachGraphicsDevice",
    "autoattachInputDevice",
    "autoattachMemBalloon",
    "autoattachPodInterface",
    "autoattachSerialConsole",
    "autoattachVSOCK",
    "blockMultiQueue",
    "disableHotplug",
    "logSerialConsole",
    "networkInterfaceMultiqueue",
    "useVirtioTransitional",
    clientPassthrough=EMPTY(),
    disks=list_of(DISK),
    downwardMetrics=EMPTY(),
    filesystems=list_of(obj("name", virtiofs=EMPTY())),
    gpus=list_of(obj("claimName", "deviceName", "name", "requestName", "tag", "virtualGPUOptions")),
    hostDevices=list_of(obj("claimName", "deviceName", "name", "requestName", "tag")),
    inputs=list_of(obj("bus", "name", "type")),
    interfaces=list_of(INTERFACE),
    panicDevices=list_of(obj("model")),
    rng=EMPTY(),
    sound=obj("model", "name"),
    tpm=obj("enabled", "persistent"),
    video=obj("type"),
    watchdog=obj("name", diag288=obj("action"), i6300esb=obj("action")),
)

DOMAIN = obj(
    "chassis",
    "clock",  # x-kubernetes-preserve-unknown-fields in the CRD
    "ioThreads",
    "ioThreadsPolicy",
    "launchSecurity",
    "rebootPolicy",
    cpu=CPU,
    devices=DEVICES,
    features=FEATURES,
    firmware=FIRMWARE,
    machine=obj("type"),
    memory=MEMORY,
    resources=RESOURCES,
)

CLOUD_INIT = obj(
    "networkData",
    "networkDataBase64",
    "userData",
    "userDataBase64",
    networkDataSecretRef=obj("name"),
    secretRef=obj("name"),
)

VOLUME = obj(
    "name",
    cloudInitConfigDrive=CLOUD_INIT,
    cloudInitNoCloud=CLOUD_INIT,
    configMap=obj("name", "optional", "volumeLabel"),
    containerDisk=obj("image", "imagePullPolicy", "imagePullSecret", "path"),
    containerPath=obj("path", "readOnly"),
    dataVolume=obj("hotpluggable", "name"),
    downwardAPI=obj("fields", "volumeLabel"),
    downwardMetrics=EMPTY(),
    emptyDisk=obj("capacity"),
    ephemeral=obj(persistentVolumeClaim=obj("claimName", "readOnly")),
    hostDisk=obj("capacity", "path", "shared", "type"),
    memoryDump=obj("claimName", "hotpluggable", "readOnly"),
    persistentVolumeClaim=obj("claimName", "hotpluggable", "readOnly"),
    secret=obj("optional", "secretName", "volumeLabel"),
    serviceAccount=obj("serviceAccountName"),
    sysprep=obj(configMap=obj("name"), secret=obj("name")),
)

NETWORK = obj(
    "name",
    multus=obj("default", "networkName"),
    pod=obj("vmIPv6NetworkCIDR", "vmNetworkCIDR"),
    resourceClaim=obj("claimName", "requestName"),
)

_SECRET_SOURCE = obj(secret=obj("secretName"))
ACCESS_CREDENTIAL = obj(
    sshPublicKey=obj(
        propagationMethod=obj(configDrive=EMPTY(), noCloud=EMPTY(), qemuGuestAgent=obj("users")),
        source=_SECRET_SOURCE,
    ),
    userPassword=obj(
        propagationMethod=obj(qemuGuestAgent=EMPTY()),
        source=_SECRET_SOURCE,
    ),
)

VMI_SPEC = obj(
    # Kubernetes scheduling/probe types: free-form here.
    "affinity",
    "architecture",
    "dnsConfig",
    "dnsPolicy",
    "evictionStrategy",
    "hostname",
    "livenessProbe",
    "nodeSelector",
    "priorityClassName",
    "readinessProbe",
    "resourceClaims",
    "schedulerName",
    "serviceAccountName",
    "startStrategy",
    "subdomain",
    "terminationGracePeriodSeconds",
    "tolerations",
    "topologySpreadConstraints",
    "utilityVolumes",
    accessCredentials=list_of(ACCESS_CREDENTIAL),
    domain=DOMAIN,
    networks=list_of(NETWORK),
    volumes=list_of(VOLUME),
)

# ---- CDI DataVolume spec (also the VM's dataVolumeTemplates[].spec) -------------------

_STORAGE_FIELDS = (
    "accessModes",
    "dataSource",
    "dataSourceRef",
    "selector",
    "storageClassName",
    "volumeMode",
    "volumeName",
)
_NAMESPACED_REF = obj("name", "namespace")

DV_SOURCE = obj(
    blank=EMPTY(),
    gcs=obj("secretRef", "url"),
    http=obj("certConfigMap", "extraHeaders", "secretExtraHeaders", "secretRef", "url"),
    imageio=obj("certConfigMap", "diskId", "insecureSkipVerify", "secretRef", "url"),
    pvc=_NAMESPACED_REF,
    registry=obj("certConfigMap", "imageStream", "platform", "pullMethod", "secretRef", "url"),
    s3=obj("certConfigMap", "secretRef", "url"),
    snapshot=_NAMESPACED_REF,
    upload=EMPTY(),
    vddk=obj("backingFile", "extraArgs", "initImageURL", "secretRef", "thumbprint", "url", "uuid"),
)

DV_SPEC = obj(
    "checkpoints",
    "contentType",
    "finalCheckpoint",
    "preallocation",
    "priorityClassName",
    pvc=obj(*_STORAGE_FIELDS, "volumeAttributesClassName", resources=obj("limits", "requests")),
    source=DV_SOURCE,
    sourceRef=obj("kind", "name", "namespace"),
    storage=obj(*_STORAGE_FIELDS, resources=obj("limits", "requests")),
)

# ---- Whole objects ---------------------------------------------------------------------

_MATCHER = obj("inferFromVolume", "inferFromVolumeFailurePolicy", "kind", "name", "revisionName")

VM_SPEC = obj(
    "runStrategy",
    "running",
    "updateVolumesStrategy",
    dataVolumeTemplates=list_of(
        # metadata preserves unknown fields in the CRD; status is an empty object there.
        obj("apiVersion", "kind", "metadata", spec=DV_SPEC, status=EMPTY())
    ),
    instancetype=_MATCHER,
    preference=_MATCHER,
    template=obj("metadata", spec=VMI_SPEC),
)


def _root(spec: Node) -> dict[str, Node]:
    return obj("apiVersion", "kind", "status", metadata=OBJECT_META, spec=spec)


_REF = obj("apiGroup", "kind", "name")

SCHEMAS: dict[str, Node] = {
    "VirtualMachine": _root(VM_SPEC),
    "VirtualMachineInstance": _root(VMI_SPEC),
    "DataVolume": _root(DV_SPEC),
    "VirtualMachineInstanceMigration": _root(
        obj(
            "addedNodeSelector",
            "priority",
            "vmiName",
            receive=obj("migrationID"),
            sendTo=obj("connectURL", "migrationID"),
        )
    ),
    "VirtualMachineSnapshot": _root(obj("deletionPolicy", "failureDeadline", source=_REF)),
    "VirtualMachineRestore": _root(
        obj(
            "patches",
            "targetReadinessPolicy",
            "virtualMachineSnapshotName",
            "volumeOwnershipPolicy",
            "volumeRestoreOverrides",
            "volumeRestorePolicy",
            target=_REF,
        )
    ),
    "VirtualMachineClone": _root(
        obj(
            "annotationFilters",
            "labelFilters",
            "newMacAddresses",
            "newSMBiosSerial",
            "patches",
            "volumeNamePolicy",
            source=_REF,
            target=_REF,
            template=obj("annotationFilters", "labelFilters"),
        )
    ),
}


def _walk(value: Any, node: Node, path: str, out: list[str]) -> None:
    if node is ANY:
        return
    if isinstance(node, list):
        if isinstance(value, list):
            for idx, item in enumerate(value):
                _walk(item, node[0], f"{path}[{idx}]", out)
        return
    if not isinstance(value, dict):
        return  # a wrong type is a schema error, not an unknown field
    for key, child in value.items():
        child_path = f"{path}.{key}" if path else str(key)
        if key not in node:
            out.append(child_path)
        else:
            _walk(child, node[key], child_path, out)


def unknown_fields(kind_name: str, obj: dict) -> list[str]:
    """Paths of the fields of `obj` its kind's schema does not know, in document order.

    Paths are spelled as the API server prints them: `spec.template.spec.domain.devicess`,
    list items with their index, `spec.template.spec.domain.devices.disks[0].buss`.
    Kinds without a schema (and free-form parts) never have unknown fields.
    """
    schema = SCHEMAS.get(kind_name)
    out: list[str] = []
    if schema is not None:
        _walk(obj, schema, "", out)
    return out


def strict_error_message(paths: list[str]) -> str:
    """The 422 message for `fieldValidation=Strict`, several fields joined by ", "."""
    return "strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in paths)


def warning_messages(paths: list[str]) -> list[str]:
    """One `Warning` header text per unknown field, for `fieldValidation=Warn`."""
    return [f'unknown field "{p}"' for p in paths]
