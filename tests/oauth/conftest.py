"""OAuth fixtures: the local identity provider, a substitute system browser, profiles pointing at them."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.identity_provider import (
    PUBLIC_CLIENT,
    TENANT,
    USER,
    IdentityProvider,
    identity_provider,
)
from tests.fixtures.xoauth2_smtp import xoauth2_smtp_server
from tests.gui.conftest import collect_qt_garbage
from wizard.services.model import AuthMode, Profile, ProviderKind

# collect_qt_garbage (autouse): the pages' Python wrappers are collected here, on the GUI thread, not later
# in some worker thread of another test ("Timers cannot be stopped from another thread").
__all__ = ["collect_qt_garbage", "identity_provider", "xoauth2_smtp_server"]

# Follows the authorize URL without a human: the provider's 302 goes to the app's loopback listener.
_BROWSER = """#!{python}
import html, os, re, ssl, sys, urllib.parse, urllib.request

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

context = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))
data = None
try:
    page = opener.open(sys.argv[1]).read().decode()
    target = html.unescape(re.search(r'action="([^"]+)"', page).group(1))
    fields = {{html.unescape(k): html.unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page)}}
    data = urllib.parse.urlencode(fields).encode()
except urllib.error.HTTPError as answer:
    target = answer.headers["Location"]
urllib.request.urlopen(target.replace("http://localhost", "http://127.0.0.1"), data=data, timeout=10).read()
"""


@pytest.fixture
def system_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """$BROWSER -> a script that 'signs in' by following the redirect (webbrowser honours $BROWSER)."""
    import webbrowser

    script = tmp_path / "browser"
    script.write_text(_BROWSER.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("BROWSER", str(script))
    # webbrowser reads $BROWSER once per process; make it read ours.
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    yield script
    assert os.environ["BROWSER"] == str(script)


def m365_profile(idp: IdentityProvider, name: str, auth: AuthMode = AuthMode.OAUTH_INTERACTIVE,
                 **values: object) -> Profile:
    settings: dict[str, object] = {"provider": ProviderKind.M365_SMTP, "from_address": USER, "host": "127.0.0.1",
                                   "tenant": TENANT, "client_id": PUBLIC_CLIENT, "authority": idp.url, **values}
    return Profile(name=name, auth=auth, **settings)  # type: ignore[arg-type]
