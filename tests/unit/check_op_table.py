"""Fails when docs/operators.md and the runtime's operator tables disagree.
Usage: check_op_table.py OP_LIST_EXE DOCS_MD"""
import re
import subprocess
import sys

code = set(tuple(l.split()) for l in subprocess.run([sys.argv[1]], check=True, capture_output=True,
                                                     text=True).stdout.splitlines() if l.strip())
docs = set()
for line in open(sys.argv[2], encoding="utf-8"):
    m = re.match(r"\|\s*`([A-Za-z0-9]+)`\s*\|\s*`?([a-z.]+)`?\s*\|", line)
    if m:
        docs.add((m.group(2), m.group(1)))
missing, extra = sorted(code - docs), sorted(docs - code)
for d, o in missing:
    print("docs/operators.md lacks %s::%s, which the runtime supports" % (d, o))
for d, o in extra:
    print("docs/operators.md lists %s::%s, which the runtime does not know" % (d, o))
print("%d operators in code, %d in docs" % (len(code), len(docs)))
sys.exit(1 if missing or extra else 0)
