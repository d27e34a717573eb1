"""`make package`: a CloudFormation (SAM) template with the functions, schedules and the table.

The table comes from `chalicelib/core/table.py`, the same definition the local bootstrap and
the tests use, merged into Chalice's template with `--merge-template`. Then
`scripts/operations.py` gives each function its own least-privilege role and adds the log
groups, throttling, the alert topic and the alarms, and cfn-lint checks the result. The build
fails when Chalice reports that it could not install a dependency for Lambda (such a package
would deploy and then fail at its first import) and on any cfn-lint error or warning.

Usage: python -m scripts.package_app OUT_DIR [--stage dev]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from chalicelib.core.table import cloudformation_resource
from scripts import operations

ROOT = Path(__file__).resolve().parent.parent
DEPENDENCY_WARNING = "Could not install dependencies"


def stage_table_name(stage: str) -> str:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = config["stages"][stage].get("environment_variables", {})
    return str(env.get("TABLE_NAME", f"settlekit-{stage}"))


def merge_template(stage: str) -> dict[str, Any]:
    return {
        "Resources": {
            "SettlekitTable": cloudformation_resource(stage_table_name(stage)),
            # API Gateway answers unknown paths and methods with 403 "Missing Authentication
            # Token"; give clients the service's JSON 404 instead.
            "UnknownRouteResponse": {
                "Type": "AWS::ApiGateway::GatewayResponse",
                "Properties": {
                    "RestApiId": {"Ref": "RestAPI"},
                    "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
                    "StatusCode": "404",
                    "ResponseTemplates": {
                        "application/json": '{"error": "not_found", "message": "no such route"}'
                    },
                },
            },
        }
    }


def package(out_dir: Path, stage: str) -> int:
    build = ROOT / "build"
    build.mkdir(exist_ok=True)
    merge = build / f"merge-template-{stage}.json"
    merge.write_text(json.dumps(merge_template(stage), indent=2) + "\n")
    chalice = Path(sys.executable).parent / "chalice"
    result = subprocess.run(
        [str(chalice), "package", "--stage", stage, "--merge-template", str(merge), str(out_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        # Packaging talks to no AWS account, but Chalice insists on a region.
        env={**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")},
    )
    output = result.stdout + result.stderr
    print(output, end="")
    if result.returncode != 0:
        return result.returncode
    if DEPENDENCY_WARNING in output:
        print("package: Chalice could not install a dependency for Lambda", file=sys.stderr)
        return 1
    sam = out_dir / "sam.json"
    template = operations.apply(json.loads(sam.read_text()), stage, stage_table_name(stage))
    sam.write_text(json.dumps(template, indent=2) + "\n")
    return lint(sam)


def lint(template: Path) -> int:
    """cfn-lint the template; any error or warning fails the build (informational notes pass)."""
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(template)], capture_output=True, text=True)
    print(result.stdout + result.stderr, end="")
    # cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
    if result.returncode & (1 | 2 | 4):
        print(f"package: cfn-lint found problems in {template}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="Build the deployable package.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--stage", default="dev", choices=["dev", "prod"])
    args = parser.parse_args()
    return package(args.out_dir.resolve(), args.stage)


if __name__ == "__main__":
    sys.exit(main())
