#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""One human monitor (HMP) command to a QEMU, its output on stdout.

usage: hmp.py <monitor unix socket> <command>

The monitor is a "-monitor unix:<socket>,server,nowait".  The command's
own echo is left out.  A QEMU that goes away (the command was "quit")
just ends the output.
"""
import socket
import sys


def until_prompt(s):
    buf = b''
    try:
        while not buf.endswith(b'(qemu) '):
            d = s.recv(65536)
            if not d:
                break
            buf += d
    except socket.timeout:
        pass
    return buf.decode(errors='replace')


def main():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(sys.argv[1])
    until_prompt(s)
    s.sendall(sys.argv[2].encode() + b'\n')
    out = until_prompt(s).replace('\r', '')
    # the monitor echoes the command line first
    print('\n'.join(out.split('\n')[1:-1]))


if __name__ == '__main__':
    main()
