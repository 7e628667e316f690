"""The local runtime behaves like the AWS services it stands in for."""

import json
import sys
import time
import uuid

import boto3
import pytest

pytestmark = pytest.mark.e2e


def wait_for(predicate, timeout=20.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def run_execution(stack, payload):
    sfn = boto3.client("stepfunctions")
    arn = stack.physical("ProbeStateMachine").ref
    execution = sfn.start_execution(stateMachineArn=arn, name=f"probe-{uuid.uuid4().hex}",
                                    input=json.dumps(payload))["executionArn"]

    def finished():
        desc = sfn.describe_execution(executionArn=execution)
        return desc if desc["status"] != "RUNNING" else None

    return wait_for(finished)


def test_a_state_machine_task_runs_our_handler(stack):
    desc = run_execution(stack, {"value": 21})
    assert desc["status"] == "SUCCEEDED"
    output = json.loads(desc["output"])
    assert output["result"]["doubled"] == 42
    assert output["result"]["function"].endswith("ProbeFunction")


def test_a_failing_handler_takes_the_catch_branch(stack):
    desc = run_execution(stack, {"fail": True, "reason": "disk full"})
    assert desc["status"] == "SUCCEEDED"
    output = json.loads(desc["output"])
    assert output["branch"] == "took the failure branch"
    assert output["error"]["Error"] == "ProbeFailure"
    assert "disk full" in output["error"]["Cause"]


def test_one_failing_record_alone_returns_to_the_queue_then_lands_in_the_dlq(stack):
    sqs = boto3.client("sqs")
    queue = stack.physical("ProbeQueue").attrs["QueueUrl"]
    dlq = stack.physical("ProbeDeadLetterQueue").attrs["QueueUrl"]
    tag = uuid.uuid4().hex[:8]
    names = [f"{tag}-ok-{i}" for i in range(4)] + [f"{tag}-poison"]
    sqs.send_message_batch(QueueUrl=queue, Entries=[
        {"Id": str(i), "MessageBody": json.dumps({"name": n, "poison": n.endswith("poison")})}
        for i, n in enumerate(names)])

    def dead_letters():
        msgs = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        return msgs or None

    landed = wait_for(dead_letters, timeout=30)
    assert [json.loads(m["Body"])["name"] for m in landed] == [f"{tag}-poison"]

    seen = sys.modules["mao_fn_ProbeWorkerFunction"].SEEN
    ours = [n for n in seen if n.startswith(tag)]
    # every good record was handled exactly once; the poison one was retried until the redrive limit
    assert sorted(n for n in ours if "ok" in n) == sorted(names[:4])
    assert ours.count(f"{tag}-poison") == 2  # maxReceiveCount in the probe queue's redrive policy
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages",
                                                                     "ApproximateNumberOfMessagesNotVisible"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0"
