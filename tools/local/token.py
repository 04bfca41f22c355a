"""An access token of a console user of the running local stack, for the ops API with curl:

    curl -H "Authorization: Bearer $(.venv/bin/python -m tools.local.token admin@example.com)" localhost:8000/audit

The user and their password come from the local secrets document (`console_users`), the pool from
the stack's Cognito in moto (SOCIALCRM_AWS_PORT, default 5000). Local stack only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tools.local.__main__ import REGION, aws_environment
from tools.provision import stack_name
from tools.secrets import DEV_SECRETS_PATH, load_file


def token(email: str, secrets_path: Path, aws_port: int) -> str:
    import boto3

    users = load_file(secrets_path).get("console_users") or {}
    if email not in users:
        raise SystemExit(f"{email} is not one of the console_users in {secrets_path}: {', '.join(users)}")
    os.environ.update(aws_environment(aws_port))
    idp = boto3.client("cognito-idp", region_name=REGION)
    name = stack_name("dev")
    pool = next(p["Id"] for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == name)
    clients = idp.list_user_pool_clients(UserPoolId=pool, MaxResults=60)["UserPoolClients"]
    client_id = next(c["ClientId"] for c in clients if c["ClientName"] == f"{name}-local")
    answer = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": users[email]["password"]},
    )
    return str(answer["AuthenticationResult"]["AccessToken"])


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("email")
    args = parser.parse_args()
    secrets_path = Path(os.environ.get("SOCIALCRM_LOCAL_SECRETS", str(DEV_SECRETS_PATH)))
    print(token(args.email, secrets_path, int(os.environ.get("SOCIALCRM_AWS_PORT", "5000"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
