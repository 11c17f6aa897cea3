# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""containers.podman.podman with pipelining, for the Molecule scenarios of this repository.

It takes the place of the `podman` connection that Molecule's podman driver writes into
the scenario inventory (`ansible_connection: podman`) only where ANSIBLE_CONNECTION_PLUGINS
points at this directory: the default, backlog, service_down and cleanup scenarios
(their molecule.yml), never elsewhere.

Why: every module task over containers.podman.podman costs five `podman exec` calls
(mkdir, chmod, run, rm of a temporary file, plus `podman mount`), 3 s and more on a busy
2-core machine; the roles under test run dozens of them. With pipelining a module is
one `podman exec -i` that feeds the module to python on stdin, as ssh does. Only the
way commands are run changes; files (copy, template, script) still go through the
parent's put_file (`podman cp`, no mount).

Pipelining is switched on by ANSIBLE_PIPELINING in the same molecule.yml files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
    name: podman
    short_description: containers.podman.podman with pipelining (Molecule scenarios of this repository only)
    description:
      - Runs commands in an existing podman container like containers.podman.podman, and
        feeds modules on stdin (C(podman exec -i)) when pipelining is enabled.
    extends_documentation_fragment:
      - connection_pipelining
    options:
      remote_addr:
        description: The ID or name of the container.
        default: inventory_hostname
        vars:
          - name: ansible_host
          - name: inventory_hostname
          - name: ansible_podman_host
      remote_user:
        description: User to run commands as inside the container.
        ini:
          - section: defaults
            key: remote_user
        env:
          - name: ANSIBLE_REMOTE_USER
        vars:
          - name: ansible_user
      podman_extra_args:
        description: Extra arguments to pass to the podman command line.
        default: ''
        ini:
          - section: defaults
            key: podman_extra_args
        vars:
          - name: ansible_podman_extra_args
        env:
          - name: ANSIBLE_PODMAN_EXTRA_ARGS
      podman_executable:
        description: Executable for podman command.
        default: podman
        vars:
          - name: ansible_podman_executable
        env:
          - name: ANSIBLE_PODMAN_EXECUTABLE
"""

import shlex

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.connection import ConnectionBase, ensure_connect
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection


class Connection(PodmanConnection):
    transport = "podman"
    has_pipelining = True

    def _connect(self):
        # No `podman mount` per task: put_file falls back to `podman cp`.
        ConnectionBase._connect(self)
        self._mount_point = None
        self._connected = True
        return self

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        ConnectionBase.exec_command(self, cmd, in_data=in_data, sudoable=sudoable)
        exec_args = ["exec"]
        if in_data is not None:
            exec_args.append("-i")
        if self.user:
            exec_args.extend(("--user", self.user))
        return self._podman(exec_args, shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data)
