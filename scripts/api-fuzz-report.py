#!/usr/bin/env python3
"""Read a Schemathesis NDJSON report: how many calls each phase made, how many answered with a
server error, and which writes (POST, PUT) of the stateful phase succeeded. Exit 1 unless some
write succeeded there: a stateful phase whose every write was refused tested nothing."""
import base64
import collections
import json
import re
import sys


def main(path):
    calls = collections.Counter()
    errors = collections.Counter()
    writes = collections.Counter()
    for line in open(path, encoding="utf-8"):
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        phase = finished.get("phase")
        for interaction in (finished.get("recorder", {}).get("interactions") or {}).values():
            request = interaction.get("request") or {}
            response = interaction.get("response") or {}
            status = response.get("status_code")
            if status is None:
                continue
            calls[phase] += 1
            if status >= 500:
                errors[phase] += 1
            method = request.get("method")
            uri = request.get("uri", "").split("?")[0]
            path_only = re.sub(r"^https?://[^/]+", "", uri)
            # A look-up is a POST that changes nothing.
            is_write = method in ("POST", "PUT") and not path_only.endswith("/lookup")
            if phase == "stateful" and is_write and 200 <= status < 300:
                writes[f"{method} {re.sub(r'/-?[0-9]+', '/{id}', path_only)}"] += 1
    for phase in sorted(calls):
        print(f"{phase}: {calls[phase]} calls, {errors[phase]} server errors")
    for op, n in sorted(writes.items()):
        print(f"stateful write succeeded: {op} ×{n}")
    if sum(errors.values()):
        print("server errors: see the run's output")
        return 1
    if not writes:
        print("no write succeeded in the stateful phase")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
