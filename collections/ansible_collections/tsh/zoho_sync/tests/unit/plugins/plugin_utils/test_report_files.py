# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report_files: the checks and the writing shared by zoho_report_files and zoho_health_run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

import pytest

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.report_files import check_files, write_files


def test_check_files_normalises_the_arguments(tmp_path):
    directory, files, mode, dir_mode, patterns, keep_days = check_files(
        str(tmp_path / "r"), {"a.json": "{}"}, "0644", None, "health-*.json", "3")
    assert directory == str(tmp_path / "r") and files == {"a.json": "{}"}
    assert (mode, dir_mode, patterns, keep_days) == (0o644, 0o750, ["health-*.json"], 3.0)


@pytest.mark.parametrize("files, message", [
    ({"../x": "t"}, "not a plain file name"),
    ({".hidden": "t"}, "not a plain file name"),
    ({"a.json": 1}, "must be text"),
    ("a.json", "must be a mapping"),
])
def test_check_files_refuses_what_is_not_a_file_of_the_directory(tmp_path, files, message):
    with pytest.raises(ValueError, match=message):
        check_files(str(tmp_path), files)


def test_write_files_creates_the_directory_writes_and_prunes(tmp_path):
    directory = tmp_path / "host"
    args = check_files(str(directory), {"latest.json": "{}\n", "health-new.json": "{}\n"}, None, None,
                       ["health-*.json"], 1)
    changed, written, removed = write_files(*args)
    assert changed and written[0] == str(directory) and (directory / "latest.json").read_text() == "{}\n"
    assert oct(os.stat(str(directory / "latest.json")).st_mode & 0o777) == oct(0o640)
    old = directory / "health-old.json"
    old.write_text("{}")
    past = time.time() - 3 * 86400
    os.utime(str(old), (past, past))
    changed, written, removed = write_files(*args)
    assert removed == [str(old)] and changed and not old.exists()
    changed, written, removed = write_files(*args)
    assert not changed and removed == [] and str(directory) not in written


def test_a_directory_another_host_created_first_is_no_error(tmp_path, monkeypatch):
    """Several hosts' checks run at once and share the textfile directory: the one that loses
    the race to create it writes its files there all the same."""
    from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import atomic_file
    target = str(tmp_path / "metrics")
    real_makedirs = os.makedirs

    def another_host_first(path, mode=0o777, exist_ok=False):
        real_makedirs(path, mode)  # the other host's check
        raise FileExistsError(path)

    monkeypatch.setattr(atomic_file.os, "makedirs", another_host_first)
    changed, written, removed = write_files(target, {"zoho_sync_a.prom": "x 1\n"}, 0o644, 0o755, [], None)
    assert changed and written == [os.path.join(target, "zoho_sync_a.prom")]
    assert open(os.path.join(target, "zoho_sync_a.prom")).read() == "x 1\n"
    monkeypatch.setattr(atomic_file.os, "makedirs", real_makedirs)
    # a path that cannot be a directory is still an error
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(OSError):
        write_files(str(tmp_path / "a-file" / "sub"), {"b": "y"}, 0o644, 0o755, [], None)
