#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""One human monitor (HMP) command to a QEMU, its output on stdout.

usage: hmp.py <monitor unix socket> <command>

The monitor is a "-monitor unix:<socket>,server,nowait".  The command's
own echo is left out.  A QEMU that goes away (the command was "quit")
just ends the output.  Also a module: Monitor(<socket>).cmd(<command>)
for several commands over one connection (l1-migrate.sh's mig_run).
"""
import socket
import sys


class Monitor:
    def __init__(self, path, timeout=20):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self._until_prompt()

    def _until_prompt(self):
        buf = b''
        try:
            while not buf.endswith(b'(qemu) '):
                d = self.s.recv(65536)
                if not d:
                    break
                buf += d
        except socket.timeout:
            pass
        return buf.decode(errors='replace').replace('\r', '')

    def cmd(self, command):
        """The command's output, without its echo and the next prompt."""
        self.s.sendall(command.encode() + b'\n')
        return '\n'.join(self._until_prompt().split('\n')[1:-1])


def main():
    print(Monitor(sys.argv[1]).cmd(sys.argv[2]))


if __name__ == '__main__':
    main()
