"""
torchrun's one-node launch, for a torch whose torchrun cannot start (Debian's 1.13 on Python 3.11: its
launcher reads the default "--redirects 0" as no value and stops). Each process gets the environment
torchrun gives it (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), so train.py runs the same
either way; when one process fails, the others are stopped and the launch fails.

    python training/launch.py --nproc_per_node 2 training/train.py --config ...
"""
import os
import socket
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[0] != "--nproc_per_node":
        sys.exit("usage: launch.py --nproc_per_node N SCRIPT [ARGS...]")
    n, script = int(args[1]), args[2:]
    with socket.socket() as s:  # a free port on the loopback for the process group's rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for rank in range(n):
        env = {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(n),
               "LOCAL_WORLD_SIZE": str(n), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        procs.append(subprocess.Popen([sys.executable, *script], env=env))
    while any(p.poll() is None for p in procs):
        if any(p.poll() not in (None, 0) for p in procs):
            for p in procs:
                p.kill()
            break
        time.sleep(0.5)
    codes = [p.wait() for p in procs]
    sys.exit(next((c for c in codes if c), 0))


if __name__ == "__main__":
    main()
