"""Check HTTP traffic against an OpenAPI 3.0 contract, so a fake cannot drift from the API it stands in for.

:class:`ContractValidator` is generic: it takes the whole spec, derives paths, parameters and media types from it and
returns human-readable problems (never raises). Fakes record those problems; tests assert there are none.

Schemas are validated with ``openapi_schema_validator.OAS30Validator``; every sub-schema is reached through a ``$ref``
into the whole document (held in a ``referencing`` registry), so refs such as ``#/components/schemas/alert`` resolve.
Compiled validators are cached per JSON pointer, and :meth:`ContractValidator.shared` caches one validator per spec for
the process: compiling is the slow part, validating one body takes well under a few milliseconds.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from jsonschema.exceptions import ValidationError
from jsonschema.validators import extend
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT4

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_MAX_ERRORS = 8  # per instance: enough to see the pattern, short enough to read


def _nullable_aware(keyword: Any) -> Any:
    """Let ``nullable: true`` admit null beside ``allOf``/``oneOf``/``anyOf``/``$ref``/``enum``.

    Generated specs (Rootly's among them) write ``{"type": "object", "allOf": [{"$ref": ...}], "nullable": true}`` or
    ``{"enum": [...], "nullable": true}`` and mean "this, or null"; the strict OAS 3.0.3 reading would reject every
    null the API really sends.
    """

    def check(validator: Any, value: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
        if instance is None and schema.get("nullable") is True:
            return iter(())
        return keyword(validator, value, instance, schema) or iter(())

    return check


_BASE = OAS30Validator.VALIDATORS
SchemaValidator = extend(
    OAS30Validator, {k: _nullable_aware(_BASE[k]) for k in ("allOf", "oneOf", "anyOf", "$ref", "enum") if k in _BASE}
)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def media_type(header: str | None) -> str:
    """``application/vnd.api+json; charset=utf-8`` → ``application/vnd.api+json``."""
    return (header or "").split(";", 1)[0].strip().lower()


def _media_matches(actual: str, declared: str) -> bool:
    declared = media_type(declared)
    if declared in ("*/*", actual):
        return True
    return declared.endswith("/*") and actual.startswith(declared[:-1])


@dataclass(frozen=True)
class Param:
    """A parameter object and the JSON pointer of its schema (so its validator compiles once)."""

    spec: Mapping[str, Any]
    schema_pointer: str


@dataclass(frozen=True)
class Operation:
    """One ``path template + method`` of the spec, with its parameters merged (operation-level wins)."""

    template: str
    method: str  # lower case, as in the spec
    spec: Mapping[str, Any]
    pointer: str  # JSON pointer of the operation object, e.g. /paths/~1v1~1alerts/get
    params: Mapping[tuple[str, str], Param] = field(default_factory=dict)  # (in, name) → parameter

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.template}"


@dataclass(frozen=True)
class _Template:
    template: str
    segments: tuple[str | None, ...]  # None = a {param} segment
    names: tuple[str, ...]
    rank: tuple[int, ...]  # 0 literal / 1 templated per segment: literal segments win

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.segments):
            return None
        values: list[str] = []
        for want, got in zip(self.segments, segments, strict=True):
            if want is None:
                if not got:
                    return None
                values.append(unquote(got))
            elif want != got:
                return None
        return dict(zip(self.names, values, strict=True))


class ContractValidator:
    """Validates requests and responses against one OpenAPI 3.0 document.

    ``anywhere`` maps statuses an API may send from any operation (``"401"``, ``"429"``, ``"5XX"``) to the schema ref
    their body must match when the operation does not document them. ``base_path`` is stripped from request paths
    before matching; by default it is the path of the first ``servers`` URL (``/api`` for ilert, empty for Rootly).
    """

    _shared: dict[tuple[int, tuple[tuple[str, str], ...], str | None], tuple[Any, ContractValidator]] = {}  # noqa: RUF012
    _shared_lock = threading.Lock()

    def __init__(
        self,
        spec: Mapping[str, Any],
        *,
        anywhere: Mapping[str, str] | None = None,
        base_path: str | None = None,
        uri: str = "urn:contract",
    ) -> None:
        self.spec = spec
        self.anywhere = dict(anywhere or {})
        if base_path is None:
            servers = spec.get("servers") or [{}]
            base_path = urlsplit(servers[0].get("url", "")).path
        self.base_path = base_path.rstrip("/")
        self._uri = uri
        self._registry: Registry = Registry().with_resource(uri, DRAFT4.create_resource(spec))
        self._validators: dict[str, Any] = {}
        self._operations: dict[tuple[str, str], Operation] = {}
        self._lock = threading.Lock()
        self._templates: dict[int, list[_Template]] = {}
        for template in spec.get("paths", {}):
            parts = template.strip("/").split("/")
            segs = tuple(None if re.fullmatch(r"\{[^}]+\}", p) else p for p in parts)
            names = tuple(p[1:-1] for p in parts if re.fullmatch(r"\{[^}]+\}", p))
            rank = tuple(0 if s is not None else 1 for s in segs)
            self._templates.setdefault(len(parts), []).append(_Template(template, segs, names, rank))
        for group in self._templates.values():
            group.sort(key=lambda t: t.rank)

    @classmethod
    def shared(
        cls, spec: Mapping[str, Any], *, anywhere: Mapping[str, str] | None = None, base_path: str | None = None
    ) -> ContractValidator:
        """One validator per spec object for the whole process: fakes restart per test, compiled schemas stay."""
        key = (id(spec), tuple(sorted((anywhere or {}).items())), base_path)
        with cls._shared_lock:
            hit = cls._shared.get(key)
            if hit is None or hit[0] is not spec:
                hit = (spec, cls(spec, anywhere=anywhere, base_path=base_path))
                cls._shared[key] = hit
            return hit[1]

    # lookup --------------------------------------------------------------------------------------------------
    def resolve(self, node: Any) -> Any:
        """Follow local ``$ref``s of non-schema objects (parameters, responses, request bodies)."""
        seen = 0
        while isinstance(node, Mapping) and "$ref" in node and seen < 20:
            node = self._pointer(node["$ref"].split("#", 1)[1])
            seen += 1
        return node

    def _pointer(self, pointer: str) -> Any:
        node: Any = self.spec
        for token in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]
        return node

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], str | None]:
        """Find the operation for a request: (operation, path params, problem). Literal segments beat templated ones,
        and a template whose method exists beats one without it (that is how routers pick).
        """
        method = method.lower()
        if self.base_path:
            if path != self.base_path and not path.startswith(self.base_path + "/"):
                return None, {}, f"path is outside the API base path {self.base_path!r}"
            path = path[len(self.base_path) :] or "/"
        segments = path.strip("/").split("/")
        candidates = [(t, m) for t in self._templates.get(len(segments), []) if (m := t.match(segments)) is not None]
        if not candidates:
            return None, {}, "no path in the contract matches"
        for template, values in candidates:
            item = self.spec["paths"][template.template]
            if method in item:
                return self._operation(template.template, method), values, None
        allowed = sorted({m.upper() for t, _ in candidates for m in self.spec["paths"][t.template] if m in _METHODS})
        return None, {}, f"method not in the contract for {candidates[0][0].template} (allowed: {', '.join(allowed)})"

    def _operation(self, template: str, method: str) -> Operation:
        found = self._operations.get((template, method))
        if found is None:
            found = self._operations[(template, method)] = self._build_operation(template, method)
        return found

    def _build_operation(self, template: str, method: str) -> Operation:
        item = self.spec["paths"][template]
        path_pointer = f"/paths/{_escape(template)}"
        params: dict[tuple[str, str], Param] = {}
        for owner, pointer in ((item, path_pointer), (item[method], f"{path_pointer}/{method}")):
            for i, raw in enumerate(owner.get("parameters", [])):
                at = raw["$ref"].split("#", 1)[1] if "$ref" in raw else f"{pointer}/parameters/{i}"
                param = self.resolve(raw)
                params[(param["in"], param["name"])] = Param(param, f"{at}/schema")
        return Operation(template, method, item[method], f"{path_pointer}/{method}", params)

    # schema validation ---------------------------------------------------------------------------------------
    def validator(self, pointer: str) -> Any:
        """Compiled validator for the schema at ``pointer`` (a JSON pointer into the spec, or ``#/…`` ref)."""
        pointer = pointer.split("#", 1)[-1]
        with self._lock:
            found = self._validators.get(pointer)
            if found is None:
                schema = {"$ref": f"{self._uri}#{pointer}"}
                found = SchemaValidator(schema, registry=self._registry, format_checker=oas30_format_checker)
                self._validators[pointer] = found
            return found

    def errors(self, pointer: str, instance: Any) -> list[str]:
        """Problems of ``instance`` against the schema at ``pointer``, each as ``where/in/instance: message``."""
        found = sorted(self.validator(pointer).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
        out = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" if e.absolute_path else e.message
            for e in found[:_MAX_ERRORS]
        ]
        if len(found) > _MAX_ERRORS:
            out.append(f"… and {len(found) - _MAX_ERRORS} more")
        return out

    # requests ------------------------------------------------------------------------------------------------
    def check_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes | None,
        json_body: Any = None,
    ) -> list[str]:
        """Problems with one request: unknown operation, query parameters (declared, typed, non-empty), required
        header parameters, body media type and body schema. ``headers`` keys must be lower case.
        """
        where = f"{method.upper()} {path}"
        op, path_params, problem = self.match(method, path)
        if op is None:
            return [f"{where}: {problem}"]
        out = [f"{where}: {p}" for p in self._check_params(op, path_params, query, headers)]
        out += [f"{where}: {p}" for p in self._check_body(op, headers, body, json_body)]
        return out

    def _check_params(
        self, op: Operation, path_params: Mapping[str, str], query: Mapping[str, list[str]], headers: Mapping[str, str]
    ) -> Iterator[str]:
        for name, value in path_params.items():
            param = op.params.get(("path", name))
            if param is not None:
                yield from self._check_values(param, [value])
        for name, values in query.items():
            param = op.params.get(("query", name))
            if param is None:
                yield f"query parameter {name!r} is not declared for {op.label}"
                continue
            yield from self._check_values(param, values)
        for (where, name), param in op.params.items():
            if not param.spec.get("required"):
                continue
            if (where == "query" and name not in query) or (where == "header" and name.lower() not in headers):
                yield f"required {where} parameter {name!r} is missing"

    def _check_values(self, param: Param, values: list[str]) -> Iterator[str]:
        spec = param.spec
        label = f"{spec['in']} parameter {spec['name']!r}"
        schema = self.resolve(spec.get("schema") or {})
        pointer = param.schema_pointer
        if schema.get("type") == "array":
            if not spec.get("explode", spec.get("style", "form") == "form"):
                values = [v for value in values for v in value.split(",")]
            pointer, schema = f"{pointer}/items", self.resolve(schema.get("items") or {})
        elif len(values) > 1:
            yield f"{label} is given {len(values)} times"
        if "enum" in schema and "comma" in (spec.get("description") or "").lower():
            values = [v for value in values for v in value.split(",")]  # Rootly: "comma separated if needed"
        for value in values:
            if value == "" and not spec.get("allowEmptyValue"):
                yield f"{label} is empty (the API may answer 500 to an empty value)"
                continue
            coerced, problem = _coerce(value, schema.get("type"))
            if problem:
                yield f"{label}={value!r} {problem}"
                continue
            yield from (f"{label}={value!r}: {e}" for e in self.errors(pointer, coerced))

    def _check_body(
        self, op: Operation, headers: Mapping[str, str], body: bytes | None, json_body: Any
    ) -> Iterator[str]:
        request_body = self.resolve(op.spec.get("requestBody"))
        if not body:
            if request_body and request_body.get("required"):
                yield "request body is required"
            return
        if not request_body:
            yield f"{op.label} takes no request body, got {len(body)} bytes"
            return
        content: Mapping[str, Any] = request_body.get("content", {})
        sent = media_type(headers.get("content-type"))
        declared = [k for k in content if _media_matches(sent, k)]
        if not declared:
            yield f"Content-Type {sent or '(none)'!r} is not one of {', '.join(content)}"
            declared = [k for k in content if "json" in k]  # still check the body against the JSON schema
        if not declared or "schema" not in content[declared[0]]:
            return
        if json_body is None:
            yield "request body is not JSON"
            return
        pointer = f"{op.pointer}/requestBody/content/{_escape(declared[0])}/schema"
        if "$ref" in op.spec["requestBody"]:
            ref = op.spec["requestBody"]["$ref"].split("#", 1)[1]
            pointer = f"{ref}/content/{_escape(declared[0])}/schema"
        yield from (f"request body: {e}" for e in self.errors(pointer, json_body))

    # responses -----------------------------------------------------------------------------------------------
    def response_pointer(self, op: Operation, status: int) -> tuple[str | None, Mapping[str, Any] | None]:
        """(JSON pointer of the response object, the response object) for ``status``; anywhere-statuses give a
        pointer straight to their body schema and no response object.
        """
        responses = op.spec.get("responses", {})
        for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
            if key in responses:
                base = f"{op.pointer}/responses/{_escape(key)}"
                raw = responses[key]
                if "$ref" in raw:
                    base = raw["$ref"].split("#", 1)[1]
                return base, self.resolve(raw)
        for key in (str(status), f"{str(status)[0]}XX"):
            if key in self.anywhere:
                return self.anywhere[key], None
        return None, None

    def check_response(
        self, method: str, path: str, status: int, body: Any, content_type: str | None, *, raw: bytes | None = None
    ) -> list[str]:
        """Problems with one response: undocumented status, media type, body schema. ``body`` is the parsed JSON,
        ``raw`` the bytes when they were not JSON.
        """
        where = f"{method.upper()} {path} → {status}"
        op, _, _ = self.match(method, path)
        if op is None:
            return []  # an unknown operation is check_request's to report; there is no response schema to use
        pointer, response = self.response_pointer(op, status)
        if pointer is None:
            documented = ", ".join(op.spec.get("responses", {}))
            return [f"{where}: status {status} is not documented for {op.label} (documented: {documented})"]
        if response is None:  # an anywhere-status: the pointer is the body schema
            return [f"{where}: body: {e}" for e in self.errors(pointer, body)]
        content: Mapping[str, Any] = response.get("content") or {}
        empty = body is None and not raw
        if not content:
            return [] if empty else [f"{where}: {op.label} documents no body for {status}, got one"]
        sent = media_type(content_type)
        declared = [k for k in content if _media_matches(sent, k)]
        if not declared:
            return [f"{where}: Content-Type {sent!r} is not one of {', '.join(content)}"]
        if "schema" not in content[declared[0]]:
            return []
        if empty:
            return [f"{where}: empty body, {declared[0]} documented"]
        return [f"{where}: body: {e}" for e in self.errors(f"{pointer}/content/{_escape(declared[0])}/schema", body)]


def _coerce(value: str, kind: str | None) -> tuple[Any, str | None]:
    """A query/path string as the type its schema declares (``page[size]=abc`` must not pass as an integer)."""
    if kind == "integer":
        if re.fullmatch(r"[+-]?\d+", value):
            return int(value), None
        return value, "is not an integer"
    if kind == "number":
        try:
            return float(value), None
        except ValueError:
            return value, "is not a number"
    if kind == "boolean":
        if value in ("true", "false"):
            return value == "true", None
        return value, "is not a boolean (true/false)"
    return value, None
