"""A stand-in agent: asks the gate for approval, prints the decision as JSON."""

import json
import sys

from reviewer import Gate

db, tool, args, timeout = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), float(sys.argv[4])
d = Gate(db=db, agent="test-agent").request(tool, args, risk="high", timeout_s=timeout,
                                            rationale="the user asked for it")
print(d.model_dump_json(), flush=True)
