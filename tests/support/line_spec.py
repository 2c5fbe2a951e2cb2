"""LINE's own OpenAPI specs (our copy in tests/spec/line-openapi) as JSON-schema validators.

OpenAPI 3.0's `discriminator` is not JSON Schema, so every schema with a discriminator mapping
is rewritten into an explicit "type is X and it matches X's schema" choice before validating.
Without that, a text message without its text would pass as a bare `Message`.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator

SPEC_DIR = Path(__file__).resolve().parents[1] / "spec" / "line-openapi"


def _rewrite_discriminators(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    schemas: dict[str, Any] = spec["components"]["schemas"]
    for name in [n for n, s in schemas.items() if "discriminator" in s]:
        schema = schemas[name]
        disc = schema.pop("discriminator")
        mapping: dict[str, str] = disc.get("mapping") or {}
        if not mapping:
            continue
        prop = disc["propertyName"]
        base_name = f"{name}__base"
        schemas[base_name] = schema
        own_ref = f"#/components/schemas/{name}"
        for ref in mapping.values():
            sub = schemas[ref.rsplit("/", 1)[1]]
            for part in sub.get("allOf", []):
                if part.get("$ref") == own_ref:
                    part["$ref"] = f"#/components/schemas/{base_name}"
        schemas[name] = {
            "allOf": [
                {"$ref": f"#/components/schemas/{base_name}"},
                {
                    "anyOf": [
                        {
                            "required": [prop],
                            "properties": {prop: {"enum": [value]}},
                            "allOf": [{"$ref": ref}],
                        }
                        for value, ref in mapping.items()
                    ]
                },
            ]
        }
    return spec


@functools.cache
def _spec(name: str) -> dict[str, Any]:
    with open(SPEC_DIR / name, encoding="utf-8") as f:
        return _rewrite_discriminators(yaml.safe_load(f))


def _validator(spec_name: str, schema_name: str) -> Draft4Validator:
    spec = _spec(spec_name)
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    return Draft4Validator(root)


def request_errors(method: str, path: str, body: Any) -> list[str]:
    """Every way `body` breaks the Messaging API's schema for `method path`."""
    spec = _spec("messaging-api.yml")
    operation = spec["paths"].get(spec_path(path), {}).get(method.lower())
    if operation is None:
        return [f"{method} {path} is not an operation of the Messaging API"]
    content = operation.get("requestBody", {}).get("content", {})
    if "*/*" in content and "application/json" not in content:
        # a blob upload (a rich-menu image): the body is the file's bytes
        return [] if isinstance(body, bytes) and body else [f"{method} {path} takes bytes"]
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return [] if body in (None, {}) else [f"{method} {path} takes no JSON body"]
    name = schema["$ref"].rsplit("/", 1)[1]
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator("messaging-api.yml", name).iter_errors(body)
    ]


def spec_path(path: str) -> str:
    """The spec's path template for a concrete path: /v2/bot/richmenu/abc/content is
    /v2/bot/richmenu/{richMenuId}/content. A literal segment wins over a parameter."""
    paths = _spec("messaging-api.yml")["paths"]
    if path in paths:
        return path
    parts = path.strip("/").split("/")
    for template in sorted(paths, key=lambda t: t.count("{")):
        pattern = template.strip("/").split("/")
        if len(pattern) == len(parts) and all(
            p == q or (p.startswith("{") and p.endswith("}"))
            for p, q in zip(pattern, parts, strict=True)
        ):
            return str(template)
    return path


def webhook_errors(body: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator("webhook.yml", "CallbackRequest").iter_errors(body)
    ]
