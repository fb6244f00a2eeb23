"""A stand-in for a sensor board, run as its own process by the tests:
writes a file's bytes to an inherited file descriptor (a pty master or a
socket), in small pieces, once standard input says "go"; then holds the
device open until standard input closes (or closes it at once: --then close)."""

import argparse
import os
import socket
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--fd", type=int, help="pty master to write to")
parser.add_argument("--listen", type=int, help="TCP port on 127.0.0.1: serve one client")
parser.add_argument("--data", required=True)
parser.add_argument("--piece", type=int, default=61, help="bytes per write")
parser.add_argument("--pause", type=float, default=0.0, help="seconds between writes")
parser.add_argument("--then", choices=["hold", "close"], default="hold")
args = parser.parse_args()

if args.listen is not None:
    server = socket.create_server(("127.0.0.1", args.listen))
    print("listening", flush=True)
    connection, _ = server.accept()
    write = connection.sendall
else:

    def write(data):
        view = memoryview(data)
        while view:
            view = view[os.write(args.fd, view) :]

    print("ready", flush=True)

sys.stdin.readline()  # "go"
data = open(args.data, "rb").read()
for start in range(0, len(data), args.piece):
    write(data[start : start + args.piece])
    if args.pause:
        time.sleep(args.pause)
print("written", flush=True)
if args.then == "hold":
    sys.stdin.read()
