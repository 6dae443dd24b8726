"""The Graph connection check: proves the mailbox without sending, and explains the token's permissions."""

from __future__ import annotations

import pytest

from tests.fixtures.graph_endpoint import GraphEndpoint
from tests.graph.support import APP_ID, MAILBOX, RecordingTokenSource, graph_profile
from wizard.services.check import CheckReport, Step, StepStatus
from wizard.services.graph_check import check_graph
from wizard.services.model import AuthMode

pytestmark = pytest.mark.asyncio


async def run_check(endpoint: GraphEndpoint, ca_file: str, token: str,
                    **changes: object) -> tuple[CheckReport, list[Step]]:
    seen: list[Step] = []
    profile = graph_profile(endpoint, ca_file, **changes)
    report = await check_graph(profile, RecordingTokenSource([token]).credential(), on_step=seen.append)
    return report, seen


async def test_configured_app_passes_every_step_and_nothing_is_sent(graph_endpoint: GraphEndpoint,
                                                                    ca_file: str) -> None:
    token = graph_endpoint.issue_token(roles=("Mail.Send", "Mail.ReadWrite"))
    report, seen = await run_check(graph_endpoint, ca_file, token)

    assert report.ok
    assert [(s.name, s.status) for s in seen if s.status is not StepStatus.RUNNING] == [
        ("token", StepStatus.PASSED), ("mailbox", StepStatus.PASSED), ("permissions", StepStatus.PASSED)]
    assert "roles (application permissions): Mail.Send, Mail.ReadWrite" in report.capabilities
    assert graph_endpoint.received == []
    assert [r.path for r in graph_endpoint.requests] == [f"/v1.0/users/{MAILBOX}/sendMail"]


async def test_missing_mail_readwrite_is_reported_as_a_limit_on_large_mail(graph_endpoint: GraphEndpoint,
                                                                           ca_file: str) -> None:
    report, seen = await run_check(graph_endpoint, ca_file, graph_endpoint.issue_token(roles=("Mail.Send",)))
    permissions = next(s for s in seen if s.name == "permissions" and s.status is StepStatus.PASSED)
    assert "Mail.ReadWrite is missing: messages over 4 MB" in permissions.detail
    assert report.ok


async def test_rbac_grant_outside_the_token_is_explained(graph_endpoint: GraphEndpoint, ca_file: str) -> None:
    graph_endpoint.mailboxes[MAILBOX].rbac_apps.add(APP_ID)
    report, seen = await run_check(graph_endpoint, ca_file, graph_endpoint.issue_token(roles=()))
    assert report.ok
    assert "RBAC for Applications" in seen[-1].detail


async def test_mailbox_excluded_by_policy_fails_at_the_mailbox_step(graph_endpoint: GraphEndpoint,
                                                                    ca_file: str) -> None:
    graph_endpoint.mailboxes[MAILBOX].policy_apps = set()
    report, _ = await run_check(graph_endpoint, ca_file, graph_endpoint.issue_token())
    assert not report.ok
    assert [(s.name, s.status) for s in report.steps] == [
        ("token", StepStatus.PASSED), ("mailbox", StepStatus.FAILED), ("permissions", StepStatus.SKIPPED)]
    assert report.diagnosis.code == "access_denied"
    assert "New-ManagementScope" in report.diagnosis.fix


async def test_unlicensed_mailbox_fails_with_mailbox_not_enabled(graph_endpoint: GraphEndpoint, ca_file: str) -> None:
    graph_endpoint.mailboxes[MAILBOX].licensed = False
    report, _ = await run_check(graph_endpoint, ca_file, graph_endpoint.issue_token())
    assert report.diagnosis.code == "mailbox_not_enabled"
    assert report.to_json()["diagnosis"]["code"] == "mailbox_not_enabled"


async def test_delegated_sign_in_for_a_shared_mailbox_needs_mail_send_shared(graph_endpoint: GraphEndpoint,
                                                                             ca_file: str) -> None:
    graph_endpoint.add_mailbox("admin@example.com")
    token = graph_endpoint.issue_token(scp="Mail.Send Mail.ReadWrite", upn="admin@example.com")
    report, seen = await run_check(graph_endpoint, ca_file, token, auth=AuthMode.OAUTH_INTERACTIVE)
    assert report.ok
    assert "scp (delegated permissions): Mail.Send, Mail.ReadWrite" in report.capabilities
    assert "Mail.Send.Shared is missing" in seen[-1].detail


async def test_save_to_sent_items_off_is_flagged_as_not_honoured(graph_endpoint: GraphEndpoint, ca_file: str) -> None:
    _, seen = await run_check(graph_endpoint, ca_file, graph_endpoint.issue_token(), save_to_sent_items=False)
    assert "cannot be honoured" in seen[-1].detail


async def test_graph_steps_have_titles_a_user_can_read(graph_endpoint: GraphEndpoint, ca_file: str) -> None:
    report, _ = await run_check(graph_endpoint, ca_file, graph_endpoint.issue_token())
    assert [s.title for s in report.steps] == [
        "Get an access token", "Reach the mailbox through Microsoft Graph", "Permissions granted"]
