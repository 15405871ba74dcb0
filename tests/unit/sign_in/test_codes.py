"""sms_otp.sign_in.codes: drawing, hashing, verifying and expiring one-time codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sms_otp.sign_in.codes import (
    CLOCK_SKEW_SECONDS,
    IssuedCode,
    generate_code,
    normalize_answer,
    verify_answer,
)

pytestmark = pytest.mark.unit

ISSUED_AT = 1_763_740_800
TTL = 180
SALT = b"saltsaltsaltsalt"
# The values events/verify_auth_challenge.json and the session metadata in the sample events hold.
SAMPLE_PRIVATE_PARAMETERS = {
    "codeHash": "exzbDIS9m2WlmxxErH91gbu-uqytPv_m5cCE1VBG-yM=",
    "codeSalt": "c2FsdHNhbHRzYWx0c2FsdA==",
    "issuedAt": "1763740800",
}
SAMPLE_METADATA = "SMS_OTP:v1:1763740800:c2FsdHNhbHRzYWx0c2FsdA==:exzbDIS9m2WlmxxErH91gbu-uqytPv_m5cCE1VBG-yM="


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _sample_issued_code() -> IssuedCode:
    return IssuedCode(salt=SALT, digest=hmac.new(SALT, b"123456", hashlib.sha256).digest(), issued_at=ISSUED_AT)


# ---------------------------------------------------------------- generate ---


def test_every_digit_occurs_at_every_position() -> None:
    # GIVEN 5000 codes of six digits
    codes = [generate_code(6) for _ in range(5000)]

    # WHEN collecting the digits seen at each position
    seen = [{code[position] for code in codes} for position in range(6)]

    # THEN every digit 0-9 occurs at every position (the sample we learned from never drew a 9)
    assert seen == [set("0123456789")] * 6


@pytest.mark.parametrize("length", [1, 6, 8, 10])
def test_generate_code_has_exactly_the_length_asked_for(length: int) -> None:
    # GIVEN / WHEN many draws
    codes = [generate_code(length) for _ in range(300)]

    # THEN each is that many ASCII digits
    assert all(len(code) == length and code.isascii() and code.isdigit() for code in codes)


@pytest.mark.parametrize(
    ("drawn", "length", "expected"),
    [
        (7, 6, "000007"),
        (0, 6, "000000"),
        (999_999, 6, "999999"),
        (42, 8, "00000042"),
    ],
)
def test_generate_code_zero_pads(monkeypatch: pytest.MonkeyPatch, drawn: int, length: int, expected: str) -> None:
    # GIVEN a random source that draws a small number
    monkeypatch.setattr(secrets, "randbelow", lambda _upper: drawn)

    # WHEN / THEN the code keeps its leading zeros
    assert generate_code(length) == expected


def test_generate_code_draws_uniformly_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a spy on the cryptographic random source
    calls: list[int] = []

    def randbelow(upper: int) -> int:
        calls.append(upper)
        return 123_456

    monkeypatch.setattr(secrets, "randbelow", randbelow)

    # WHEN drawing a code
    code = generate_code(6)

    # THEN it came from secrets, over all 10**6 values at once (no per-digit modulo bias)
    assert code == "123456"
    assert calls == [1_000_000]


@pytest.mark.parametrize("length", [0, -1])
def test_generate_code_refuses_a_length_below_one(length: int) -> None:
    with pytest.raises(ValueError, match=r"^a code has at least one digit$"):
        generate_code(length)


def test_issue_draws_the_salt_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a spy on secrets.token_bytes
    sizes: list[int] = []

    def token_bytes(size: int) -> bytes:
        sizes.append(size)
        return SALT

    monkeypatch.setattr(secrets, "token_bytes", token_bytes)

    # WHEN issuing a code
    issued = IssuedCode.issue("123456", issued_at=ISSUED_AT)

    # THEN a 16-byte salt came from secrets and the digest is HMAC-SHA256(salt, code)
    assert sizes == [16]
    assert issued == _sample_issued_code()


def test_two_issues_of_the_same_code_have_different_salts_and_hashes() -> None:
    # GIVEN the same code issued twice
    first, second = IssuedCode.issue("123456", ISSUED_AT), IssuedCode.issue("123456", ISSUED_AT)

    # WHEN / THEN each issue has its own salt, so the hashes differ too
    assert first.salt != second.salt
    assert first.digest != second.digest


# ---------------------------------------------------------------- verify ---


def test_matches_compares_digests_with_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a spy on hmac.compare_digest
    compared: list[tuple[bytes, bytes]] = []
    real_compare_digest = hmac.compare_digest

    def compare_digest(left: bytes, right: bytes) -> bool:
        compared.append((left, right))
        return real_compare_digest(left, right)

    monkeypatch.setattr(hmac, "compare_digest", compare_digest)
    issued = IssuedCode.issue("123456", ISSUED_AT)

    # WHEN checking a right and a wrong answer
    right, wrong = issued.matches("123456"), issued.matches("654321")

    # THEN both went through the constant-time comparison, of 32-byte digests rather than codes
    assert (right, wrong) == (True, False)
    assert len(compared) == 2
    assert all(len(left) == len(right_) == 32 for left, right_ in compared)


@pytest.mark.parametrize("answer", ["123456", "12345", "abcdef", None, 123456, "1" * 1000])
def test_verify_answer_hashes_every_answer_even_malformed_ones(monkeypatch: pytest.MonkeyPatch, answer: object) -> None:
    # GIVEN a spy on hmac.compare_digest
    compared: list[tuple[bytes, bytes]] = []
    real_compare_digest = hmac.compare_digest

    def compare_digest(left: bytes, right: bytes) -> bool:
        compared.append((left, right))
        return real_compare_digest(left, right)

    monkeypatch.setattr(hmac, "compare_digest", compare_digest)

    # WHEN verifying the answer
    verify_answer(_sample_issued_code(), answer, length=6, now=ISSUED_AT, ttl_seconds=TTL)

    # THEN exactly one constant-time comparison ran, whatever the answer (timing says nothing)
    assert len(compared) == 1


@pytest.mark.parametrize(
    ("now", "expired"),
    [
        pytest.param(ISSUED_AT, False, id="at issue"),
        pytest.param(ISSUED_AT + TTL - 1, False, id="one second before the end"),
        pytest.param(ISSUED_AT + TTL - 0.001, False, id="a millisecond before the end"),
        pytest.param(ISSUED_AT + TTL, True, id="issued_at + ttl"),
        pytest.param(ISSUED_AT + TTL + 1, True, id="after the end"),
        pytest.param(ISSUED_AT - CLOCK_SKEW_SECONDS, False, id="issued within the clock skew in the future"),
        pytest.param(ISSUED_AT - CLOCK_SKEW_SECONDS - 1, True, id="issued beyond the clock skew in the future"),
        pytest.param(ISSUED_AT - 3600, True, id="issued an hour in the future"),
    ],
)
def test_expiry_boundaries(now: float, expired: bool) -> None:
    # GIVEN a code issued at ISSUED_AT with a three-minute lifetime
    issued = _sample_issued_code()

    # WHEN / THEN it expires exactly at issued_at + ttl and is refused when issued in the future
    assert issued.is_expired(now, TTL) is expired
    assert verify_answer(issued, "123456", length=6, now=now, ttl_seconds=TTL) is (not expired)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param("123456", True, id="right"),
        pytest.param(" 123456\n", True, id="right with surrounding white space"),
        pytest.param("123457", False, id="wrong"),
        pytest.param("12345", False, id="too short"),
        pytest.param("1234567", False, id="too long"),
        pytest.param("١٢٣٤٥٦", False, id="arabic-indic digits of the right code"),
        pytest.param("\uff11\uff12\uff13\uff14\uff15\uff16", False, id="fullwidth digits of the right code"),
        pytest.param(123456, False, id="an int"),
        pytest.param(None, False, id="None"),
    ],
)
def test_verify_answer(answer: object, expected: bool) -> None:
    assert verify_answer(_sample_issued_code(), answer, length=6, now=ISSUED_AT + 10, ttl_seconds=TTL) is expected


# ---------------------------------------------------------------- normalize ---


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("123456", "123456"),
        ("000000", "000000"),
        (" 123456", "123456"),
        ("123456 ", "123456"),
        ("\t123456\r\n", "123456"),
        ("\u00a0123456\u2003", "123456"),
    ],
)
def test_normalize_answer_accepts_six_ascii_digits_with_surrounding_white_space(answer: str, expected: str) -> None:
    assert normalize_answer(answer, 6) == expected


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param("١٢٣٤٥٦", id="arabic-indic digits"),
        pytest.param("۱۲۳۴۵۶", id="extended arabic-indic digits"),
        pytest.param("\uff11\uff12\uff13\uff14\uff15\uff16", id="fullwidth digits"),
        pytest.param("¹²³⁴⁵⁶", id="superscript digits"),
        pytest.param("12345", id="five digits"),
        pytest.param("1234567", id="seven digits"),
        pytest.param("", id="empty"),
        pytest.param("      ", id="blank"),
        pytest.param("12 456", id="inner space"),
        pytest.param("12345a", id="a letter"),
        pytest.param("+12345", id="a sign"),
        pytest.param("-12345", id="a minus"),
        pytest.param("12345.", id="a dot"),
        pytest.param("1" * 65, id="longer than 64 characters"),
        pytest.param("1" * 100_000, id="huge"),
        pytest.param(None, id="None"),
        pytest.param(123456, id="int"),
        pytest.param(123456.0, id="float"),
        pytest.param(b"123456", id="bytes"),
        pytest.param(["123456"], id="list"),
        pytest.param({"code": "123456"}, id="dict"),
    ],
)
def test_normalize_answer_refuses_what_cannot_be_a_code(answer: object) -> None:
    assert normalize_answer(answer, 6) is None


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary(), st.integers(), st.none(), st.floats(), st.lists(st.text())))
def test_normalize_answer_never_raises_and_returns_only_ascii_digits(answer: object) -> None:
    result = normalize_answer(answer, 6)
    assert result is None or (len(result) == 6 and result.isascii() and result.isdigit())


# ---------------------------------------------------------------- round trips ---


def test_private_parameters_round_trip() -> None:
    # GIVEN an issued code
    issued = IssuedCode.issue("987654", ISSUED_AT)

    # WHEN writing and reading back its private parameters
    parameters = issued.to_private_parameters()

    # THEN nothing is lost, and the parameters hold the hash, the salt and the time only
    assert IssuedCode.from_private_parameters(parameters) == issued
    assert parameters == {"codeHash": _b64(issued.digest), "codeSalt": _b64(issued.salt), "issuedAt": str(ISSUED_AT)}


def test_metadata_round_trip() -> None:
    # GIVEN an issued code
    issued = IssuedCode.issue("987654", ISSUED_AT)

    # WHEN writing its challenge metadata
    metadata = issued.to_metadata()

    # THEN reading it back loses nothing, and it holds no code
    assert IssuedCode.from_metadata(metadata) == issued
    assert metadata == f"SMS_OTP:v1:{ISSUED_AT}:{_b64(issued.salt)}:{_b64(issued.digest)}"


def test_the_sample_events_hold_the_hash_of_123456() -> None:
    # GIVEN the private parameters and metadata written into events/*.json
    # WHEN parsing them
    from_parameters = IssuedCode.from_private_parameters(SAMPLE_PRIVATE_PARAMETERS)
    from_metadata = IssuedCode.from_metadata(SAMPLE_METADATA)

    # THEN both describe the same code, 123456 issued at 2025-11-21T16:00:00Z
    assert from_parameters == from_metadata == _sample_issued_code()
    assert _sample_issued_code().to_private_parameters() == SAMPLE_PRIVATE_PARAMETERS
    assert _sample_issued_code().to_metadata() == SAMPLE_METADATA


def _without(key: str) -> dict[str, str]:
    return {name: value for name, value in SAMPLE_PRIVATE_PARAMETERS.items() if name != key}


def _with(**changes: object) -> dict[str, object]:
    return {**SAMPLE_PRIVATE_PARAMETERS, **changes}


@pytest.mark.parametrize(
    "parameters",
    [
        pytest.param(None, id="None"),
        pytest.param("codeHash=...", id="a string"),
        pytest.param([SAMPLE_PRIVATE_PARAMETERS], id="a list"),
        pytest.param({}, id="empty"),
        pytest.param(_without("codeHash"), id="no hash"),
        pytest.param(_without("codeSalt"), id="no salt"),
        pytest.param(_without("issuedAt"), id="no issuedAt"),
        pytest.param(_with(issuedAt=1763740800), id="issuedAt an int"),
        pytest.param(_with(issuedAt="-1"), id="issuedAt negative"),
        pytest.param(_with(issuedAt="1.5"), id="issuedAt a float"),
        pytest.param(_with(issuedAt="١٧٦٣٧٤٠٨٠٠"), id="issuedAt in arabic-indic digits"),
        pytest.param(_with(issuedAt="9" * 13), id="issuedAt absurdly large"),
        pytest.param(_with(issuedAt=""), id="issuedAt empty"),
        pytest.param(_with(codeSalt=None), id="salt None"),
        pytest.param(_with(codeSalt=_b64(b"short")), id="salt too short"),
        pytest.param(_with(codeSalt="c2FsdHNhbHRzYWx0c2FsdA"), id="salt without padding"),
        pytest.param(_with(codeSalt="sélsélsélsélsél=="), id="salt not ascii"),
        pytest.param(_with(codeHash=_b64(b"x" * 31)), id="hash too short"),
        pytest.param(_with(codeHash=_b64(b"x" * 33)), id="hash too long"),
        pytest.param(_with(codeHash="!!!!"), id="hash garbled"),
        pytest.param(_with(codeHash=123), id="hash an int"),
    ],
)
def test_malformed_private_parameters_are_none(parameters: object) -> None:
    assert IssuedCode.from_private_parameters(parameters) is None


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param(None, id="None"),
        pytest.param(123, id="an int"),
        pytest.param("", id="empty"),
        pytest.param("OTHER_CHALLENGE", id="another challenge's metadata"),
        pytest.param(SAMPLE_METADATA.replace("SMS_OTP", "SMS_OTQ", 1), id="wrong prefix"),
        pytest.param(SAMPLE_METADATA.replace(":v1:", ":v2:", 1), id="unknown version"),
        pytest.param(SAMPLE_METADATA + ":extra", id="six parts"),
        pytest.param(SAMPLE_METADATA.rsplit(":", 1)[0], id="four parts"),
        pytest.param(SAMPLE_METADATA.replace("1763740800", "soon"), id="issuedAt not a number"),
        pytest.param(SAMPLE_METADATA.replace("c2FsdHNhbHRzYWx0c2FsdA==", "c2FsdA=="), id="short salt"),
        pytest.param(SAMPLE_METADATA[:-8], id="truncated hash"),
    ],
)
def test_malformed_metadata_is_none(metadata: object) -> None:
    assert IssuedCode.from_metadata(metadata) is None


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parsing_arbitrary_text_never_raises(text: str) -> None:
    assert IssuedCode.from_metadata(text) is None or text.startswith("SMS_OTP:v1:")
    IssuedCode.from_private_parameters({"codeHash": text, "codeSalt": text, "issuedAt": text})


def test_an_answer_of_up_to_64_characters_is_looked_at_and_a_longer_one_is_not() -> None:
    # GIVEN the code padded with white space to 64 characters, and to 65
    at_limit = "123456".center(64)

    # WHEN / THEN the first is the code; the second is simply not a code
    assert normalize_answer(at_limit, 6) == "123456"
    assert normalize_answer(at_limit + " ", 6) is None


@pytest.mark.parametrize(("zeros", "read"), [(2, True), (3, False)], ids=["12 digits", "13 digits"])
def test_an_issue_time_of_up_to_12_digits_is_read(zeros: int, read: bool) -> None:
    # GIVEN private parameters whose issue time is zero-padded to 12 digits, or to 13
    parameters = {**SAMPLE_PRIVATE_PARAMETERS, "issuedAt": "0" * zeros + str(ISSUED_AT)}

    # WHEN / THEN 12 digits are an issue time; 13 are refused as malformed
    issued = IssuedCode.from_private_parameters(parameters)
    assert (issued is not None and issued.issued_at == ISSUED_AT) is read
    assert (issued is None) is not read
