"""The whole local stack in one object: emulator, resources, gateway, SQS pollers, Step Functions hook."""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mao_local import lambda_hook
from mao_local.functions import FunctionRegistry
from mao_local.gateway import Cors, Gateway
from mao_local.resources import Resolver, create_all
from mao_local.sqs import Poller
from mao_local.template import Template

log = logging.getLogger("mao_local")
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class StackConfig:
    template: Path = DEFAULT_TEMPLATE
    api_port: int = 8000
    moto_port: int = 0  # 0 = any free port
    host: str = "127.0.0.1"
    region: str = "us-east-1"
    operator_key: str | None = None
    cors_origins: str | None = None
    trust_forwarded_for: bool = False
    sqs_retry_delay: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    # Extra templates whose Resources are added to the main one (tests add probe functions with these).
    overlays: list[Path] = field(default_factory=list)


class LocalStack:
    """Start with ``start()``; the API is then at ``api_url``. One per process (the emulator is global)."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.template = Template.load(self.config.template)
        for overlay in self.config.overlays:
            self.template.merge(Template.load(overlay))
        self.server: Any = None
        self.gateway: Gateway | None = None
        self.pollers: list[Poller] = []
        self.resolver: Resolver | None = None
        self.registry: FunctionRegistry | None = None
        self.operator_key = self.config.operator_key or os.environ.get("MAO_OPERATOR_KEY") \
            or "mao_op_" + secrets.token_urlsafe(24)
        self.env: dict[str, str] = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalStack:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)

        cfg = self.config
        moto_port = cfg.moto_port or free_port()
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": cfg.region,
                           "AWS_REGION": cfg.region}.items():
            os.environ[key] = value
        os.environ["MOTO_PORT"] = str(moto_port)  # Step Functions reaches Lambda through this port
        os.environ["AWS_ENDPOINT_URL"] = f"http://{cfg.host}:{moto_port}"
        self.server = ThreadedMotoServer(ip_address=cfg.host, port=moto_port, verbose=False)
        self.server.start()
        self._configure_emulator(moto_port)

        import boto3

        session = boto3.Session(region_name=cfg.region)
        params = self._parameters()
        self.resolver = create_all(self.template, params, cfg.region, session)
        self._export_environment()

        arns = {name: p.attrs.get("Arn", "") for name, p in self.resolver.physical.items()}
        self.registry = FunctionRegistry(self.template, arns)
        lambda_hook.install(self.registry)

        cors_config = self.template.http_api().get("CorsConfiguration", {})
        cors = Cors(cors_config, [o.strip() for o in params["CorsAllowOrigins"].split(",") if o.strip()])
        self.gateway = Gateway(self.template.routes(), self.registry, cors, cfg.host, cfg.api_port,
                               trust_forwarded_for=cfg.trust_forwarded_for)
        self.gateway.start()

        sqs = session.client("sqs")
        for source in self.template.sqs_sources():
            queue = self.resolver.physical[source.queue]
            poller = Poller(source, queue.attrs["QueueUrl"], queue.attrs["Arn"], self.registry, sqs,
                            cfg.region, retry_delay=cfg.sqs_retry_delay)
            poller.start()
            self.pollers.append(poller)
        return self

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop()
        if self.gateway:
            self.gateway.stop()
        if self.server:
            self.server.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ details
    @property
    def api_url(self) -> str:
        assert self.gateway is not None
        return f"http://{self.config.host}:{self.gateway.port}"

    @property
    def moto_url(self) -> str:
        return os.environ["AWS_ENDPOINT_URL"]

    def physical(self, logical: str) -> Any:
        assert self.resolver is not None
        return self.resolver.physical[logical]

    def _configure_emulator(self, port: int) -> None:
        body = json.dumps({"stepfunctions": {"execute_state_machine": True},
                           "lambda": {"use_docker": False}}).encode()
        req = urllib.request.Request(f"http://{self.config.host}:{port}/moto-api/config", data=body,
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def _parameters(self) -> dict[str, str]:
        params: dict[str, str] = {}
        for name, spec in self.template.parameters.items():
            default = spec.get("Default")
            if isinstance(default, list):
                default = ",".join(default)
            params[name] = str(default) if default is not None else ""
        params.update({
            "Stage": "local",
            "OperatorKey": self.operator_key,
            "KeyPepper": os.environ.get("MAO_KEY_PEPPER") or secrets.token_urlsafe(32),
            "JwtSecret": os.environ.get("MAO_JWT_SECRET") or secrets.token_urlsafe(48),
        })
        if self.config.cors_origins or os.environ.get("MAO_CORS_ORIGINS"):
            params["CorsAllowOrigins"] = self.config.cors_origins or os.environ["MAO_CORS_ORIGINS"]
        return params

    def _export_environment(self) -> None:
        """Functions share this process, so their environment is merged; a conflict is an error."""
        assert self.resolver is not None
        merged: dict[str, str] = {}
        for logical in self.template.functions():
            for key, value in self.template.function_env(logical).items():
                resolved = str(self.resolver.resolve(value))
                if key in merged and merged[key] != resolved:
                    raise ValueError(f"environment variable {key} differs between functions; "
                                     "the local runtime runs them in one process")
                merged[key] = resolved
        merged.update(self.config.extra_env)
        os.environ.update(merged)
        self.env = merged
        from mao.adapters.aws import reset_clients
        from mao.adapters.dynamo import rebind_tables
        from mao.config import reset_settings

        reset_settings()
        reset_clients()
        rebind_tables()

    def bootstrap_demo(self, name: str = "Demo") -> dict[str, str]:
        """A ready tenant with an API key, created the same way the API creates one."""
        from mao.adapters import tenants

        tenant = tenants.create_tenant(name)
        key = tenants.create_key(tenant.tenant_id, "demo")
        return {"tenant_id": tenant.tenant_id, "api_key": key.key}
