"""The domain types: what each auth mode means is answered by the enum, not by each caller."""

from __future__ import annotations

import pytest

from wizard.services.model import AuthMode


@pytest.mark.parametrize(("mode", "app_only"), [
    (AuthMode.PASSWORD, False), (AuthMode.OAUTH_INTERACTIVE, False), (AuthMode.OAUTH_DEVICE, False),
    (AuthMode.CLIENT_SECRET, True), (AuthMode.CLIENT_CERTIFICATE, True)])
def test_only_client_credentials_are_app_only(mode: AuthMode, app_only: bool) -> None:
    assert mode.is_app_only is app_only
