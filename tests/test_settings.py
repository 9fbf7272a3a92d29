"""Inputs: names and defaults as users know them, strict booleans, deprecated spellings, CLI flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from publish_action.errors import ExitCode, SettingsError
from publish_action.settings import INPUTS, load_settings


def test_defaults_match_the_reference_inputs() -> None:
    settings, notices = load_settings([], {})
    assert settings.user == "__token__"
    assert settings.password.get_secret_value() == ""
    assert settings.repository_url == "https://upload.pypi.org/legacy/"
    assert settings.packages_dir == Path("dist")
    assert (settings.verify_metadata, settings.skip_existing, settings.verbose) == (True, False, True)
    assert (settings.print_hash, settings.attestations, settings.dry_run) == (True, True, False)
    assert settings.check_url is None
    assert settings.max_parallel == 8
    assert settings.trusted_publishing
    assert notices == []


def test_github_passes_kebab_case_names_with_hyphens_kept() -> None:
    settings, notices = load_settings(
        [],
        {
            "INPUT_REPOSITORY-URL": "https://test.pypi.org/legacy/",
            "INPUT_PACKAGES-DIR": "out/",
            "INPUT_SKIP-EXISTING": "TRUE",
            "INPUT_MAX-PARALLEL": "8",
            "INPUT_DRY-RUN": "Yes",
            "INPUT_VERIFY-METADATA": "0",
        },
    )
    assert settings.repository_url == "https://test.pypi.org/legacy/"
    assert settings.packages_dir == Path("out")
    assert settings.skip_existing and settings.dry_run and not settings.verify_metadata
    assert settings.max_parallel == 8
    assert notices == []


@pytest.mark.parametrize("spec", [spec for spec in INPUTS if spec.deprecated_alias], ids=lambda s: s.name)
def test_snake_case_aliases_work_with_one_deprecation_notice(spec) -> None:
    # A value other than the default for each, so the alias visibly took effect.
    default, _ = load_settings([], {})
    value = {"repository_url": "https://example.test/legacy/", "packages_dir": "out"}.get(
        spec.deprecated_alias, "false" if getattr(default, spec.field) is True else "true"
    )
    github = {"GITHUB_ACTIONS": "true"}
    settings, notices = load_settings([], {**github, f"INPUT_{spec.deprecated_alias.upper()}": value})
    assert notices == [f"The input '{spec.deprecated_alias}' is deprecated; use '{spec.name}' instead."]
    assert getattr(settings, spec.field) != getattr(default, spec.field)


def test_outside_github_every_input_takes_underscores_without_a_notice() -> None:
    # GitLab CI variables cannot hold a hyphen: there INPUT_DRY_RUN is the input's own spelling.
    environ = {
        "GITLAB_CI": "true",
        "INPUT_REPOSITORY_URL": "https://test.pypi.org/legacy/",
        "INPUT_DRY_RUN": "true",
        "INPUT_MAX_PARALLEL": "3",
        "INPUT_VERIFY_PUBLISHED": "false",
        "INPUT_OUTPUTS_FILE": "out.env",
        "INPUT_SUMMARY_FILE": "summary.md",
        "INPUT_DRY_RUM": "true",
    }
    settings, notices = load_settings([], environ)
    assert settings.repository_url == "https://test.pypi.org/legacy/"
    assert settings.dry_run and settings.max_parallel == 3 and settings.verify_published == "false"
    assert (settings.outputs_file, settings.summary_file) == (Path("out.env"), Path("summary.md"))
    # A typo is still named, with the spelling meant.
    assert notices == ["Ignoring INPUT_DRY_RUM: publish-action has no such input (did you mean INPUT_DRY_RUN?)."]
    # On GitHub the same spellings of the new inputs are no input at all (the action sets hyphenated ones).
    _, on_github = load_settings([], {"GITHUB_ACTIONS": "true", "INPUT_DRY_RUN": "true"})
    assert on_github == ["Ignoring INPUT_DRY_RUN: publish-action has no such input (did you mean INPUT_DRY-RUN?)."]


def test_kebab_name_wins_over_the_alias() -> None:
    settings, _ = load_settings([], {"INPUT_SKIP-EXISTING": "false", "INPUT_SKIP_EXISTING": "true"})
    assert settings.skip_existing is False


def test_empty_values_mean_not_given() -> None:
    settings, _ = load_settings([], {"INPUT_REPOSITORY-URL": "", "INPUT_PASSWORD": "", "INPUT_VERBOSE": ""})
    assert settings.repository_url == "https://upload.pypi.org/legacy/"
    assert settings.verbose is True
    assert settings.trusted_publishing


def test_cli_flags_override_the_environment() -> None:
    settings, _ = load_settings(
        ["--repository-url", "http://127.0.0.1:1/", "--skip-existing", "no"],
        {"INPUT_REPOSITORY-URL": "https://test.pypi.org/legacy/", "INPUT_SKIP-EXISTING": "yes"},
    )
    assert settings.repository_url == "http://127.0.0.1:1/"
    assert settings.skip_existing is False


@pytest.mark.parametrize("word", ["true", "True", "YES", "1", "false", "No", "0"])
def test_boolean_words(word: str) -> None:
    settings, _ = load_settings([], {"INPUT_PRINT-HASH": word})
    assert settings.print_hash is (word.lower() in {"true", "yes", "1"})


@pytest.mark.parametrize("word", ["on", "y", "enabled", "2", "tru"])
def test_other_boolean_words_are_errors_naming_input_and_value(word: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings([], {"INPUT_SKIP-EXISTING": word})
    assert caught.value.exit_code == ExitCode.SETTINGS
    assert caught.value.problems == [
        f"skip-existing: expected one of true, false, yes, no, 1, 0 (any case), got {word!r}"
    ]


def test_every_bad_input_is_reported_at_once_and_the_password_is_never_echoed() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(
            ["--max-parallel", "0"],
            {
                "INPUT_REPOSITORY-URL": "upload.pypi.org/legacy",
                "INPUT_ATTESTATIONS": "maybe",
                "INPUT_PASSWORD": "s3cr3t-canary",
            },
        )
    text = str(caught.value)
    assert "repository-url: expected an http(s) URL" in text
    assert "attestations: expected one of true" in text
    assert "max-parallel:" in text
    assert "s3cr3t-canary" not in text


def test_password_is_secret_in_reprs() -> None:
    settings, _ = load_settings([], {"INPUT_PASSWORD": "pypi-canary-value"})
    assert "pypi-canary-value" not in repr(settings)
    assert not settings.trusted_publishing


def test_unknown_inputs_are_named_with_the_nearest_real_one() -> None:
    _, notices = load_settings([], {"INPUT_SKIP-EXISITNG": "true"})
    assert notices == [
        "Ignoring INPUT_SKIP-EXISITNG: publish-action has no such input (did you mean INPUT_SKIP-EXISTING?)."
    ]


def test_debug_comes_from_runner_debug() -> None:
    assert load_settings([], {"RUNNER_DEBUG": "1"})[0].debug
    assert not load_settings([], {})[0].debug


def test_sigstore_trust_config_is_env_only() -> None:
    settings, _ = load_settings([], {"PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG": "/tmp/trust.json"})
    assert settings.sigstore_trust_config == Path("/tmp/trust.json")
    assert not any(spec.field == "sigstore_trust_config" for spec in INPUTS)


def test_load_settings_reads_only_the_environment_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    # The process environment says otherwise; the mapping handed in is all that counts.
    monkeypatch.setenv("INPUT_DRY-RUN", "true")
    monkeypatch.setenv("INPUT_REPOSITORY-URL", "https://elsewhere.example/legacy/")
    monkeypatch.setenv("PUBLISH_ACTION_DEBUG", "1")
    settings, _ = load_settings([], environ={"INPUT_SKIP-EXISTING": "true"})
    assert settings.dry_run is False
    assert settings.repository_url == "https://upload.pypi.org/legacy/"
    assert settings.skip_existing is True
    assert settings.debug is False


def test_help_answers_without_loading_validation_or_http() -> None:
    # `--help` and a mistyped flag must answer at once: nothing heavy is imported for them.
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from publish_action.__main__ import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "heavy = sorted(m for m in ('pydantic', 'pydantic_settings', 'httpx', 'packaging', 'sigstore') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert "--repository-url VALUE" in result.stdout
    assert "--index-rules VALUE" in result.stdout
    assert result.stdout.strip().endswith("HEAVY=")


def _as_action_default(value: object) -> str:
    """A Settings default as action.yml spells the same default."""
    from pydantic import SecretStr

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return str(value)


def test_action_yml_the_input_table_and_the_settings_agree() -> None:
    """One input, three places: action.yml (names, defaults, deprecated aliases), INPUTS (the names the
    program reads) and Settings (the defaults it applies). Any one changed alone fails here."""
    import yaml

    from publish_action.settings import Settings

    action = yaml.safe_load((Path(__file__).resolve().parents[1] / "action.yml").read_text(encoding="utf-8"))
    declared: dict[str, dict[str, str]] = action["inputs"]
    fields = Settings.model_fields
    names = {spec.name for spec in INPUTS} | {spec.deprecated_alias for spec in INPUTS if spec.deprecated_alias}
    assert set(declared) == names
    for spec in INPUTS:
        default = _as_action_default(fields[spec.field].default)
        assert str(declared[spec.name].get("default", "")) == default, spec.name
        if spec.deprecated_alias:
            alias = declared[spec.deprecated_alias]
            assert alias.get("default") == "" and f"use `{spec.name}`" in alias["deprecationMessage"], spec.name
        assert spec.is_bool == (fields[spec.field].annotation is bool), spec.name
    # The settings that are no input: read from the environment alone, never from `with:`.
    assert set(fields) - {spec.field for spec in INPUTS} == {"sigstore_trust_config", "debug"}


def test_settings_read_only_the_inputs_they_are_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """pydantic-settings reads no variable by itself: a Settings made directly ignores the process's
    environment, and load_settings reads only the environment it is handed."""
    from publish_action.settings import Settings

    monkeypatch.setenv("INPUT_DRY-RUN", "true")
    monkeypatch.setenv("DRY_RUN", "true")
    monkeypatch.setenv("dry_run", "true")
    assert Settings().dry_run is False
    settings, _ = load_settings([], {"INPUT_DRY-RUN": "yes", "GITHUB_ACTIONS": "true"})
    assert settings.dry_run is True
    settings, _ = load_settings(["--dry-run", "false"], {"INPUT_DRY-RUN": "yes", "GITHUB_ACTIONS": "true"})
    assert settings.dry_run is False  # the flag wins over the input
    assert Settings().dry_run is False  # and nothing of that run stays behind
