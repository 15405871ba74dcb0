"""How long the triggers may wait on AWS: the botocore settings of every client the layer builds.

Cognito waits 5 seconds for a synchronous trigger (Create Auth Challenge, Post
Authentication) and retries one that fails or times out. botocore's defaults (a
60-second read timeout, several retries) would let a single slow call use up the
whole wait; Cognito would then call the trigger again, and Create Auth Challenge
would send a second code. So each call gets short timeouts and one retry: a slow
service fails the call (and a failed limits call sends nothing) rather than
holding the invocation until Cognito gives up on it.

- DynamoDB (the limits), read and written before every code is sent: at most
  2 attempts of 0.5 s to connect and 1 s to read. Lost write races are retried
  for at most :data:`LIMIT_RACE_SECONDS` more.
- SNS (sending a code) and Cognito (Post Authentication): at most 2 attempts of
  1 s to connect and 1.5 s to read.

The Custom SMS Sender is invoked asynchronously and has 15 seconds (its Lambda
timeout in the template): its KMS calls, made by the Encryption SDK, get longer
timeouts (2 s to connect, 3 s to read, 2 attempts), and its SNS and DynamoDB
clients are the ones above.

The custom resource that attaches the triggers to an existing user pool has a
minute (its Lambda timeout) and answers CloudFormation before it ends: each of its
Cognito and DynamoDB calls may take a few seconds and is tried three times.
"""

from __future__ import annotations

from botocore.config import Config

DYNAMODB_CONFIG = Config(connect_timeout=0.5, read_timeout=1, retries={"total_max_attempts": 2, "mode": "standard"})
SNS_CONFIG = Config(connect_timeout=1, read_timeout=1.5, retries={"total_max_attempts": 2, "mode": "standard"})
COGNITO_CONFIG = Config(connect_timeout=1, read_timeout=1.5, retries={"total_max_attempts": 2, "mode": "standard"})
CUSTOM_RESOURCE_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"total_max_attempts": 3, "mode": "standard"})
KMS_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"total_max_attempts": 2, "mode": "standard"})

LIMIT_RACE_SECONDS = 1.0
"""How long lost races on the limits table are retried before the request is refused (fail closed)."""
