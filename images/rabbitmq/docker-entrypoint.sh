#!/usr/bin/env bash
# Writes RABBITMQ_DEFAULT_USER/PASS/VHOST into the server's configuration (so guest/guest is not
# created when they are set), then runs the server as the rabbitmq user.
set -Eeuo pipefail

if [[ $1 == rabbitmq-server && $(id -u) == 0 ]]; then
  conf=/etc/rabbitmq/conf.d/10-defaults.conf
  mkdir -p /etc/rabbitmq/conf.d
  : >"$conf"
  [[ -n ${RABBITMQ_DEFAULT_USER:-} ]] && printf 'default_user = %s\n' "$RABBITMQ_DEFAULT_USER" >>"$conf"
  [[ -n ${RABBITMQ_DEFAULT_PASS:-} ]] && printf 'default_pass = %s\n' "$RABBITMQ_DEFAULT_PASS" >>"$conf"
  [[ -n ${RABBITMQ_DEFAULT_VHOST:-} ]] && printf 'default_vhost = %s\n' "$RABBITMQ_DEFAULT_VHOST" >>"$conf"
  # The variables are consumed: the server would otherwise warn that they are deprecated.
  unset RABBITMQ_DEFAULT_USER RABBITMQ_DEFAULT_PASS RABBITMQ_DEFAULT_VHOST
  # The cookie exists before the server starts: otherwise the first health check, run as root,
  # creates it owned by root and the server, running as rabbitmq, cannot read it and crashes.
  cookie=/var/lib/rabbitmq/.erlang.cookie
  [[ -s $cookie ]] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$cookie"
  chmod 400 "$cookie"
  chown -R rabbitmq:rabbitmq /var/lib/rabbitmq /etc/rabbitmq
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$@"
fi
exec "$@"
