"""MAO's local runtime: the whole stack on one machine, on the embedded AWS emulator (moto).

Reads ``template.yaml`` and creates its tables, queues, buckets, Lambda functions and state machines
on an in-process moto server, then serves the HTTP API like API Gateway (HTTP API, payload v2), polls
SQS for the queue-triggered functions like Lambda's event source mapping, and lets Step Functions call
our handlers in-process. Development-only: not shipped in the Lambda layer.
"""
