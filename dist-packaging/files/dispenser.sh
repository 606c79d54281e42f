#!/bin/sh
# Dispenser carries its own Node.js runtime: the host's node, if any, is never used.
exec /usr/lib/dispenser/node/bin/node /usr/lib/dispenser/node_modules/dispenser/bin/run.js "$@"
