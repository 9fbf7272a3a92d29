"""Secrets never print themselves, and text from outside cannot forge workflow commands."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import SecretStr

from publish_action.errors import ExitCode, SettingsError
from publish_action.index import Index
from publish_action.redact import first_line, hide_secrets, outside_text, redact_url
from publish_action.report import Reporter
from publish_action.settings import load_settings
from tests.fixtures.dists import make_wheels
from tests.helpers import run_action

_TOKEN = "pypi-" + "AgEIcHlwaS5vcmcCanary" * 3
_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9jdG8vZGVtbyJ9.c2lnbmF0dXJl"


def test_redact_url_drops_credentials_even_from_a_malformed_url() -> None:
    assert redact_url(f"https://__token__:{_TOKEN}@upload.example/legacy/?x=1") == "https://upload.example/legacy/"
    assert _TOKEN not in redact_url(f"https://__token__:{_TOKEN}@host:bad/")


def test_hide_secrets_in_free_text() -> None:
    text = f"failed for https://alice:hunter2@idx.example/ with {_TOKEN} and {_JWT}"
    hidden = hide_secrets(text)
    assert "hunter2" not in hidden and _TOKEN not in hidden and _JWT not in hidden
    assert "https://***@idx.example/" in hidden


def test_outside_text_is_one_bounded_line_with_secrets_hidden_before_the_cut() -> None:
    text = "x" * 390 + _TOKEN
    shown = outside_text(text, limit=400)
    assert len(shown) <= 400
    assert "pypi-AgEIcHlw" not in shown  # no piece of the token survives the cut
    assert outside_text("one\n::error::forged\r\nthree") == "one ::error::forged three"
    assert first_line("first\nsecond") == "first"


@pytest.mark.parametrize(
    "url", [f"https://__token__:{_TOKEN}@upload.example:bad/", f"upload.example/{_TOKEN}", f"ftp://u:{_TOKEN}@h/"]
)
def test_settings_errors_never_echo_url_credentials(url: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings([], environ={"INPUT_REPOSITORY-URL": url})
    assert _TOKEN not in str(raised.value)
    assert "repository-url" in str(raised.value)


def test_an_index_with_credentials_in_its_url_does_not_show_them_in_its_repr() -> None:
    index = Index.from_urls(f"https://alice:{_TOKEN}@upload.example/legacy/")
    assert _TOKEN not in repr(index)
    assert "upload.example" in repr(index)


def test_secret_holders_do_not_print_their_secrets() -> None:
    from publish_action.attestations import SigningSession
    from publish_action.credentials import TrustedPublishing

    session = SigningSession(
        trust=None,  # type: ignore[arg-type]
        context=None,  # type: ignore[arg-type]
        mask=print,
        detect=None,
        policy=None,  # type: ignore[arg-type]
    )
    session._secrets.append(_JWT)
    assert _JWT not in repr(session)
    trusted = TrustedPublishing(client=None, index=Index.from_urls("https://upload.example/legacy/"), mask=print)  # type: ignore[arg-type]
    trusted._minted.append(SecretStr(_TOKEN))
    assert _TOKEN not in repr(trusted)


def test_reporter_lines_cannot_be_read_as_workflow_commands() -> None:
    stream = io.StringIO()
    reporter = Reporter(environ={"GITHUB_ACTIONS": "true"}, stream=stream)
    reporter.line("index said: bad\n::add-mask::nothing\n::set-output name=x::y")
    reporter.line("::error::forged at the start")
    reporter.annotate("warning", "", "a notice\n::error::forged")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert not any(line.startswith(("::add-mask::", "::error::", "::set-output")) for line in lines)
    # A warning without a title has no empty title property.
    assert lines[2].startswith("::warning::")


class _HostileIndex(BaseHTTPRequestHandler):
    """An index whose every answer tries to speak to the runner."""

    def do_GET(self) -> None:
        self._answer(404, {"message": "nothing\n::add-mask::forged"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        self._answer(400, {"message": "refused\n::error title=x::forged error\n::set-output name=uploaded::[]"})

    def _answer(self, status: int, body: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status, "::error::in the reason phrase")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def hostile_index() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostileIndex)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/legacy/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_hostile_index_cannot_forge_workflow_commands(
    hostile_index: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = tmp_path / "dist"
    make_wheels(dist, 1, name="hostile-demo")
    inputs = {"repository-url": hostile_index, "password": _TOKEN, "attestations": "false", "packages-dir": str(dist)}

    run = run_action(monkeypatch, capsys, tmp_path, inputs)

    assert run.code == ExitCode.UPLOAD, run.out
    assert "refused" in run.out
    commands = [line for line in run.out.splitlines() if line.startswith("::")]
    assert [line for line in commands if line.startswith("::add-mask::")] == [f"::add-mask::{_TOKEN}"]
    assert not [line for line in commands if "forged" in line.split("::")[1]]
    assert not [line for line in commands if line.startswith("::set-output")]
    # The forged text is shown, escaped, inside our own annotation, never as a command of its own.
    assert any(line.startswith("::error title=") and "forged error" in line for line in commands)
