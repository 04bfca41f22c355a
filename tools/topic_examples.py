"""Clear the topics' examples that day tallies kept before examples had an expiry: once, per stage.

    python -m tools.topic_examples --stage prod [--region eu-west-1]

Why: until examples were kept apart with the expiry of their messages (chalicelib/store/topics.py,
save_day), a day's tally kept them for good; they name customers (an id and an interaction key),
and an erasure finds them only through messages that may have expired since. This scans the
stage's table (socialcrm-<stage>) once with the caller's credentials, which need Scan, GetItem and
UpdateItem on it, and rewrites those tallies without their examples; the counts stay. Run it after
the deploy (a count by the code before would write examples there again); running it again
changes nothing.
"""

from __future__ import annotations

import argparse
import os

from chalicelib.store.models import bind
from chalicelib.store.topics import TopicStore
from tools.provision import stack_name


def main() -> None:
    parser = argparse.ArgumentParser(description="Clear examples day tallies kept before they had an expiry.")
    parser.add_argument("--stage", required=True)
    parser.add_argument("--region", default=None, help="the stage's region (default: the AWS configuration's)")
    args = parser.parse_args()
    if args.region:
        os.environ["AWS_DEFAULT_REGION"] = args.region
    bind(stack_name(args.stage))  # the table has the stack's name
    print(f"{TopicStore().forget_unkept_examples()} day tallies cleared")


if __name__ == "__main__":
    main()
