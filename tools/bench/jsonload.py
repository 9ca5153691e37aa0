# The reference for afmc's condor benchmark: what a Python collector does
# with condor_q -json output, json.load the whole of it.
import json
import sys

with open(sys.argv[1]) as f:
    jobs = json.load(f)
print(len(jobs))
