"""CloudWatch metrics as Embedded Metric Format (EMF) log lines: no API call, no extra rights.

Lambda ships stdout to CloudWatch Logs, which extracts the metrics named under `_aws`. The
alarms in the deployment template (scripts/operations.py) watch these names.
"""

from __future__ import annotations

import json
import os
import sys
import time

NAMESPACE = "Settlekit"
DIMENSION = "Stage"


def emf_record(
    stage: str, values: dict[str, float], now_ms: int | None = None
) -> dict[str, object]:
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000) if now_ms is None else now_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [[DIMENSION]],
                    "Metrics": [{"Name": name, "Unit": "None"} for name in sorted(values)],
                }
            ],
        },
        DIMENSION: stage,
        **values,
    }


def emit(stage: str, values: dict[str, float]) -> None:
    """One EMF line with these gauges (stdout, like every structured log line).

    Only in Lambda: elsewhere nobody extracts them, and the local job loop stays quiet.
    """
    if values and os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        sys.stdout.write(json.dumps(emf_record(stage, values), sort_keys=True) + "\n")
        sys.stdout.flush()
