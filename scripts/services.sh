#!/usr/bin/env bash
# Make sure the local PostgreSQL and RabbitMQ the test suite uses are running; start
# whichever is down. Idempotent. Used by scripts/test.sh (and so by .ci/run).
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
amqp_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if ! pg_up; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
fi
if ! amqp_up; then
  echo "services: starting RabbitMQ"
  rabbitmq-server -detached
fi
for _ in $(seq 1 60); do
  pg_up && amqp_up && { echo "services: PostgreSQL and RabbitMQ are up"; exit 0; }
  sleep 1
done
pg_up || echo "services: PostgreSQL did not come up on 127.0.0.1:5432" >&2
amqp_up || echo "services: RabbitMQ did not come up on 127.0.0.1:5672" >&2
exit 1
