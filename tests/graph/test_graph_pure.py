"""The pure parts of the Graph support: error mapping, MIME rewriting, limits, PowerShell and clouds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tests.fixtures.graph_endpoint import unsigned_jwt
from wizard.services import graph_guide
from wizard.services.graph_check import TokenPermissions, decode_claims, permission_verdict
from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.services.transports.base import Scope
from wizard.services.transports.graph import GraphSettings, MailboxRequestWindow
from wizard.services.transports.graph_errors import error_for_reply, parse_error, parse_retry_after
from wizard.services.transports.graph_mime import (
    MessageTooLargeError,
    header_recipients,
    split_large_attachments,
    with_envelope_recipients,
)

APP = "11111111-2222-3333-4444-555555555555"


def reply(code: str) -> bytes:
    return f'{{"error": {{"code": "{code}", "message": "server words"}}}}'.encode()


@pytest.mark.parametrize(("status", "code", "diagnosis", "scope"), [
    (403, "ErrorAccessDenied", "access_denied", Scope.ACCOUNT),
    (403, "ErrorSendAsDenied", "send_as_denied", Scope.MESSAGE),
    (404, "MailboxNotEnabledForRESTAPI", "mailbox_not_enabled", Scope.ACCOUNT),
    (401, "InvalidAuthenticationToken", "invalid_token", Scope.ACCOUNT),
    (429, "ApplicationThrottled", "throttled", Scope.THROTTLE),
    (503, "ServiceUnavailable", "throttled", Scope.THROTTLE),
    (504, "GatewayTimeout", "timeout", Scope.RETRY),
    (500, "InternalServerError", "server_error", Scope.RETRY),
    (400, "ErrorInvalidRecipients", "recipient_rejected", Scope.MESSAGE),
    (400, "ErrorMessageSizeExceeded", "message_too_large", Scope.MESSAGE),
    (403, "ErrorQuotaExceeded", "quota_exceeded", Scope.THROTTLE),
])
def test_graph_error_codes_map_to_diagnosis_and_failure_scope(status: int, code: str, diagnosis: str,
                                                            scope: Scope) -> None:
    error = error_for_reply(parse_error(status, {}, reply(code)), from_address="app@example.com")
    assert (error.diagnosis.code, error.scope, error.reply_code) == (diagnosis, scope, status)
    assert error.diagnosis.detail == f"{status} {code}: server words"


def test_error_body_that_is_not_json_is_kept_as_the_detail() -> None:
    parsed = parse_error(502, {"retry-after": "3"}, b"<html>Bad gateway</html>")
    assert parsed.message == "<html>Bad gateway</html>"
    assert parsed.retry_after_s == 3


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 24, 8, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Tue, 24 Nov 2026 08:00:30 GMT", now) == 30
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_mailbox_window_allows_the_limit_then_says_how_long_to_wait() -> None:
    window = MailboxRequestWindow(limit=3, window_s=600)
    assert [window.reserve(t) for t in (0.0, 1.0, 2.0)] == [0.0, 0.0, 0.0]
    assert window.reserve(100.0) == 500.0
    assert window.reserve(600.0) == 0.0


def test_envelope_only_recipients_become_a_bcc_header_and_nothing_else_changes() -> None:
    raw = b"From: a@example.com\r\nTo: B <b@example.com>\r\nSubject: x\r\n\r\nbody\r\n"
    rewritten = with_envelope_recipients(raw, ["b@example.com", "c@example.com", "C@example.com"])
    assert rewritten == b"Bcc: c@example.com\r\n" + raw
    assert with_envelope_recipients(raw, ["B@EXAMPLE.com"]) == raw
    assert header_recipients(rewritten) == {"b@example.com", "c@example.com"}


def test_a_message_with_no_attachments_over_the_limit_cannot_be_split() -> None:
    raw = b"From: a@example.com\nTo: b@example.com\nSubject: x\n\n" + b"x" * 5000 + b"\n"
    with pytest.raises(MessageTooLargeError):
        split_large_attachments(raw, 4000)
    assert split_large_attachments(raw, 10_000) == (raw, [])


def test_app_only_settings_put_the_mailbox_in_the_url_and_delegated_use_me() -> None:
    app = GraphSettings("https://graph.microsoft.us", "o'neil@example.com", app_only=True)
    assert app.mailbox_url == "https://graph.microsoft.us/v1.0/users/o%27neil@example.com"
    delegated = GraphSettings("https://graph.microsoft.com", "x@example.com", app_only=False)
    assert delegated.mailbox_url == "https://graph.microsoft.com/v1.0/me"


def test_rbac_lines_are_filled_in_and_quoted_for_powershell() -> None:
    lines = graph_guide.rbac_for_applications_lines("11111111-2222-3333-4444-555555555555",
                                                    "99999999-8888-7777-6666-555555555555", "o'neil@contoso.com",
                                                    large_messages=True)
    assert lines[1] == ("New-ServicePrincipal -AppId '11111111-2222-3333-4444-555555555555' "
                        "-ObjectId '99999999-8888-7777-6666-555555555555' -DisplayName 'Mailwright'")
    assert lines[2] == ("New-ManagementScope -Name 'Mailwright sender o''neil@contoso.com' "
                        "-RecipientRestrictionFilter 'PrimarySmtpAddress -eq \"o''neil@contoso.com\"'")
    assert "-Role 'Application Mail.Send' -CustomResourceScope 'Mailwright sender o''neil@contoso.com'" in lines[3]
    assert "-Role 'Application Mail.ReadWrite'" in lines[4]
    assert lines[-1] == ("Test-ServicePrincipalAuthorization -Identity '11111111-2222-3333-4444-555555555555' "
                         "-Resource 'o''neil@contoso.com'")


def test_missing_values_show_placeholders_not_empty_quotes() -> None:
    lines = graph_guide.rbac_for_applications_lines("", "", "")
    assert "'<Application (client) ID>'" in lines[1] and "'<Enterprise application Object ID>'" in lines[1]
    policy = graph_guide.application_access_policy_lines("app", "ops@contoso.com")
    assert "-AccessRight RestrictAccess" in policy[2]
    assert policy[3] == "Test-ApplicationAccessPolicy -Identity 'ops@contoso.com' -AppId 'app'"


@pytest.mark.parametrize(("authority", "graph"), [
    ("", "https://graph.microsoft.com"),
    ("https://login.microsoftonline.com/contoso.com", "https://graph.microsoft.com"),
    ("https://login.microsoftonline.us/contoso.us", "https://graph.microsoft.us"),
    ("https://login.chinacloudapi.cn/contoso.cn", "https://microsoftgraph.chinacloudapi.cn"),
])
def test_graph_endpoint_follows_the_authority_cloud(authority: str, graph: str) -> None:
    assert graph_guide.graph_endpoint_for("", authority) == graph
    assert graph_guide.graph_scope_for("", authority) == f"{graph}/.default"


def test_explicit_endpoint_wins_but_the_scope_stays_the_clouds() -> None:
    assert graph_guide.graph_endpoint_for("https://127.0.0.1:8443/", "") == "https://127.0.0.1:8443"
    assert graph_guide.graph_scope_for("https://127.0.0.1:8443", "") == "https://graph.microsoft.com/.default"
    dod = graph_guide.cloud_by_key("usgov-dod")
    assert graph_guide.graph_scope_for(dod.graph_endpoint, "https://login.microsoftonline.us/t") == (
        "https://dod-graph.microsoft.us/.default")


def test_token_claims_are_decoded_for_display_only() -> None:
    claims = decode_claims(unsigned_jwt({"roles": ["Mail.Send"], "aud": "https://graph.microsoft.com",
                                         "appid": "app-1", "exp": 1_000_600}))
    permissions = TokenPermissions.from_claims(claims, now=1_000_000)
    assert permissions.app_only and permissions.granted == ("Mail.Send",) and permissions.expires_in_s == 600
    assert decode_claims("opaque-token") == {}
    assert decode_claims("a.!!!.c") == {}


def test_verdict_without_mail_send_before_the_probe_says_it_is_missing() -> None:
    permissions = TokenPermissions(app_only=True, granted=())
    assert "Mail.Send is missing" in permission_verdict(permissions, ("Mail.Send",), probe_passed=False)


def test_switching_an_m365_smtp_profile_to_graph_keeps_the_app_registration() -> None:
    smtp = Profile(name="m365", provider=ProviderKind.M365_SMTP, from_address="ops@contoso.com",
                   host="smtp.office365.com", auth=AuthMode.CLIENT_SECRET, tenant="contoso.com", client_id=APP)
    graph = graph_guide.graph_instead_of_smtp(smtp)
    assert (graph.provider, graph.host, graph.name, graph.client_id, graph.tenant, graph.auth) == (
        ProviderKind.GRAPH, "", "m365", APP, "contoso.com", AuthMode.CLIENT_SECRET)
    graph.validated()
    steps = graph_guide.graph_permission_steps(graph)
    assert "Application permissions > Mail.Send" in steps[0]
    assert f"https://login.microsoftonline.com/contoso.com/v2.0/adminconsent?client_id={APP}" in steps[1]
    delegated = graph_guide.graph_permission_steps(replace(graph, auth=AuthMode.OAUTH_INTERACTIVE))
    assert "Delegated permissions > Mail.Send" in delegated[0]
