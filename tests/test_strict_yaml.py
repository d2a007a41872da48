"""The YAML reader every stack file and catalog goes through (settings/strict_yaml.py): parsed documents
are remembered per text, so each caller must still get a document of its own, and a bad one must fail every
time."""

from __future__ import annotations

import pytest

from settings import strict_yaml

TEXT = "config:\n  picturesocial:apis:\n    photos: {tag: 1.0.0}\n"


def test_each_load_is_a_document_of_its_own_even_for_the_same_text():
    first = strict_yaml.load(TEXT)
    first["config"]["picturesocial:apis"]["photos"]["tag"] = "9.9.9"
    first["config"]["added"] = True
    assert strict_yaml.load(TEXT) == {"config": {"picturesocial:apis": {"photos": {"tag": "1.0.0"}}}}


def test_a_key_given_twice_fails_on_every_load_not_only_the_first():
    text = "a: 1\na: 2\n"
    for _ in range(2):
        with pytest.raises(strict_yaml.YAMLError) as caught:
            strict_yaml.load(text)
        assert (
            strict_yaml.problem(caught.value, text)
            == 'duplicate key "a" (lines 1 and 2): a key may be given once'
        )


def test_a_changed_text_is_read_again():
    assert strict_yaml.load("a: no\n") == {"a": "no"}  # YAML 1.2, as the Pulumi CLI reads it
    assert strict_yaml.load("a: yes please\n") == {"a": "yes please"}
