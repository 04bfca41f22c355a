"""The local stack (`make run`): moto server, the stack provisioned in it, the worker, the API."""

# Settings only the local stack has, beside the dev stage's: the shared ops token works here as a
# supervisor's (for curl and the demo). No deployed stage sets it, so a deployed `dev` never
# accepts a token from a file anyone can read.
LOCAL_SETTINGS = {"SOCIALCRM_OPS_TOKEN_ROLE": "supervisor"}
