"""What a health check keeps between runs (plugin_utils/user_cache.py): the zoho_* names of the
collection, under a fingerprint of its files - an edited file is read again, a corrupt or
missing entry is recomputed, never trusted."""

import os

import pytest

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import settings_check, user_cache


@pytest.fixture
def tree(tmp_path, monkeypatch):
    root = tmp_path / "collection"
    (root / "roles" / "r" / "defaults").mkdir(parents=True)
    (root / "roles" / "r" / "defaults" / "main.yml").write_text("zoho_first_setting: 1\n")
    (root / "tests").mkdir()
    (root / "tests" / "ignored.yml").write_text("zoho_only_in_tests: 1\n")
    monkeypatch.setattr(settings_check, "COLLECTION_ROOT", str(root))
    monkeypatch.setattr(settings_check, "_COLLECTION_NAMES", [])
    return root


def _names():
    settings_check._COLLECTION_NAMES[:] = []  # a new process
    return settings_check.collection_names()


def _entries(kind):
    base = user_cache.directory()
    return [n for n in os.listdir(base) if n.startswith(user_cache.PREFIX + kind + "-")]


def test_the_names_are_kept_and_an_edited_file_is_read_again(tree):
    assert user_cache.directory() is not None
    assert _names() == {"zoho_first_setting"}
    before = set(_entries("names"))
    assert before
    defaults = tree / "roles" / "r" / "defaults" / "main.yml"
    defaults.write_text("zoho_first_setting: 1\nzoho_second_setting: 2\n")
    assert _names() == {"zoho_first_setting", "zoho_second_setting"}
    (tree / "roles" / "r" / "tasks.yml").write_text("- debug: var=zoho_third\n")
    assert "zoho_third" in _names()


def test_a_corrupt_entry_is_recomputed(tree):
    assert _names() == {"zoho_first_setting"}
    for name in _entries("names"):
        with open(os.path.join(user_cache.directory(), name), "w") as handle:
            handle.write("{not json")
    assert _names() == {"zoho_first_setting"}


def test_the_real_collection_names_are_those_of_its_files():
    settings_check._COLLECTION_NAMES[:] = []
    from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.variable_names import names_in_tree
    assert settings_check.collection_names() == frozenset(names_in_tree(settings_check.COLLECTION_ROOT))
    assert "zoho_health_thresholds" in settings_check.collection_names()
