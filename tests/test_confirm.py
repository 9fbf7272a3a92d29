"""Confirm after publishing (verify-published): what the index serves once the last upload is done.

Runs go through the offline world as the action runs them: Trusted Publishing with attestations against the
Warehouse stand-in (files and provenance), token uploads to a real pypiserver (files only), and a stand-in
whose simple API lags behind its uploads as a CDN does.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from publish_action import confirm
from publish_action.errors import ExitCode, SettingsError
from publish_action.index import Index, _parse_html
from publish_action.outcomes import Published
from publish_action.settings import load_settings
from tests.fixtures.dists import DistCache, make_wheels
from tests.fixtures.peers import PypiServerIndex, start_pypiserver
from tests.helpers import Run, run_action, run_in_world
from tests.sandbox import GitHubPublisher
from tests.sandbox.world import World

pytestmark = pytest.mark.sandbox


@pytest.fixture
def behind_cdn(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in counts as PyPI behind its CDN (on loopback the program would take it for an index
    without one, which lists a stored file at once)."""
    monkeypatch.setattr(Index, "behind_cdn", property(lambda _index: True))


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> confirm.ConfirmPolicy:
    """A confirmation that waits at most 1.5 s for files to show, looking again every 0.1-0.4 s."""
    policy = confirm.ConfirmPolicy(wait=1.5, first_delay=0.1, max_delay=0.4, round_budget=5.0)
    monkeypatch.setattr(confirm, "DEFAULT_POLICY", policy)
    return policy


def _run(
    world: World, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **inputs: str
) -> Run:
    return run_in_world(world, monkeypatch, capsys, workdir, **inputs)


def _published(run: Run) -> dict[str, str | None]:
    return {record["filename"]: record["published"] for record in json.loads(run.outputs["files"])}


def test_trusted_publishing_with_attestations_is_verified_with_its_provenance(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = [path.name for path in dist_cache.copy_to(tmp_path / "dist", "hatch")]

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert run.code == 0, run.out
    assert sorted(json.loads(run.outputs["verified"])) == sorted(names)
    assert _published(run) == dict.fromkeys(names, "verified")
    assert "::group::Confirming what " in run.out
    for name in names:
        line = next(line for line in run.out.splitlines() if line.startswith(f"{name}: verified"))
        assert "provenance of octo-org/sandbox-demo, workflow release.yml" in line
        assert "with the attestation sent" in line
        assert f"| `{name}` |" in run.summary
    assert "| On the index |" in run.summary
    assert run.summary.count("| uploaded | signed | verified |") == 2
    assert "Confirmed on " in run.summary and "after the upload: 2 verified." in run.summary
    assert "[on the index: verified]" in run.out
    # After the uploads: one simple page, then each file's provenance, all asking caches to revalidate; then
    # the simple page once more for the release's provenance grade, read back once every file was confirmed:
    # the documents the confirmation verified are not fetched again.
    last_upload = max(r.started for r in world.warehouse.requests.for_endpoint("upload"))
    after = [r for r in world.warehouse.requests.for_endpoint("simple") if r.started > last_upload]
    provenance = world.warehouse.requests.for_endpoint("provenance")
    assert len(after) == 2 and len(provenance) == 2
    assert max(r.started for r in provenance) < after[1].started
    assert run.outputs["provenance-status"] == "full-provenance"
    for record in [*after, *provenance]:
        assert record.headers.get("Cache-Control") == "no-cache"
    assert "vnd.pypi.integrity.v1+json" in provenance[0].headers.get("Accept", "")
    # The upload token was revoked before the confirmation began.
    burn = world.warehouse.requests.for_endpoint("burn")[0]
    assert burn.started < after[0].started


def test_a_file_served_with_another_sha256_fails_the_step_with_exit_7(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wheel, sdist = sorted(path.name for path in dist_cache.copy_to(tmp_path / "dist", "hatch"))
    wheel, sdist = (wheel, sdist) if wheel.endswith(".whl") else (sdist, wheel)
    world.warehouse.misserve(wheel, sha256="0" * 64)

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert run.code == ExitCode.CONFIRMATION == 7, run.out
    assert run.outputs["exit-code"] == "7"
    assert json.loads(run.outputs["verified"]) == [sdist]
    assert json.loads(run.outputs["uploaded"]) == [wheel, sdist]
    assert _published(run) == {wheel: "differs", sdist: "verified"}
    error = next(line for line in run.out.splitlines() if line.startswith("::error title="))
    assert "serves 1 file(s) other than this run sent" in error
    assert f"{wheel}: the index lists it with sha256 {'0' * 64}, but this run holds sha256" in error
    assert "Fix: " in error
    assert f"differs — the index lists it with sha256 {'0' * 64}" in run.summary
    assert "### :x: " in run.summary


def test_a_file_listed_without_its_provenance_differs(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = [path.name for path in dist_cache.copy_to(tmp_path / "dist", "hatch")]
    world.warehouse.misserve(names[0], drop_provenance=True)

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert run.code == ExitCode.CONFIRMATION, run.out
    assert _published(run)[names[0]] == "differs"
    assert "lists it without provenance, although this run uploaded it with an attestation" in run.summary
    assert json.loads(run.outputs["verified"]) == names[1:]


def test_provenance_naming_another_publisher_differs(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = [path.name for path in dist_cache.copy_to(tmp_path / "dist", "hatch")]
    for name in names:
        world.warehouse.misserve(name, provenance_publisher=GitHubPublisher("octo-org/impostor", "evil.yml"))

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert run.code == ExitCode.CONFIRMATION, run.out
    assert set(_published(run).values()) == {"differs"}
    assert json.loads(run.outputs["verified"]) == []
    assert (
        "its provenance names octo-org/impostor, workflow evil.yml, not this publisher "
        "(octo-org/sandbox-demo, workflow release.yml, environment pypi)"
    ) in run.summary


def test_provenance_of_the_same_workflow_in_another_environment_differs(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = [path.name for path in dist_cache.copy_to(tmp_path / "dist", "hatch")]
    other = GitHubPublisher("octo-org/sandbox-demo", "release.yml", "staging")
    world.warehouse.misserve(names[0], provenance_publisher=other)

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert run.code == ExitCode.CONFIRMATION, run.out
    assert _published(run) == {names[0]: "differs", names[1]: "verified"}
    assert "environment staging, not this publisher" in run.summary


def test_a_simple_api_that_lags_for_a_few_seconds_is_waited_for(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(confirm, "DEFAULT_POLICY", confirm.ConfirmPolicy(wait=15.0, first_delay=0.25, max_delay=1.0))
    names = [path.name for path in dist_cache.copy_to(tmp_path / "dist", "hatch")]
    world.warehouse.listing_lag = 2.0

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert run.code == 0, run.out
    assert sorted(json.loads(run.outputs["verified"])) == sorted(names)
    assert "not visible on " in run.out and "looking again in " in run.out
    # The last upload was stored after its request began, and listed 2 s after the store: the look that
    # verified it began at least 2 s after that request did (its end may come later under load).
    last_upload = max(r.started for r in world.warehouse.requests.for_endpoint("upload"))
    confirmed_at = max(r.started for r in world.warehouse.requests.for_endpoint("simple"))
    assert confirmed_at - last_upload >= 2.0
    assert "::warning" not in run.out


def test_a_lag_longer_than_the_wait_is_a_warning_and_exit_0(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    short_wait: confirm.ConfirmPolicy,
    behind_cdn: None,
) -> None:
    names = [path.name for path in dist_cache.copy_to(tmp_path / "dist", "hatch")]
    world.warehouse.listing_lag = 60.0

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert run.code == 0, run.out
    assert run.outputs["exit-code"] == "0"
    assert json.loads(run.outputs["verified"]) == []
    assert sorted(json.loads(run.outputs["uploaded"])) == sorted(names)
    assert _published(run) == dict.fromkeys(names, "not yet visible")
    warnings = [line for line in run.out.splitlines() if line.startswith("::warning") and "not yet visible" in line]
    assert len(warnings) == 1
    assert "2 file(s) not yet visible on " in warnings[0]
    assert "its CDN has not served them yet" in warnings[0] and "last looked at " in warnings[0]
    assert "not listed in the simple API after " in run.summary
    assert "> [!WARNING]" in run.summary
    assert "::error" not in run.out
    # The wait was bounded: a few look-ups within the policy's time, then it stopped.
    simple_after = [
        r
        for r in world.warehouse.requests.for_endpoint("simple")
        if r.started > max(u.started for u in world.warehouse.requests.for_endpoint("upload"))
    ]
    assert 2 <= len(simple_after) <= 10
    assert simple_after[-1].started - simple_after[0].started <= short_wait.wait + 0.5


def test_on_an_index_without_a_cdn_a_file_still_unlisted_after_the_wait_is_missing_exit_7(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    short_wait: confirm.ConfirmPolicy,
) -> None:
    names = [path.name for path in dist_cache.copy_to(tmp_path / "dist", "hatch")]
    world.warehouse.listing_lag = 60.0

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert run.code == ExitCode.CONFIRMATION, run.out
    assert _published(run) == dict.fromkeys(names, "differs")
    assert f"does not serve {len(names)} file(s) it accepted" in run.out
    assert "missing: accepted, but not listed in the simple API after " in run.summary
    # Uploaded is still what happened; what the index serves is what is wrong.
    assert sorted(json.loads(run.outputs["uploaded"])) == sorted(names)


def test_an_index_that_answers_success_and_stores_nothing_fails_the_run(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    short_wait: confirm.ConfirmPolicy,
) -> None:
    from tests.sandbox import Fault

    names = [path.name for path in dist_cache.copy_to(tmp_path / "dist", "hatch")]
    # Every upload is answered 200 before the stand-in stores anything: something in front of the index
    # answering for it.
    world.warehouse.faults.add("upload", Fault(kind="status", status=200, body="OK"))

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert world.warehouse.files == []
    assert run.code == ExitCode.CONFIRMATION, run.out
    assert set(_published(run).values()) == {"differs"}
    assert f"does not serve {len(names)} file(s) it accepted" in run.out


def test_an_unreadable_simple_api_after_the_upload_is_not_yet_visible(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    short_wait: confirm.ConfirmPolicy,
    fast_retries: None,
) -> None:
    from tests.sandbox import Fault

    names = [path.name for path in dist_cache.copy_to(tmp_path / "dist", "hatch")]
    verify = world.warehouse.attestation_verifier
    assert verify is not None
    accepted: list[str] = []

    def verify_then_break(filename: str, content: bytes, attestations: str, publisher: GitHubPublisher) -> None:
        # The look-up before the upload passes; once the last file is accepted, the simple API fails for good.
        verify(filename, content, attestations, publisher)
        accepted.append(filename)
        if len(accepted) == len(names):
            world.warehouse.faults.add("simple", Fault(kind="status", status=503))

    world.warehouse.attestation_verifier = verify_then_break

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert run.code == 0, run.out
    assert _published(run) == dict.fromkeys(names, "not yet visible")
    assert "the simple API could not be read" in run.summary


def test_files_already_on_the_index_are_confirmed_by_sha256(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_wheels(tmp_path / "dist", 1)
    assert _run(world, tmp_path, monkeypatch, capsys).code == 0
    first = world.warehouse.files[0].filename
    # A second file joins the folder; the first is skipped and keeps the provenance of its first upload.
    second = make_wheels(tmp_path / "next", 2)[1]
    second.replace(tmp_path / "dist" / second.name)
    world.warehouse.misserve(first, drop_provenance=True)
    before = len(world.warehouse.requests.for_endpoint("provenance"))

    run = _run(world, tmp_path, monkeypatch, capsys, skip_existing="true")

    assert run.code == 0, run.out
    assert json.loads(run.outputs["skipped"]) == [first]
    published = _published(run)
    assert published[first] == "verified"
    assert set(published.values()) == {"verified"}
    # Only the new file's provenance was read, once: by the confirmation, and the grade reuses it (the first
    # file is served without provenance now, so nothing names a document for it).
    read = [record.path for record in world.warehouse.requests.for_endpoint("provenance")[before:]]
    assert len(read) == 1 and second.name in read[0]
    # Two releases (the wheels are of two versions): one grade each, by release.
    assert json.loads(run.outputs["provenance-status"]) == {
        "sandbox-demo==1.0.0": "no-provenance",
        "sandbox-demo==1.0.1": "full-provenance",
    }


def test_a_run_with_nothing_to_upload_still_confirms(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_wheels(tmp_path / "dist", 2)
    assert _run(world, tmp_path, monkeypatch, capsys).code == 0
    mints = world.warehouse.requests.count("mint")

    run = _run(world, tmp_path, monkeypatch, capsys, skip_existing="true")

    assert run.code == 0, run.out
    assert world.warehouse.requests.count("mint") == mints  # nothing to upload: no token was minted
    assert set(_published(run).values()) == {"verified"}
    assert len(json.loads(run.outputs["verified"])) == 2
    assert "Confirming what" in run.out


def test_dry_run_and_verify_published_false_confirm_nothing(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    dry = _run(world, tmp_path, monkeypatch, capsys, dry_run="true")
    assert dry.code == 0, dry.out
    assert "Confirming what" not in dry.out
    assert set(_published(dry).values()) == {None}
    assert json.loads(dry.outputs["verified"]) == []
    assert "On the index" not in dry.summary

    off = _run(world, tmp_path, monkeypatch, capsys, dry_run="false", verify_published="false")
    assert off.code == 0, off.out
    assert len(world.warehouse.files) == 2
    assert "Confirming what" not in off.out
    assert world.warehouse.requests.count("provenance") == 0
    assert set(_published(off).values()) == {None}


@pytest.mark.peers
def test_pypiserver_files_are_verified_by_sha256(
    pypiserver: PypiServerIndex,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = [path.name for path in dist_cache.copy_to(tmp_path / "dist", "hatch")]
    inputs = {
        "repository-url": pypiserver.upload_url,
        "user": pypiserver.username,
        "password": pypiserver.password,
        "attestations": "false",
    }

    run = run_action(monkeypatch, capsys, tmp_path, inputs)

    assert run.code == 0, run.out
    assert sorted(json.loads(run.outputs["verified"])) == sorted(names)
    for name in names:
        line = next(line for line in run.out.splitlines() if line.startswith(f"{name}: verified"))
        assert "sha256 " in line and "provenance" not in line
    assert pypiserver.password not in run.out.replace(f"::add-mask::{pypiserver.password}", "")
    assert pypiserver.password not in run.summary
    assert all(pypiserver.password not in value for value in run.outputs.values())


@pytest.mark.peers
def test_pypiserver_with_verify_published_true_and_its_derived_simple_api(
    pypiserver: PypiServerIndex,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_wheels(tmp_path / "dist", 2, name="confirm-demo")
    inputs = {
        "repository-url": pypiserver.upload_url,
        "user": pypiserver.username,
        "password": pypiserver.password,
        "verify-published": "true",
    }
    run = run_action(monkeypatch, capsys, tmp_path, inputs)
    assert run.code == 0, run.out
    assert len(json.loads(run.outputs["verified"])) == 2


@pytest.mark.peers
@pytest.mark.parametrize(
    ("hash_algo", "published"),
    [("md5", "verified"), ("off", "listed without a digest")],
)
def test_pypiserver_listing_md5_or_no_digest(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    hash_algo: str,
    published: str,
) -> None:
    server = start_pypiserver(tmp_path / "pypiserver", extra_args=["--hash-algo", hash_algo])
    try:
        (wheel,) = make_wheels(tmp_path / "dist", 1, name="digest-demo")
        inputs = {
            "repository-url": server.upload_url,
            "user": server.username,
            "password": server.password,
            "attestations": "false",
        }
        run = run_action(monkeypatch, capsys, tmp_path, inputs)
    finally:
        server.close()

    assert run.code == 0, run.out
    assert _published(run) == {wheel.name: published}
    if hash_algo == "md5":
        assert f"{wheel.name}: verified (md5 " in run.out
        assert json.loads(run.outputs["verified"]) == [wheel.name]
    else:
        warning = next(line for line in run.out.splitlines() if line.startswith("::warning") and "digest" in line)
        assert "listed on " in warning and "without a digest" in warning and "--hash-algo sha256" in warning
        assert json.loads(run.outputs["verified"]) == []


# -- the input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", "auto"),
        ("auto", "auto"),
        ("AUTO", "auto"),
        ("true", "true"),
        ("Yes", "true"),
        ("1", "true"),
        ("false", "false"),
        ("NO", "false"),
        ("0", "false"),
    ],
)
def test_verify_published_takes_auto_and_the_boolean_words(given: str, expected: str) -> None:
    environ = {"INPUT_VERIFY-PUBLISHED": given} if given else {}
    settings, notices = load_settings([], environ)
    assert settings.verify_published == expected
    assert notices == []


def test_verify_published_refuses_other_words_naming_the_input() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings([], {"INPUT_VERIFY-PUBLISHED": "sometimes"})
    assert caught.value.exit_code == ExitCode.SETTINGS
    assert caught.value.problems == [
        "verify-published: expected auto, true or false (or yes, no, 1, 0; any case) (got 'sometimes')"
    ]


def test_verify_published_true_without_a_simple_api_is_refused_before_anything_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # An upload URL whose layout gives no simple API (neither PyPI's, pypiserver's nor devpi's).
    url = "http://127.0.0.1:9/api/pypi/upload/"
    with pytest.raises(SettingsError) as caught:
        load_settings([], {"INPUT_REPOSITORY-URL": url, "INPUT_VERIFY-PUBLISHED": "true"})
    error = caught.value
    assert error.title == "verify-published: true needs check-url"
    assert "cannot be derived from its upload URL" in error.cause
    assert error.fix is not None and "set `check-url`" in error.fix and "verify-published: auto" in error.fix
    # With check-url the same input is fine; with auto it is simply off.
    given, _ = load_settings(
        [], {"INPUT_REPOSITORY-URL": url, "INPUT_VERIFY-PUBLISHED": "true", "INPUT_CHECK-URL": url}
    )
    assert given.verify_published == "true"
    settings, _ = load_settings([], {"INPUT_REPOSITORY-URL": url})
    assert not confirm.enabled(settings.verify_published, Index.from_urls(settings.repository_url))

    make_wheels(tmp_path / "dist", 1)
    run = run_action(
        monkeypatch,
        capsys,
        tmp_path,
        {"repository-url": url, "verify-published": "true", "password": "not-a-real-token", "attestations": "false"},
    )
    assert run.code == ExitCode.SETTINGS, run.out
    errors = [line for line in run.out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "verify-published%3A true needs check-url" in errors[0]
    assert "Checking distributions" not in run.out


@pytest.mark.parametrize(
    ("repository_url", "check_url", "on"),
    [
        ("https://upload.pypi.org/legacy/", None, True),
        ("https://test.pypi.org/legacy/", None, True),
        ("http://127.0.0.1:8080/", None, True),  # pypiserver: /simple/
        ("http://127.0.0.1:3141/alice/dev/", None, True),  # devpi: /alice/dev/+simple/
        ("https://repo.example/api/pypi/upload/", None, False),
        ("https://repo.example/api/pypi/upload/", "https://repo.example/api/pypi/simple/", True),
    ],
)
def test_auto_is_on_wherever_a_simple_api_is_known(repository_url: str, check_url: str | None, on: bool) -> None:
    index = Index.from_urls(repository_url, check_url)
    assert confirm.enabled("auto", index) is on
    assert confirm.enabled("false", index) is False


def test_html_pages_carry_provenance_as_data_provenance() -> None:
    page = (
        '<a href="/packages/demo-1.0-py3-none-any.whl#sha256=ab" '
        'data-provenance="/integrity/demo/1.0/demo-1.0-py3-none-any.whl/provenance">w</a>'
        '<a href="/packages/demo-1.0.tar.gz#sha256=cd">s</a>'
    )
    files = _parse_html(page, "https://index.example/simple/demo/").files
    wheel, sdist = files["demo-1.0-py3-none-any.whl"], files["demo-1.0.tar.gz"]
    assert wheel.provenance == "https://index.example/integrity/demo/1.0/demo-1.0-py3-none-any.whl/provenance"
    assert wheel.offers_provenance and wheel.sha256 == "ab"
    assert sdist.provenance is None and not sdist.offers_provenance


def test_the_wait_backs_off_and_ends_within_the_policy() -> None:
    # An index that never lists the file; time passes only in the recorded sleeps.
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    transport = httpx.MockTransport(lambda request: httpx.Response(404, request=request))
    with httpx.Client(transport=transport) as client:
        found = confirm.confirm(
            client,
            Index.from_urls("http://index.example/legacy/"),
            [confirm.Expected("demo-1.0.tar.gz", "demo", {"sha256": "ab"})],
            publisher=None,
            policy=confirm.ConfirmPolicy(),
            sleep=sleep,
            clock=lambda: now[0],
        )
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0, 10.0]
    assert sum(sleeps) <= confirm.ConfirmPolicy().wait
    verdict = found["demo-1.0.tar.gz"]
    assert verdict.state is Published.NOT_YET_VISIBLE
    assert verdict.detail.startswith("not listed in the simple API after 55s of waiting (last looked at ")
    assert verdict.unlisted
