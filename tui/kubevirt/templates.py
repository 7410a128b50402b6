"""Processing OpenShift Templates, as openshift/library-go's templateprocessing does (brief §9).

Pure functions over plain dicts. The demo server's `processedtemplates` endpoint uses them,
and so does kvtui when a cluster has no such endpoint: both give the same objects.
"""

from __future__ import annotations

import copy
import json
import random
import re
import string
from typing import Any

STRING_PARAM = re.compile(r"\$\{([a-zA-Z0-9_]+?)\}")
NON_STRING_PARAM = re.compile(r"^\$\{\{([a-zA-Z0-9_]+)\}\}$")

_CLASSES = {
    r"\w": string.ascii_letters + string.digits + "_",
    r"\d": string.digits,
    r"\a": string.ascii_letters,
    r"\A": string.punctuation,
}
_TOKEN = re.compile(r"(\[[^\]]+\]|\\[wdaA]|.)(\{(\d+)\})?", re.S)


class TemplateError(Exception):
    """A template that can't be processed; `causes` in the API's wire shape."""

    def __init__(self, causes: list[dict[str, str]]) -> None:
        super().__init__("; ".join(c["message"] for c in causes))
        self.causes = causes


def _expand_class(body: str) -> str:
    """`a-z0-9_` (the inside of [...]) -> the characters it names."""
    out: list[str] = []
    i = 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            out.append(_CLASSES.get(body[i : i + 2], body[i + 1]))
            i += 2
        elif i + 2 < len(body) and body[i + 1] == "-":
            out.extend(chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1))
            i += 3
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def generate(expression: str, rng: random.Random | None = None) -> str:
    """A value for `generate: expression`: `[a-z0-9]{16}`, `\\w{8}`, literal text, as OpenShift's
    expression generator understands them."""
    rng = rng or random.SystemRandom()
    out: list[str] = []
    for m in _TOKEN.finditer(expression):
        atom, _, count = m.groups()
        n = int(count) if count else 1
        if atom.startswith("[") and len(atom) > 2:
            chars = _expand_class(atom[1:-1])
        elif atom in _CLASSES:
            chars = _CLASSES[atom]
        else:
            out.append(atom * n)
            continue
        out.append("".join(rng.choice(chars) for _ in range(n)))
    return "".join(out)


def parameter_values(
    template: dict[str, Any], values: dict[str, str] | None = None, rng: random.Random | None = None
) -> dict[str, str]:
    """Each parameter's value: supplied > `value` > generated; raises for empty required ones."""
    values = values or {}
    out: dict[str, str] = {}
    causes = []
    for i, param in enumerate(template.get("parameters") or []):
        name = param.get("name", "")
        value = values.get(name)
        if value is None or value == "":
            value = param.get("value") or ""
        if not value and param.get("generate") == "expression" and param.get("from"):
            value = generate(param["from"], rng)
        if not value and param.get("required"):
            causes.append(
                {
                    "reason": "FieldValueRequired",
                    "message": f"Required value: template.parameters[{i}]: parameter {name} is required and must be specified",
                    "field": f"template.parameters[{i}]",
                }
            )
        out[name] = str(value)
    unknown = sorted(set(values) - set(out))
    for name in unknown:
        causes.append(
            {
                "reason": "FieldValueNotFound",
                "message": f"Not found: parameter {name} is not defined in the template",
                "field": "template.parameters",
            }
        )
    if causes:
        raise TemplateError(causes)
    return out


def _substitute(value: Any, params: dict[str, str]) -> Any:
    if isinstance(value, str):
        m = NON_STRING_PARAM.match(value)
        if m and m.group(1) in params:
            raw = params[m.group(1)]
            try:
                return json.loads(raw)
            except ValueError:
                return raw
        return STRING_PARAM.sub(lambda mm: params.get(mm.group(1), mm.group(0)), value)
    if isinstance(value, list):
        return [_substitute(v, params) for v in value]
    if isinstance(value, dict):
        return {_substitute(k, params): _substitute(v, params) for k, v in value.items()}
    return value


def process_template(
    template: dict[str, Any], values: dict[str, str] | None = None, rng: random.Random | None = None
) -> dict[str, Any]:
    """The processed Template: parameters filled in, objects substituted and labelled."""
    params = parameter_values(template, values, rng)
    out = copy.deepcopy(template)
    for param in out.get("parameters") or []:
        param["value"] = params.get(param.get("name", ""), "")
    labels = _substitute(out.get("labels") or {}, params)
    objects = []
    for obj in out.get("objects") or []:
        meta = obj.get("metadata") or {}
        literal_ns = isinstance(meta.get("namespace"), str) and not STRING_PARAM.search(
            meta["namespace"]
        )
        new = _substitute(obj, params)
        if literal_ns:
            # A literal namespace is dropped so the objects land where the template is processed.
            new["metadata"].pop("namespace", None)
        if labels:
            new.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
        objects.append(new)
    out["objects"] = objects
    return out
