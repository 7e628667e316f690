"""Creating the template's resources on the emulator and resolving intrinsics against them.

CloudFormation in the emulator lacks API Gateway v2 and DynamoDB TTL, so resources are created
directly through the AWS APIs, from the same template properties a deploy would use.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from mao_local.template import Template

ACCOUNT = "123456789012"


@dataclass(slots=True)
class Physical:
    """What a logical id became: its Ref value and attributes."""

    ref: str
    attrs: dict[str, str] = field(default_factory=dict)


class Resolver:
    def __init__(self, params: dict[str, str], physical: dict[str, Physical], region: str) -> None:
        self.params = params
        self.physical = physical
        self.region = region

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                (key, arg), = value.items()
                if key == "Ref":
                    return self._ref(arg)
                if key == "Fn::GetAtt":
                    logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                    return self.physical[logical].attrs[attr]
                if key == "Fn::Sub":
                    return self._sub(arg)
                if key == "Fn::Join":
                    sep, items = arg
                    return sep.join(str(self.resolve(i)) for i in items)
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _ref(self, name: str) -> Any:
        if name in self.params:
            return self.params[name]
        if name == "AWS::Region":
            return self.region
        if name == "AWS::AccountId":
            return ACCOUNT
        if name == "AWS::StackName":
            return "mao-local"
        return self.physical[name].ref

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        extra = {k: self.resolve(v) for k, v in extra.items()}

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name:
                logical, attr = name.split(".", 1)
                return self.physical[logical].attrs[attr]
            return str(self._ref(name))

        return re.sub(r"\$\{([^}!]+)\}", repl, text)


def _tiny_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def create_all(template: Template, params: dict[str, str], region: str, session: Any,
               prefix: str = "mao-local") -> Resolver:
    """Create every table, bucket, queue, function and state machine; return the resolver."""
    physical: dict[str, Physical] = {}
    resolver = Resolver(params, physical, region)
    ddb = session.client("dynamodb")
    s3 = session.client("s3")
    sqs = session.client("sqs")

    for logical, res in template.of_type("AWS::DynamoDB::Table").items():
        props = res.get("Properties", {})
        name = props.get("TableName") or f"{prefix}-{logical}"
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        ddb.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": ttl["AttributeName"]})
        arn = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"
        physical[logical] = Physical(name, {"Arn": arn})

    for logical in template.of_type("AWS::S3::Bucket"):
        name = f"{prefix}-{logical}".lower()
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        physical[logical] = Physical(name, {"Arn": f"arn:aws:s3:::{name}"})

    # Queues: dead-letter queues first, since redrive policies point at them.
    queues = template.of_type("AWS::SQS::Queue")
    ordered = sorted(queues, key=lambda q: "RedrivePolicy" in queues[q].get("Properties", {}))
    for logical in ordered:
        props = queues[logical].get("Properties", {})
        name = f"{prefix}-{logical}"
        attrs: dict[str, str] = {}
        if "VisibilityTimeout" in props:
            attrs["VisibilityTimeout"] = str(props["VisibilityTimeout"])
        if "MessageRetentionPeriod" in props:
            attrs["MessageRetentionPeriod"] = str(props["MessageRetentionPeriod"])
        if "RedrivePolicy" in props:
            attrs["RedrivePolicy"] = json.dumps(resolver.resolve(props["RedrivePolicy"]))
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = f"arn:aws:sqs:{region}:{ACCOUNT}:{name}"
        physical[logical] = Physical(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    # Layers are code on the local path already; give them a Ref so !Ref MaoLayer resolves.
    for logical in template.of_type("AWS::Serverless::LayerVersion"):
        physical[logical] = Physical(f"arn:aws:lambda:{region}:{ACCOUNT}:layer:{logical}:1")
    for logical in template.of_type("AWS::Serverless::HttpApi"):
        physical[logical] = Physical("local-http-api")

    iam = session.client("iam")
    role_arn = iam.create_role(RoleName=f"{prefix}-lambda", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    lam = session.client("lambda")
    code = _tiny_zip()
    for logical in template.functions():
        name = f"{prefix}-{logical}"
        arn = lam.create_function(FunctionName=name, Runtime="python3.11", Role=role_arn,
                                  Handler="app.handler", Code={"ZipFile": code})["FunctionArn"]
        physical[logical] = Physical(name, {"Arn": arn})

    sfn = session.client("stepfunctions")
    for logical, res in template.of_type("AWS::Serverless::StateMachine").items():
        props = res.get("Properties", {})
        definition_text = (template.root / props["DefinitionUri"]).read_text()
        subs = {k: str(resolver.resolve(v)) for k, v in (props.get("DefinitionSubstitutions") or {}).items()}
        definition_text = re.sub(r"\$\{(\w+)\}", lambda m, subs=subs: subs.get(m.group(1), m.group(0)),
                                 definition_text)
        json.loads(definition_text)  # fail early on a bad definition
        name = str(resolver.resolve(props["Name"])) if props.get("Name") else f"{prefix}-{logical}"
        arn = sfn.create_state_machine(name=name, definition=definition_text, roleArn=role_arn)["stateMachineArn"]
        physical[logical] = Physical(arn, {"Arn": arn, "Name": name})
    return resolver
