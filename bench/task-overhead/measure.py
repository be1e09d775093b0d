"""`python measure.py <command...>`: one run of a command, its wall time, CPU time and peak RSS as JSON.

Timed from just before the fork to the child's exit, so this wrapper's own start is not counted;
the CPU time (user + system) and the peak resident set size are the kernel's (`wait4`'s
ru_utime, ru_stime and ru_maxrss, KiB on Linux). CPU time is what the process itself computed:
on a machine busy with other work it stays put while wall time grows with the wait for a core.
"""

import json
import os
import subprocess
import sys
import time

started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
assert child.stdout is not None
output = child.stdout.read()
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - started
print(
    json.dumps(
        {
            "wall_ms": wall * 1000,
            "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000,
            "rss_kib": usage.ru_maxrss,
            "exit": os.waitstatus_to_exitcode(status),
            "output": output.decode(errors="replace")[-4000:],
        }
    )
)
