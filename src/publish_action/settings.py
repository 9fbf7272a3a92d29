"""The action's inputs, read from ``INPUT_*`` variables as GitHub passes them and from CLI flags.

Names and defaults follow the inputs maintainers already use with the reference publishing action, plus
``check-url``, ``dry-run`` and ``max-parallel``. A value is looked up, in order: the CLI flag, the
kebab-case ``INPUT_*`` variable (``INPUT_REPOSITORY-URL``), then a deprecated snake_case alias
(``INPUT_REPOSITORY_URL``). An empty value counts as not given, which is how GitHub passes an input that
the workflow left out.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from publish_action.errors import SettingsError
from publish_action.hosts import is_loopback
from publish_action.identity import github
from publish_action.inputs import INPUTS, parser
from publish_action.redact import hide_secrets, redact_url

DEFAULT_REPOSITORY_URL = "https://upload.pypi.org/legacy/"

#: Words accepted for a boolean input, in any case (the same list GitHub users know from other actions).
_TRUE_WORDS = frozenset({"true", "yes", "1"})
_FALSE_WORDS = frozenset({"false", "no", "0"})

#: Environment variable, never an input: a Sigstore client trust config for private Sigstore deployments
#: and the test sandbox. PyPI only accepts attestations made with Sigstore's production instance.
SIGSTORE_TRUST_CONFIG_ENV = "PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG"


def _strict_bool(value: object) -> object:
    """Accept true/false/yes/no/1/0 in any case and nothing else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise ValueError(f"expected one of true, false, yes, no, 1, 0 (any case), got {value!r}")


StrictBool = Annotated[bool, BeforeValidator(_strict_bool)]


_BY_FIELD = {spec.field: spec for spec in INPUTS}

#: The action's inputs as :func:`load_settings` read them for the run being loaded (None: no source, only
#: the values handed to ``Settings(...)``, as in tests and embedding programs).
_ACTION_INPUTS: ContextVar[dict[str, Any] | None] = ContextVar("publish_action_inputs", default=None)


class ActionInputsSource(PydanticBaseSettingsSource):
    """The settings source for GitHub's ``INPUT_*`` conventions, as :class:`GitHubInputs` read them: kebab
    case, underscores only outside GitHub or as a deprecated alias, an empty value counting as unset."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = dict(values)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """The input's value for ``field_name``, if the job gave one."""
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        """Every input the job gave, by field name."""
        return dict(self._values)


class Settings(BaseSettings):
    """Validated inputs of one run.

    Sources, highest first: the values handed in (the CLI flags, from :func:`load_settings`), then the action's
    inputs (:class:`ActionInputsSource`, from the environment :func:`load_settings` is given, not necessarily
    the process's). Nothing else is read: no other variable, no dotenv file, no secrets folder.
    """

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    user: str = "__token__"
    password: SecretStr = SecretStr("")
    repository_url: str = DEFAULT_REPOSITORY_URL
    packages_dir: Path = Path("dist")
    verify_metadata: StrictBool = True
    skip_existing: StrictBool = False
    verbose: StrictBool = True
    print_hash: StrictBool = True
    attestations: StrictBool = True
    #: A second attestation per file, SLSA Provenance v1 of the workflow run (attestations/slsa.py).
    build_provenance: StrictBool = False
    check_url: str | None = None
    dry_run: StrictBool = False
    #: Pre-flight alone (``publish-action check`` in a build job): no credential is read, nothing is sent.
    check_only: StrictBool = False
    max_parallel: int = Field(default=8, ge=1, le=32)
    #: Which index's upload rules pre-flight predicts: ``auto`` picks PyPI's for PyPI and TestPyPI.
    index_rules: Literal["auto", "pypi", "none"] = "auto"
    #: Confirm what the index serves after the upload: ``auto`` wherever the index's simple API is known.
    verify_published: Literal["auto", "true", "false"] = "auto"
    #: The outputs as a dotenv file and the summary as Markdown, besides GitHub's own files.
    outputs_file: Path | None = None
    summary_file: Path | None = None
    #: Env-only (``PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG``); never an action input.
    sigstore_trust_config: Path | None = None
    #: Show tracebacks: set by ``RUNNER_DEBUG=1`` (GitHub's debug logging) or ``PUBLISH_ACTION_DEBUG=1``.
    debug: bool = False

    @field_validator("index_rules", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("verify_published", mode="before")
    @classmethod
    def _auto_or_bool(cls, value: object) -> object:
        """``auto``, or any of the boolean words, spelled as ``true`` / ``false``."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE_WORDS:
                return "true"
            if word in _FALSE_WORDS:
                return "false"
            return word
        return value

    @field_validator("repository_url", "check_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = value.strip()
        # Messages show the URL without any user:password@ it may carry, and with its controls escaped.
        shown = redact_url(url)
        if any(char.isspace() or not char.isprintable() for char in url):
            raise ValueError(
                f"{shown!r} holds white space or a control character (a line break from a YAML block?); "
                "give the URL on one line, with spaces percent-encoded"
            )
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http(s) URL such as {DEFAULT_REPOSITORY_URL}, got {shown!r}")
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                f"{shown!r} carries credentials (user:password@ before the host), which would be ignored; "
                "pass them as the `user` and `password` inputs (the password from a secret) instead"
            )
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0 or (port is None and parts.netloc.endswith(":")):
            raise ValueError(f"the port in {shown!r} is not a number between 1 and 65535")
        return url if url.endswith("/") else url + "/"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The flags, then the action's inputs when :func:`load_settings` is reading them."""
        inputs = _ACTION_INPUTS.get()
        if inputs is None:
            return (init_settings,)
        return (init_settings, ActionInputsSource(settings_cls, inputs))

    @property
    def trusted_publishing(self) -> bool:
        """Trusted Publishing is used when no password is given and the user is ``__token__``."""
        return self.user == "__token__" and not self.password.get_secret_value()


class GitHubInputs:
    """Reads ``INPUT_*`` variables as GitHub passes them, plus the env-only settings.

    Outside GitHub Actions every input may also be spelled with underscores (``INPUT_DRY_RUN``), because
    GitLab CI variables and shell variables cannot hold a hyphen; on GitHub those spellings are the action's
    deprecated input names, with a notice. ``notices`` collects the deprecation and unknown-input warnings
    for the report.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self.notices: list[str] = []
        self.github = github.runs_the_job(self.environ)

    def __call__(self) -> dict[str, Any]:
        """Return the given inputs keyed by field name."""
        values: dict[str, Any] = {}
        for spec in INPUTS:
            value = self.environ.get(spec.env_name, "")
            if not value and not self.github:
                value = self.environ.get(spec.plain_env_name, "")
            elif not value and spec.deprecated_alias:
                alias_env = "INPUT_" + spec.deprecated_alias.upper()
                value = self.environ.get(alias_env, "")
                if value:
                    self.notices.append(
                        f"The input '{spec.deprecated_alias}' is deprecated; use '{spec.name}' instead."
                    )
            if value:
                values[spec.field] = value
        trust_config = self.environ.get(SIGSTORE_TRUST_CONFIG_ENV, "")
        if trust_config:
            values["sigstore_trust_config"] = trust_config
        values["debug"] = github.debug_requested(self.environ) or self.environ.get("PUBLISH_ACTION_DEBUG") == "1"
        return values

    def unknown_inputs(self) -> list[str]:
        """Name ``INPUT_*`` variables that match no input, with the closest input when one is near."""
        known = {spec.env_name for spec in INPUTS}
        known |= {"INPUT_" + spec.deprecated_alias.upper() for spec in INPUTS if spec.deprecated_alias}
        if not self.github:
            known |= {spec.plain_env_name for spec in INPUTS}
        found = []
        for name in sorted(self.environ):
            if name.startswith("INPUT_") and name not in known and self.environ[name]:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                found.append(f"Ignoring {name}: publish-action has no such input{hint}.")
        return found


#: Plainer words than pydantic's for the mistakes people make in the inputs, by (field, error type).
_MESSAGES = {
    ("max_parallel", "int_parsing"): "expected a whole number from 1 to 32",
    ("max_parallel", "int_from_float"): "expected a whole number from 1 to 32",
    ("max_parallel", "greater_than_equal"): "expected a whole number from 1 to 32",
    ("max_parallel", "less_than_equal"): "expected a whole number from 1 to 32",
    ("index_rules", "literal_error"): "expected auto, pypi or none",
    ("verify_published", "literal_error"): "expected auto, true or false (or yes, no, 1, 0; any case)",
}


def load_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Settings, list[str]]:
    """Read and validate the inputs; return the settings and the notices to show (deprecations, typos).

    Raises :class:`SettingsError` naming every bad input as the user spelled it.
    """
    args = parser().parse_args(argv)
    cli = {key: value for key, value in vars(args).items() if value not in (None, "")}
    source = GitHubInputs(environ)
    env_values = source()
    merged = {**env_values, **cli}
    reading = _ACTION_INPUTS.set(env_values)
    try:
        settings = Settings(**cli)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            spec = _BY_FIELD.get(field)
            name = spec.name if spec else field
            message = _MESSAGES.get((field, error["type"]), error["msg"].removeprefix("Value error, "))
            given = merged.get(field)
            if spec and spec.field == "password":
                given = "(hidden)"
            elif isinstance(given, str):
                given = hide_secrets(given)
            # The URL checks quote the (redacted) value themselves; for the others, show what was given.
            quoted = given is None or "got" in message or field in ("repository_url", "check_url")
            problems.append(f"{name}: {message}" + ("" if quoted else f" (got {given!r})"))
        raise SettingsError(
            "Invalid input",
            "one or more inputs of the action have values it cannot use.",
            "correct the inputs listed above in the workflow's `with:` block (or the CLI flags).",
            problems=problems,
        ) from None
    finally:
        _ACTION_INPUTS.reset(reading)
    _check_simple_api_known(settings)
    _check_build_provenance(settings)
    return settings, source.notices + source.unknown_inputs() + _plain_http_notice(settings)


def _plain_http_notice(settings: Settings) -> list[str]:
    """A warning when a password or token would travel over plain http:// to a host that is not loopback."""
    if not settings.password.get_secret_value():
        return []
    parts = urlsplit(settings.repository_url)
    host = parts.hostname or ""
    if parts.scheme != "http" or is_loopback(host):
        return []
    return [
        f"The password goes to {host} over plain http://, where anyone on the way can read it: use the "
        "index's https:// URL in `repository-url`."
    ]


def _check_build_provenance(settings: Settings) -> None:
    """``build-provenance`` rides on the publish attestation: refuse it without one."""
    if settings.build_provenance and not settings.attestations:
        raise SettingsError(
            "build-provenance needs attestations",
            "the SLSA provenance is uploaded beside each file's publish attestation, and `attestations` is off.",
            "set `attestations: true` (the default) with `build-provenance: true`, or leave `build-provenance` off.",
        )


def _check_simple_api_known(settings: Settings) -> None:
    """``skip-existing`` and ``verify-published: true`` need the index's simple API: refuse them, before
    anything is sent, when none is known."""
    if not settings.skip_existing and settings.verify_published != "true":
        return
    from publish_action.index import Index

    index = Index.from_urls(settings.repository_url, settings.check_url)
    if index.check_url is not None:
        return
    if settings.skip_existing:
        raise SettingsError(
            "check-url is needed with skip-existing",
            f"the simple index of {index.display_name} cannot be derived from its upload URL, so existing "
            "files cannot be compared.",
            "set `check-url` to the index's simple API URL (for example https://host/simple/).",
        )
    raise SettingsError(
        "verify-published: true needs check-url",
        f"the simple API of {index.display_name} cannot be derived from its upload URL, so what the index "
        "serves after the upload cannot be read.",
        "set `check-url` to the index's simple API URL (for example https://host/simple/), or set "
        "`verify-published: auto` (or `false`) to publish without the confirmation.",
    )
