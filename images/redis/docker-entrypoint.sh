#!/usr/bin/env bash
set -Eeuo pipefail
if [[ ${1:0:1} == - ]]; then set -- redis-server "$@"; fi
if [[ $1 == redis-server ]]; then
  # Debian builds Redis with protected mode on; the official image builds it off. Match the
  # official default unless the command line decides.
  [[ " $* " == *" --protected-mode "* ]] || set -- "$@" --protected-mode no
  if [[ $(id -u) == 0 ]]; then
    chown -R redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
