# -*- coding: utf-8 -*-
"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test creates every sanity/units virtual environment with ``--without-pip`` and
then runs get-pip.py from ci-files.testing.ansible.com, a host this network cannot
reach. ansible-test's own error message says the script may be saved by hand into
``~/.ansible/test/cache/get_pip_<version>.py``; scripts/ansible-test-offline.sh puts
this file there. It does what get-pip.py does, with what Python ships and PyPI:
bootstrap pip from the interpreter's bundled wheel (ensurepip), then
``pip install`` the requested packages (the pinned pip, setuptools, wheel).

get-pip.py's own flags (--no-setuptools, --no-wheel) are accepted and dropped.
"""

import subprocess
import sys


def main():
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"],
                          stdout=subprocess.DEVNULL)
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q"] + args)


if __name__ == "__main__":
    main()
