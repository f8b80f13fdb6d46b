#!/bin/sh
# Run a command with the deployment's environment (the database URL, the data directory,
# mail settings), e.g. as the service user:
#   sudo -u opioids /opt/opioids/deploy/with-env.sh .venv/bin/opioids refresh --from 2025-01 --to 2025-06
set -a
. "${OPIOIDS_ENV_FILE:-/etc/opioids/opioids.env}"
set +a
exec "$@"
