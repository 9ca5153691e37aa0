# The reference for afmc's condor benchmark: the original Python collector
# (afmetrics_collector's condor.py), which asked condor_q for a few
# attributes with -format, one job a line ("alice 101.0 3600 2 "), and
# split each line into a document with Python string operations. This runs
# the same condor_q (argv[1], a fake that prints the recorded text) with the
# original's arguments and turns its output into the same dicts the same
# way: one list comprehension over readlines(), split(), the JobStatus
# names looked up in a dict.
import subprocess
import sys

KEYS = ["users", "Id", "Runtime", "state"]
STATES = {"0": "unexpanded", "1": "idle", "2": "running", "3": "removed",
          "4": "finished", "5": "held", "6": "submission_err"}


def main():
    cmd = [sys.argv[1], "-all", "-constraint", 'Owner =!= "atlas-coffea"',
           "-format", "%s ", "Owner", "-format", "%d.", "ClusterId",
           "-format", "%d ", "ProcId", "-format", "%d ", "RemoteWallClockTime",
           "-format", "%s \n", "JobStatus"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as proc:
        jobs = [dict(zip(KEYS, [int(x) if i == 2 else (STATES.get(x, "unknown") if i == 3 else x)
                                for i, x in enumerate(line.decode("utf-8").split())]))
                for line in proc.stdout.readlines()]
    print(len(jobs))


main()
