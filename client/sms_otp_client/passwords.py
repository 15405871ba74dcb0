"""The walk-through of password sign-in with MFA, as the docs show it and ``sandbox --passwords`` prints it.

The commands are written once, here: the docs quote them for a stack in AWS, and
the sandbox prints them for its password stack, after the lines that point the
AWS CLI and SDK at the emulator. Each value a person reads (the sign-up code, the
authenticator app's codes) is asked for with ``read``, so the whole block runs
as a script too.
"""

from __future__ import annotations

from sms_otp_client.sandbox import (
    EMULATOR_SIGN_UP_CODE,
    PASSWORD_STACK_OVERRIDES,
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_KEY,
    SandboxDeployment,
)

DOCS_STACK_NAME = "cognito-sms-otp"
# Marks the walk-through in the sandbox's output: shell comments, harmless when pasted.
BEGIN_MARK = "# ---- walk-through: from here ----"
END_MARK = "# ---- walk-through: to here ----"

WALK_THROUGH_COMMANDS = """\
STACK=cognito-sms-otp
PHONE=+14155550123
POOL_ID=$(aws cloudformation describe-stacks --stack-name "$STACK" \\
  --query "Stacks[0].Outputs[?OutputKey=='UserPoolId'].OutputValue" --output text)
CLIENT_ID=$(aws cloudformation describe-stacks --stack-name "$STACK" \\
  --query "Stacks[0].Outputs[?OutputKey=='UserPoolClientId'].OutputValue" --output text)
read -rs -p "Password: " PASSWORD; echo
export POOL_ID CLIENT_ID PHONE PASSWORD
# pick KEY...: one value of the JSON on standard input (jq -r would do as well).
pick() { .venv/bin/python -c 'import functools, json, sys; print(functools.reduce(dict.get, sys.argv[1:], json.load(sys.stdin)))' "$@"; }

# 1. Sign up: "UserConfirmed": false, and a code goes to the phone; confirm with it.
aws cognito-idp sign-up --client-id "$CLIENT_ID" --username "$PHONE" \\
  --password="$PASSWORD" --user-attributes Name=phone_number,Value="$PHONE"
read -r -p "Code sent to the phone: " CODE
aws cognito-idp confirm-sign-up --client-id "$CLIENT_ID" --username "$PHONE" \\
  --confirmation-code "$CODE"

# 2. Sign in by password (SRP): the tokens, or the MFA challenge and its Session.
srp_sign_in() {
.venv/bin/python - <<'EOF'
import json
import os

import boto3
from pycognito.aws_srp import AWSSRP
from pycognito.exceptions import MFAChallengeException

srp = AWSSRP(
    username=os.environ["PHONE"],
    password=os.environ["PASSWORD"],
    pool_id=os.environ["POOL_ID"],
    client_id=os.environ["CLIENT_ID"],
    client=boto3.client("cognito-idp"),
)
try:
    result = srp.authenticate_user()
except MFAChallengeException as challenge:
    result = challenge.get_tokens()
print(json.dumps({key: result[key] for key in ("ChallengeName", "Session", "AuthenticationResult") if key in result}, indent=2))
EOF
}
SIGN_IN=$(srp_sign_in); echo "$SIGN_IN"
# -> the first sign-in: "AuthenticationResult" (AWS counts the confirmed sign-up as the
#    second factor of a first sign-in, and asks for MFA from the next one on)
ACCESS_TOKEN=$(echo "$SIGN_IN" | pick AuthenticationResult AccessToken)

# 3. Enrol an authenticator app with the access token from step 2.
SECRET_CODE=$(aws cognito-idp associate-software-token --access-token "$ACCESS_TOKEN" \\
  --query SecretCode --output text)
echo "Enter this key in your authenticator app: $SECRET_CODE"
# (or show it as a QR code of otpauth://totp/YourApp:+14155550123?secret=<key>&issuer=YourApp)
read -r -p "Code from the app: " APP_CODE
aws cognito-idp verify-software-token --access-token "$ACCESS_TOKEN" \\
  --user-code "$APP_CODE" --friendly-device-name phone
# -> "Status": "SUCCESS" (a wrong code: EnableSoftwareTokenMFAException; try again)
aws cognito-idp set-user-mfa-preference --access-token "$ACCESS_TOKEN" \\
  --software-token-mfa-settings Enabled=true,PreferredMfa=true

# 4. Sign in by password again: "ChallengeName": "SOFTWARE_TOKEN_MFA" and a Session. Answer:
SESSION=$(srp_sign_in | pick Session)
read -r -p "Code from the app: " APP_CODE
aws cognito-idp respond-to-auth-challenge --client-id "$CLIENT_ID" \\
  --challenge-name SOFTWARE_TOKEN_MFA --session "$SESSION" \\
  --challenge-responses USERNAME="$PHONE",SOFTWARE_TOKEN_MFA_CODE="$APP_CODE"
# -> "AuthenticationResult"; a wrong code: CodeMismatchException, and the same Session
#    takes another try
"""


def password_walk_through(stack_name: str = DOCS_STACK_NAME) -> str:
    """The walk-through's commands for ``stack_name`` (the docs' own when not given)."""
    return WALK_THROUGH_COMMANDS.replace(f"STACK={DOCS_STACK_NAME}\n", f"STACK={stack_name}\n", 1)


def password_walk_through_announcement(deployment: SandboxDeployment) -> str:
    """What ``sandbox --passwords`` prints once its stack is deployed: where it runs, then every command to paste."""
    settings = " ".join(f"{name}={value}" for name, value in PASSWORD_STACK_OVERRIDES.items())
    return "\n".join(
        [
            f"\nThe stack {deployment.stack_name} ({settings}) runs in the emulator at {deployment.endpoint_url};",
            "press Ctrl-C to stop it. The walk-through of *Keeping passwords*, from the project's folder in another",
            "terminal (bash): the first lines point the AWS CLI (.venv-awscli's) and SDK at the emulator. The emulator",
            f"sends no sign-up code and takes any: type {EMULATOR_SIGN_UP_CODE}. The authenticator app's codes are real.",
            BEGIN_MARK,
            f"export AWS_ENDPOINT_URL={deployment.endpoint_url} AWS_REGION={deployment.region} AWS_DEFAULT_REGION={deployment.region}",
            f"export AWS_ACCESS_KEY_ID={SANDBOX_ACCESS_KEY} AWS_SECRET_ACCESS_KEY={SANDBOX_SECRET_KEY} AWS_PAGER=",
            "unset AWS_PROFILE AWS_SESSION_TOKEN",
            'export PATH="$PWD/.venv-awscli/bin:$PATH"',
            password_walk_through(deployment.stack_name).rstrip("\n"),
            END_MARK,
        ]
    )
