"""The user pool's feature plan: the cheapest that carries what the stack uses, and never set on a pool the stack does not own."""

from __future__ import annotations

import json

import pytest

from tests.testkit.template import load_template
from tests.unit.template.test_template_safeguards import EXISTING_POOL, NEW_POOL, SENDER_ONLY_POOL, resources

pytestmark = pytest.mark.unit

# AWS's "Features by plan" table (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-sign-in-feature-plans.html,
# read 2026-12-06): the plans that carry each feature the stack relies on. The WAF association is in no row of
# it, and the page on it (user-pool-waf.html) names no plan.
PLANS_BY_PRICE = ("LITE", "ESSENTIALS", "PLUS")
FEATURES_THE_STACK_USES = {
    # The table's row: "Password, custom, refresh-token, and SRP authentication"
    "custom authentication (Define, Create, Verify)": {"LITE", "ESSENTIALS", "PLUS"},
    # "Custom runtime actions with Lambda triggers"
    "Pre sign-up, Post Authentication, Custom SMS Sender": {"LITE", "ESSENTIALS", "PLUS"},
    # "MFA with authenticator apps and SMS one-time codes"
    "MFA by SMS and authenticator app": {"LITE", "ESSENTIALS", "PLUS"},
    "AWS WAF web ACL association": {"LITE", "ESSENTIALS", "PLUS"},
}


def test_the_default_plan_is_the_cheapest_that_carries_every_feature_the_stack_uses() -> None:
    # GIVEN the plans that carry every feature the stack uses
    carrying = set.intersection(*FEATURES_THE_STACK_USES.values())

    # THEN the parameter's default is the cheapest of them, and the dearer plans stay choices
    parameter = load_template()["Parameters"]["UserPoolTier"]
    assert parameter["Default"] == next(plan for plan in PLANS_BY_PRICE if plan in carrying) == "LITE"
    assert parameter["AllowedValues"] == list(PLANS_BY_PRICE)


def test_a_pool_the_stack_creates_gets_the_plan_of_the_parameter() -> None:
    # GIVEN a stack that creates its pool / THEN the pool's plan is the parameter's value
    assert resources(**NEW_POOL)["UserPool"]["Properties"]["UserPoolTier"] == {"Ref": "UserPoolTier"}


@pytest.mark.parametrize("pool", [EXISTING_POOL, SENDER_ONLY_POOL], ids=["passwordless", "sender only"])
@pytest.mark.parametrize("tier", PLANS_BY_PRICE)
def test_an_existing_pools_plan_is_never_touched(pool: dict[str, str], tier: str) -> None:
    # GIVEN a stack on an existing pool, with any plan asked for
    created = resources(**pool, UserPoolTier=tier)

    # THEN no resource it creates reads the parameter (the custom resource sends back the pool's own plan)
    assert "UserPool" not in created
    assert '"UserPoolTier"' not in json.dumps(created)
