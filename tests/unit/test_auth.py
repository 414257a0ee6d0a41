"""Auth forms and the tunnel's DSN, as pure functions."""

import base64

import pytest

from collector.protocol.auth import from_request, resolve
from collector.protocol.refusals import BadAuth, HeaderMismatch, InvalidDsn, MissingAuth, UnsupportedVersion


def test_x_sentry_auth_header_prefix_is_case_insensitive():
    auth = from_request(
        {"X-Sentry-Auth": "sentry sentry_key=abc, sentry_version=7, sentry_client=sentry.python/2.75.0"}, {}
    )
    assert (auth.public_key, auth.version, auth.client) == ("abc", 7, "sentry.python/2.75.0")


def test_authorization_sentry_and_basic():
    assert from_request({"Authorization": "Sentry sentry_key=k1"}, {}).public_key == "k1"
    basic = "Basic " + base64.b64encode(b"k2:").decode()
    assert from_request({"Authorization": basic}, {}).public_key == "k2"


def test_query_string_auth():
    assert from_request({}, {"sentry_key": "k3", "sentry_version": "7"}).public_key == "k3"


def test_no_auth_is_none_and_other_schemes_are_ignored():
    assert from_request({}, {}) is None
    assert from_request({"Authorization": "Bearer xyz"}, {}) is None


@pytest.mark.parametrize(
    "headers, query, refusal, status",
    [
        ({"X-Sentry-Auth": "Sentry sentry_key=a"}, {"sentry_key": "a"}, BadAuth, 401),
        ({"X-Sentry-Auth": "Sentry sentry_key=a", "Authorization": "Sentry sentry_key=a"}, {}, BadAuth, 401),
        ({"X-Sentry-Auth": "Bearer abc"}, {}, BadAuth, 401),
        ({"X-Sentry-Auth": "Sentry sentry_version=7"}, {}, BadAuth, 401),
        ({}, {"sentry_version": "7"}, BadAuth, 401),
        ({"Authorization": "Basic !!!"}, {}, BadAuth, 401),
        ({}, {"sentry_key": "a", "sentry_version": "9"}, UnsupportedVersion, 400),
        ({}, {"sentry_key": "a", "sentry_version": "seven"}, BadAuth, 401),
    ],
)
def test_bad_auth(headers, query, refusal, status):
    with pytest.raises(refusal) as e:
        from_request(headers, query)
    assert e.value.status == status


def test_tunnel_takes_key_and_project_from_the_envelope_dsn():
    assert resolve(None, "http://pub@localhost:8969/5", "5") == ("pub", "5")


def test_tunnel_without_dsn_is_401():
    with pytest.raises(MissingAuth) as e:
        resolve(None, None, "1")
    assert e.value.status == 401


@pytest.mark.parametrize("dsn", ["not a dsn", "http://host/1", "http://key@host/", "http://key@[::1/1"])
def test_a_dsn_without_key_or_project_is_invalid(dsn):
    with pytest.raises(InvalidDsn) as e:
        resolve(None, dsn, None)
    assert e.value.status == 400


def test_request_auth_and_dsn_must_agree():
    auth = from_request({}, {"sentry_key": "one"})
    assert resolve(auth, "http://one@host/1", "1") == ("one", "1")
    for dsn, project in (("http://two@host/1", "1"), ("http://one@host/2", "1")):
        with pytest.raises(HeaderMismatch) as e:
            resolve(auth, dsn, project)
        assert e.value.status == 400
