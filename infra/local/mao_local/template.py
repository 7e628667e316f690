"""Reading ``template.yaml``: CloudFormation tags, SAM globals and the resources the runtime needs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(tag: str):
    name = "Fn::" + tag if tag not in ("Ref", "Condition") else tag

    def construct(loader: yaml.Loader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _t in ("Ref", "GetAtt", "Sub", "Join", "Select", "Split", "If", "Equals", "Not", "And", "Or",
           "FindInMap", "Base64", "ImportValue", "GetAZs", "Condition"):
    _CfnLoader.add_constructor("!" + _t, _tag(_t))


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open() as fh:
        return yaml.load(fh, Loader=_CfnLoader)


@dataclass(slots=True)
class Route:
    method: str  # GET/POST/... or ANY
    path: str  # template path, e.g. /api/v1/tenants/{tenant_id}/traces
    function: str  # logical id
    regex: re.Pattern[str] = field(repr=False, default=re.compile(""))
    static_segments: int = 0

    def __post_init__(self) -> None:
        pattern = "^"
        statics = 0
        for seg in self.path.strip("/").split("/") if self.path != "/" else []:
            if seg.startswith("{") and seg.endswith("+}"):
                pattern += "/(?P<" + seg[1:-2] + ">.+)"
            elif seg.startswith("{") and seg.endswith("}"):
                pattern += "/(?P<" + seg[1:-1] + ">[^/]+)"
            else:
                pattern += "/" + re.escape(seg)
                statics += 1
        self.regex = re.compile(pattern + ("/?$" if self.path != "/" else "/$"))
        self.static_segments = statics


@dataclass(slots=True)
class SqsSource:
    function: str
    queue: str  # logical id of the queue
    batch_size: int = 10
    report_failures: bool = False


@dataclass(slots=True)
class Template:
    path: Path
    doc: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Template:
        return cls(path, load_yaml(path))

    def merge(self, other: Template) -> None:
        """Add another template's resources; paths in them stay relative to that template's folder."""
        for logical, res in other.resources.items():
            if logical in self.resources:
                raise ValueError(f"overlay redefines {logical}")
            res = dict(res)
            props = dict(res.get("Properties", {}))
            for key in ("CodeUri", "DefinitionUri"):
                if key in props:
                    props[key] = str((other.root / props[key]).resolve())
            res["Properties"] = props
            self.doc.setdefault("Resources", {})[logical] = res

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.doc.get("Resources", {})

    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") in types}

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return self.doc.get("Parameters", {})

    @property
    def function_globals(self) -> dict[str, Any]:
        return self.doc.get("Globals", {}).get("Function", {})

    def functions(self) -> dict[str, dict[str, Any]]:
        return self.of_type("AWS::Serverless::Function")

    def http_api(self) -> dict[str, Any]:
        apis = self.of_type("AWS::Serverless::HttpApi")
        return next(iter(apis.values()), {}).get("Properties", {})

    def routes(self) -> list[Route]:
        routes = []
        for logical, res in self.functions().items():
            for event in (res.get("Properties", {}).get("Events") or {}).values():
                if event.get("Type") == "HttpApi":
                    props = event.get("Properties", {})
                    routes.append(Route(props.get("Method", "ANY").upper(), props["Path"], logical))
        # API Gateway prefers the most specific route: more literal segments first.
        routes.sort(key=lambda r: (-r.static_segments, r.path.count("+}"), r.method == "ANY"))
        return routes

    def sqs_sources(self) -> list[SqsSource]:
        sources = []
        for logical, res in self.functions().items():
            for event in (res.get("Properties", {}).get("Events") or {}).values():
                if event.get("Type") == "SQS":
                    props = event["Properties"]
                    queue = props["Queue"]
                    queue_logical = queue["Fn::GetAtt"][0] if isinstance(queue, dict) else queue
                    sources.append(SqsSource(
                        logical, queue_logical, int(props.get("BatchSize", 10)),
                        "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])))
        return sources

    def function_env(self, logical: str) -> dict[str, Any]:
        env = dict(self.function_globals.get("Environment", {}).get("Variables", {}))
        props = self.functions()[logical].get("Properties", {})
        env.update(props.get("Environment", {}).get("Variables", {}))
        return env

    def function_property(self, logical: str, name: str) -> Any:
        props = self.functions()[logical].get("Properties", {})
        return props.get(name, self.function_globals.get(name))
