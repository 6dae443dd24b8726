"""Names, not paths; credentials only over TLS (issue 12), through the CLI a user types and the loader.

Property-based tests (hypothesis) fuzz the two validators: whatever a name or URL is, the answer is the rule's.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fixtures.cli import mailwright
from wizard.services.config import ConfigStore, profile_file
from wizard.services.config_error import ConfigError
from wizard.services.model import Profile, ProviderKind, validate_profile_name
from wizard.services.validation import InvalidInputError, validate_https_url

NAME_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
BAD_NAMES = ["/some/dir/important", "a/b", "../x", "x" * 1000, "..", ".hidden", "a b", "a\\b", "ä", "",
             "a\nb", "C:evil", "x" * 65]


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda n: repr(n[:20]))
def test_profile_add_refuses_a_name_that_is_not_a_word_with_exit_2(name: str, data_home: Path) -> None:
    result = mailwright("profile", "add", name, "--provider", "smtp", "--host", "smtp.example.com",
                        "--from", "app@example.com")
    assert result.returncode == 2, result.stderr
    assert "not a valid profile name" in result.stderr and "Traceback" not in result.stderr
    assert not (data_home / "config.toml").exists()


def test_profile_remove_never_deletes_files_outside_the_data_home(data_home: Path, tmp_path: Path) -> None:
    outside = tmp_path / "some" / "dir"
    outside.mkdir(parents=True)
    for suffix in (".json", ".bin"):
        (outside / f"important{suffix}").write_text("precious", encoding="utf-8")
    for name in (str(outside / "important"), f"../../{outside.name}/important", "../x"):
        result = mailwright("profile", "remove", name)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
    assert sorted(p.name for p in outside.iterdir()) == ["important.bin", "important.json"]


def test_a_hand_written_path_as_profile_name_is_refused_at_load(data_home: Path) -> None:
    (data_home / "config.toml").write_text('[profiles."../../x"]\nhost = "smtp.example.com"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="not a valid profile name") as error:
        ConfigStore().load()
    assert error.value.line == 1


def test_names_with_dots_survive_a_round_trip(data_home: Path) -> None:
    store = ConfigStore()
    store.save_profile(Profile(name="eu.billing-2", from_address="a@example.com", host="smtp.example.com"))
    assert list(store.load().profiles) == ["eu.billing-2"]
    store.remove_profile("eu.billing-2")
    assert store.load().profiles == {}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(string.printable + "äé/\\\x00."), max_size=80))
def test_the_name_rule_accepts_exactly_the_documented_pattern(name: str) -> None:
    if NAME_RULE.fullmatch(name):
        assert validate_profile_name(name) == name
    else:
        with pytest.raises(InvalidInputError):
            validate_profile_name(name)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(NAME_RULE, fullmatch=True), st.sampled_from(["tokens", "google-clients"]),
       st.sampled_from([".bin", ".json"]))
def test_every_file_derived_from_a_valid_name_stays_inside_the_data_home(
        tmp_path_factory: pytest.TempPathFactory, name: str, folder: str, suffix: str) -> None:
    home = tmp_path_factory.getbasetemp() / "home"
    path = profile_file(folder, name, suffix, home)
    assert path.parent == (home / folder).resolve()
    assert path.name == f"{name}{suffix}"


# Credentials only over TLS

@pytest.mark.parametrize("option", [["--graph-endpoint", "http://127.0.0.1:8443/v1.0"],
                                    ["--authority", "http://login.example.com/tenant"],
                                    ["--graph-endpoint", "ftp://graph.example.com"],
                                    ["--authority", "https:///no-host"]])
def test_profile_add_refuses_a_token_url_that_is_not_https(option: list[str], data_home: Path) -> None:
    result = mailwright("profile", "add", "g", "--provider", "graph", "--from", "app@example.com",
                        "--tenant", "contoso.onmicrosoft.com", "--client-id", "00000000-0000-0000-0000-000000000001",
                        *option)
    assert result.returncode == 2, result.stderr
    assert "https://" in result.stderr and "Traceback" not in result.stderr
    assert not (data_home / "config.toml").exists()


@pytest.mark.parametrize("key", ["authority", "graph_endpoint"])
def test_a_plain_http_token_url_in_the_file_is_refused_at_load(key: str, data_home: Path) -> None:
    (data_home / "config.toml").write_text(f'[profiles.g]\nprovider = "graph"\nfrom_address = "app@example.com"\n'
                                           f'{key} = "http://graph.example.com/v1.0"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        ConfigStore().load()
    assert error.value.key == f"profiles.g.{key}" and error.value.line == 4
    assert "https://" in str(error.value)


def test_https_token_urls_are_kept(data_home: Path) -> None:
    store = ConfigStore()
    store.save_profile(Profile(name="g", provider=ProviderKind.GRAPH, from_address="app@example.com",
                               graph_endpoint="https://127.0.0.1:8443/v1.0",
                               authority="https://127.0.0.1:8444/tenant").validated())
    assert store.load().profile("g").graph_endpoint == "https://127.0.0.1:8443/v1.0"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["https", "http", "HTTPS", "ftp", "", "javascript"]),
       st.text(alphabet=string.ascii_letters + string.digits + ".-:@[]", max_size=30),
       st.text(alphabet=string.printable, max_size=30))
def test_the_url_rule_accepts_only_https_with_a_host(scheme: str, host: str, rest: str) -> None:
    url = f"{scheme}://{host}/{rest}" if scheme else f"{host}/{rest}"
    try:
        accepted = validate_https_url("url", url)
    except InvalidInputError as exc:
        assert "https://" in str(exc)
        return
    assert accepted == url.strip()
    assert accepted.lower().startswith("https://")
    assert not any(c.isspace() or ord(c) < 32 for c in accepted)
