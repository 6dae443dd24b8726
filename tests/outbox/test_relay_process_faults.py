"""The relay process when the outbox cannot be opened: a refusal the parent can show, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.smtp_servers import free_port
from wizard.services.relay_process import RelayProcess, RelaySpec, RelayStartError


@pytest.mark.slow
@pytest.mark.asyncio
async def test_an_outbox_that_cannot_be_opened_is_a_start_error_naming_it_not_a_traceback(
        data_home: Path, capfd: pytest.CaptureFixture[str]) -> None:
    damaged = data_home / "outbox.sqlite3"
    damaged.write_bytes(b"this is not a database, but a file someone copied over it\n" * 100)
    relay = RelayProcess(RelaySpec.for_outbox("127.0.0.1", free_port(), damaged))
    with pytest.raises(RelayStartError) as refused:
        await relay.start()
    assert str(damaged) in str(refused.value) and not refused.value.config_error
    assert "Traceback" not in capfd.readouterr().err
