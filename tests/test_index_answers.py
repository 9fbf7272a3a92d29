"""What indexes say when a file of that name is there already, each in its own words, and what is not that."""

from __future__ import annotations

import httpx
import pytest

from publish_action.index_answers import EXISTS_WORDINGS, index_message, says_already_exists


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"message": "400 File already exists ('a-1.0.tar.gz', with blake2_256 hash 'ab')."}),
        (409, "Conflict"),
        (400, "Repository does not allow updating assets: pypi-hosted"),
        (
            409,
            "ValidationErrorXO{id='*', message='pypi-hosted/a/1.0/a-1.0.tar.gz -  cannot be updated as asset already exists and redeploy is not allowed'}",
        ),
        (
            403,
            {
                "errors": [
                    {
                        "status": 403,
                        "message": "Not enough permissions to overwrite artifact 'pypi-local:a/1.0/a-1.0.tar.gz' (user: 'ci' needs DELETE permission).",
                    }
                ]
            },
        ),
        (400, {"message": "Validation failed: File name has already been taken"}),
    ],
    ids=["warehouse", "pypiserver-devpi", "nexus", "nexus-later", "artifactory", "gitlab"],
)
def test_each_indexes_already_exists(status: int, body: object) -> None:
    response = httpx.Response(status, json=body) if isinstance(body, dict) else httpx.Response(status, text=str(body))
    text = index_message(response) if isinstance(body, dict) and "errors" not in body else response.text
    assert says_already_exists(status, text), text


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "Invalid value for blake2_256_digest"),
        (403, "Invalid or non-existent authentication information."),
        (403, "The user 'x' isn't allowed to upload to project 'y'."),
        (500, "File already exists"),  # a server error says nothing about the file
        (400, "Repository is read only."),
    ],
)
def test_other_answers_are_not_already_exists(status: int, message: str) -> None:
    assert not says_already_exists(status, message)


def test_every_wording_names_its_source() -> None:
    assert all(wording.source and wording.statuses for wording in EXISTS_WORDINGS)
    assert all(wording.words == wording.words.lower() for wording in EXISTS_WORDINGS)
