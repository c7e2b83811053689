#!/usr/bin/env bash
# Start every local service the tests use if it is down (loopback only). Never stops anything.
set -u

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # name port
  for _ in $(seq 1 60); do up "$2" && return 0; sleep 0.5; done
  echo "services: $1 did not come up on 127.0.0.1:$2" >&2
  return 1
}

if ! up 5432; then
  echo "services: starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  wait_for PostgreSQL 5432 || true
fi

if ! up 3306 && [ -x /usr/sbin/mariadbd ]; then
  echo "services: starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  wait_for MariaDB 3306 || true
fi

if ! up 4222 && [ -x /usr/sbin/nats-server ]; then
  echo "services: starting NATS"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
  wait_for NATS 4222 || true
fi
# Headless Chromium for the dashboard's browser tests (tests/e2e): Debian's packages only.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "services: installing chromium and chromium-driver"
    apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null 2>&1 &&
        apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1
    } || echo "services: could not install chromium (browser tests skip locally, fail in CI)" >&2
  fi
fi
exit 0
