"""The web example (web/, AWS Amplify JS v6) in headless Chromium, against the emulator's Cognito.

The page is served as ``sandbox --web`` serves it, with its phone panel: a sign-in
reads its codes there, as a person would, and from no queue of its own.
Debian's Chromium (``apt-get install chromium``) is driven by Playwright; Playwright's
own browser download is never used. Screenshots land in ``.artifacts/``.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, Route, expect, sync_playwright

from sms_otp.core.phone_numbers import PREMIUM_NUMBER_MESSAGE
from sms_otp.core.settings import LimitPolicy
from sms_otp_client.inbox import CODE_PATTERN, TestModeInbox
from sms_otp_client.sandbox import PROJECT_ROOT, SandboxDeployment
from sms_otp_client.web import PhonePanel, WebExampleServer, page_config
from tests.testkit import docs

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = Path(os.environ.get("SMS_OTP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / ".artifacts"
# A step waits for Cognito and the triggers (a cold start included), not for the page alone.
STEP_TIMEOUT_MS = 30_000
CREATE_SOURCE = "CreateAuthChallenge_Authentication"


@pytest.fixture(scope="module")
def web_example(sandbox: SandboxDeployment) -> Iterator[WebExampleServer]:
    server = WebExampleServer()
    server.start(page_config(sandbox.outputs, sandbox.endpoint_url), phone=PhonePanel.follow(sandbox))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def unconfigured_web_example() -> Iterator[WebExampleServer]:
    """The page with an empty config.json: it must be configured by its query string."""
    server = WebExampleServer()
    server.start({})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    """A page in headless Chromium with a fresh profile; fails the test on any script error."""
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `apt-get install chromium` (or set SMS_OTP_CHROMIUM)")
    script_errors: list[str] = []
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "profile", executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        opened = context.new_page()
        opened.on("pageerror", lambda error: script_errors.append(str(error)))
        try:
            yield opened
        finally:
            context.close()
    assert script_errors == []


def http_get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback server under test
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, "", b""


def test_the_server_answers_the_page_its_bundle_and_the_stacks_config(web_example: WebExampleServer, sandbox: SandboxDeployment):
    # GIVEN the sandbox's server for the built page
    # WHEN the page, its bundle and config.json are fetched
    page_status, page_type, page_body = http_get(web_example.url)
    bundle_status, bundle_type, _ = http_get(f"{web_example.url}dist/main.js")
    config_status, config_type, config_body = http_get(f"{web_example.url}config.json")

    # THEN each comes with its type, and config.json names the stack's pool, app client, code length,
    # interval between codes, the emulator, and where the phone panel reads its texts
    assert (page_status, page_type) == (200, "text/html")
    assert page_body == (PROJECT_ROOT / "web" / "index.html").read_bytes()
    assert (bundle_status, bundle_type) == (200, "text/javascript")
    assert (config_status, config_type) == (200, "application/json")
    assert json.loads(config_body) == {
        "userPoolId": sandbox.outputs.user_pool_id,
        "userPoolClientId": sandbox.outputs.user_pool_client_id,
        "otpLength": 6,
        "minSecondsBetweenMessages": 10,
        "userPoolEndpoint": sandbox.endpoint_url,
        "phoneTexts": "texts.json",
    }


@pytest.mark.parametrize("path", ["package.json", "package-lock.json", "dist/../package.json", "src/main.js", "node_modules/.installed"])
def test_the_server_gives_nothing_else_away(web_example: WebExampleServer, path: str):
    assert http_get(f"{web_example.url}{path}")[0] == 404


def test_the_readmes_command_writes_the_pages_config_from_the_stacks_outputs(sandbox: SandboxDeployment, sandbox_env: dict[str, str]):
    # GIVEN your-app.md's AWS CLI command that writes web/config.json, pointed at the sandbox's stack
    your_app = docs.page("your-app.md")
    [line] = [line for line in your_app.splitlines() if line.startswith("aws cloudformation describe-stacks") and "web/config.json" in line]
    command = shlex.split(line.split(" > ")[0])
    command[command.index("--stack-name") + 1] = sandbox.stack_name

    # WHEN it runs
    result = subprocess.run(  # noqa: S603 - the docs' command, our own CLI
        [str(PROJECT_ROOT / ".venv-awscli" / "bin" / "aws"), *command[1:]], env=sandbox_env, capture_output=True, text=True, check=False
    )

    # THEN it prints what the sandbox serves as config.json, without the emulator's endpoint
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == page_config(sandbox.outputs)


def use_up_the_hour(sandbox: SandboxDeployment, phone_number: str) -> None:
    """Record sends to ``phone_number`` in the deployed limits table, after its first, until its hour is full."""
    # Imported here, not at collection: sms_otp.limits builds Powertools' metrics on import, which must
    # happen under the unit tier's environment when both tiers are collected in one run.
    from sms_otp.limits.errors import SendLimitError
    from sms_otp.limits.store import DynamoDbLimitStore

    assert sandbox.outputs.limits_table_name is not None
    limits = DynamoDbLimitStore(sandbox.outputs.limits_table_name, LimitPolicy(min_seconds_between_messages=0), sandbox.client("dynamodb"))
    for _ in range(LimitPolicy().max_messages_per_hour - 1):  # the page's code was the first
        limits.admit(phone_number, new_round=False, send=True)
    with pytest.raises(SendLimitError):
        limits.admit(phone_number, new_round=False, send=True)


def send_code(page: Page, phone_number: str) -> None:
    page.fill("#phone", phone_number)
    page.click("#phone-step button[type=submit]")


def enter_code(page: Page, code: str) -> None:
    page.fill("#code", code)
    page.click("#code-step button[type=submit]")


def amplify_stored_tokens(page: Page) -> list[str]:
    """The names of the tokens Amplify keeps in the browser's local storage."""
    script = "() => Object.keys(localStorage).filter((name) => /\\.(idToken|accessToken|refreshToken)$/.test(name))"
    names: list[str] = page.evaluate(script)
    return names


def codes_on_the_phone(page: Page, phone_number: str) -> Locator:
    """The sign-in texts to ``phone_number`` in the page's phone panel, oldest first."""
    return page.locator(f'#texts li[data-recipient="{phone_number}"][data-trigger-source="{CREATE_SOURCE}"] .body')


def code_on_the_phone(page: Page, phone_number: str, count: int) -> str:
    """The code of the ``count``-th sign-in text to ``phone_number``, once the phone panel shows it."""
    texts = codes_on_the_phone(page, phone_number)
    expect(texts).to_have_count(count, timeout=STEP_TIMEOUT_MS)
    match = CODE_PATTERN.search(texts.nth(count - 1).inner_text())
    assert match is not None
    return match.group(1)


def test_sign_up_and_sign_in_from_the_browser_alone_with_a_wrong_code_and_a_new_code(
    web_example: WebExampleServer, sandbox: SandboxDeployment, page: Page, phone_number: str
):
    # GIVEN the page as `sandbox --web` serves it: the stack's outputs, the emulator's endpoint, a phone panel
    page.goto(web_example.url)
    expect(page.locator("#phone-step")).to_be_visible()
    expect(page.locator("#phone-panel")).to_be_visible()

    # WHEN a new phone number, written the way people write it, asks for a code
    send_code(page, f"+1 (202) 555-{phone_number[-4:]}")

    # THEN the number is brought to E.164, the account is created, a code goes to it, the page shows where (masked),
    # and "Send a new code" waits for the stack's interval with a countdown
    expect(page.locator("#code-step")).to_be_visible(timeout=STEP_TIMEOUT_MS)
    expect(page.locator("#status")).to_have_text(f"We sent a code to +*******{phone_number[-4:]}.")
    expect(page.locator("#resend")).to_be_hidden()
    expect(page.locator("#resend-wait")).to_contain_text("You can ask for a new code in ")
    first_code = code_on_the_phone(page, phone_number, 1)

    # WHEN a code of the wrong length is entered
    enter_code(page, first_code[:-1])

    # THEN the page refuses it without sending it
    expect(page.locator("#error")).to_have_text("The code is 6 digits: type it again.")

    # WHEN a wrong code is entered
    enter_code(page, f"{(int(first_code) + 1) % 10 ** len(first_code):0{len(first_code)}d}")

    # THEN the page says so and asks again
    expect(page.locator("#error")).to_have_text("That code is not right. Please try again.", timeout=STEP_TIMEOUT_MS)
    expect(page.locator("#code-step")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "web-example-wrong-code.png", full_page=True)

    # WHEN the interval has passed and the person asks for a new code
    expect(page.locator("#resend")).to_be_visible(timeout=STEP_TIMEOUT_MS)
    expect(page.locator("#resend-wait")).to_be_hidden()
    page.click("#resend")

    # THEN a new code comes, and the page says the one before no longer works
    expect(page.locator("#status")).to_have_text(
        f"We sent a new code to +*******{phone_number[-4:]}; the one before no longer works.", timeout=STEP_TIMEOUT_MS
    )
    new_code = code_on_the_phone(page, phone_number, 2)

    # WHEN the new code is entered
    enter_code(page, new_code)

    # THEN the person is signed in, and the page shows the claims of tokens issued to this app client
    expect(page.locator("#signed-in")).to_be_visible(timeout=STEP_TIMEOUT_MS)
    expect(page.locator("#status")).to_have_text(f"Signed in as {phone_number}.")
    claims = json.loads(page.inner_text("#claims"))
    assert claims["idToken"]["phone_number"] == phone_number
    assert claims["idToken"]["aud"] == sandbox.outputs.user_pool_client_id
    assert claims["idToken"]["token_use"] == "id"
    assert claims["accessToken"]["client_id"] == sandbox.outputs.user_pool_client_id
    assert claims["accessToken"]["token_use"] == "access"
    page.screenshot(path=ARTIFACTS / "web-example-signed-in.png", full_page=True)
    assert amplify_stored_tokens(page) != []

    # WHEN the person signs out
    page.click("#sign-out")

    # THEN the page starts over and the browser keeps no token
    expect(page.locator("#status")).to_have_text("Signed out.", timeout=STEP_TIMEOUT_MS)
    expect(page.locator("#phone-step")).to_be_visible()
    assert amplify_stored_tokens(page) == []


def test_refusals_by_the_triggers_reach_the_page(
    unconfigured_web_example: WebExampleServer,
    sandbox: SandboxDeployment,
    page: Page,
    phone_number: str,
    inbox: TestModeInbox,
    in_process_limits: None,
):
    # GIVEN the page, configured by its query string alone
    query = urllib.parse.urlencode(page_config(sandbox.outputs, sandbox.endpoint_url))
    page.goto(f"{unconfigured_web_example.url}?{query}")
    expect(page.locator("#phone-step")).to_be_visible()

    # WHEN a premium-rate number signs up
    send_code(page, "+19005550123")

    # THEN Pre sign-up's sentence is shown as it is written (not the emulator's wrapping of it), the page says
    # no code was sent, and asks for a phone number again
    expect(page.locator("#error")).to_have_text(PREMIUM_NUMBER_MESSAGE, timeout=STEP_TIMEOUT_MS)
    expect(page.locator("#status")).to_have_text("No code was sent.")
    expect(page.locator("#phone-step")).to_be_visible()

    # WHEN a valid number gets a code, uses up its hour (MaxMessagesPerHour=5), and asks for a new one
    send_code(page, phone_number)
    expect(page.locator("#code-step")).to_be_visible(timeout=STEP_TIMEOUT_MS)
    inbox.wait_for_message(trigger_source=CREATE_SOURCE)
    use_up_the_hour(sandbox, phone_number)
    expect(page.locator("#resend")).to_be_visible(timeout=STEP_TIMEOUT_MS)
    page.click("#resend")

    # THEN Create Auth Challenge's refusal says when to try again, in its own words only, and the page starts
    # over saying what happened (Amplify forgets a sign-in whose signIn was refused)
    refusal = "Too many codes were sent to this number. Please try again in "
    expect(page.locator("#error")).to_contain_text(refusal, timeout=STEP_TIMEOUT_MS)
    assert page.inner_text("#error").startswith(refusal)
    assert "errorMessage" not in page.inner_text("#error")
    expect(page.locator("#status")).to_have_text(
        "No new code was sent, and the one before can no longer be used. Enter your phone number to try again."
    )
    expect(page.locator("#phone-step")).to_be_visible()

    # WHEN the same number is entered again (an existing account: it signs in)
    send_code(page, phone_number)

    # THEN the same refusal comes, and no second code was sent
    expect(page.locator("#error")).to_contain_text(refusal, timeout=STEP_TIMEOUT_MS)
    expect(page.locator("#status")).to_have_text("No code was sent.")
    expect(page.locator("#phone-step")).to_be_visible()
    assert inbox.drain() == []


def test_where_only_administrators_create_accounts_the_page_signs_in_an_account_they_made(
    web_example: WebExampleServer, sandbox: SandboxDeployment, page: Page, phone_number: str, inbox: TestModeInbox
):
    # GIVEN an account made by an administrator, as your-app.md shows for SelfSignUp=false
    cognito = sandbox.client("cognito-idp")
    cognito.admin_create_user(
        UserPoolId=sandbox.outputs.user_pool_id,
        Username=phone_number,
        UserAttributes=[{"Name": "phone_number", "Value": phone_number}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(
        UserPoolId=sandbox.outputs.user_pool_id, Username=phone_number, Password=f"{secrets.token_urlsafe(30)}aA1!", Permanent=True
    )
    # AND a pool that refuses SignUp as Cognito does with AllowAdminCreateUserOnly (the emulator lets it through)
    refused_sign_ups: list[str] = []

    def refuse_sign_up(route: Route) -> None:
        if route.request.headers.get("x-amz-target", "").endswith(".SignUp"):
            refused_sign_ups.append(route.request.url)
            route.fulfill(
                status=400,
                headers={"Access-Control-Allow-Origin": "*", "Content-Type": "application/x-amz-json-1.1"},
                body=json.dumps({"__type": "NotAuthorizedException", "message": "SignUp is not permitted for this user pool"}),
            )
        else:
            route.fallback()

    page.route(lambda url: url.startswith(sandbox.endpoint_url), refuse_sign_up)
    page.goto(web_example.url)
    expect(page.locator("#phone-step")).to_be_visible()

    # WHEN the person asks for a code
    send_code(page, phone_number)

    # THEN the refused sign-up does not stop them: a code comes, and it signs them in
    expect(page.locator("#code-step")).to_be_visible(timeout=STEP_TIMEOUT_MS)
    assert refused_sign_ups != []
    enter_code(page, inbox.wait_for_message(trigger_source=CREATE_SOURCE).code)
    expect(page.locator("#status")).to_have_text(f"Signed in as {phone_number}.", timeout=STEP_TIMEOUT_MS)
