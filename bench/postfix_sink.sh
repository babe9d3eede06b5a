#!/usr/bin/env bash
# A real mail server for bench/flows_scale.py --smtp: Debian's Postfix on 127.0.0.1:2525, accepting any recipient
# from this machine, queueing each message to disk (and syncing it) before it answers, then discarding it; each
# message's Message-ID is logged to /var/log/postfix.log, where the bench counts them.
#
#   sudo bench/postfix_sink.sh          # install if missing, configure, (re)start
#   python bench/flows_scale.py --split-cores --smtp 127.0.0.1:2525 --concurrency 8
#
# It changes this machine's Postfix configuration: run it on a development or bench machine only, never where Postfix
# delivers real mail. Not used by the tests or CI.
set -euo pipefail
if ! command -v postfix > /dev/null; then
    echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
    echo "postfix postfix/mailname string backroom.localhost" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix
fi
postconf -e "inet_interfaces = loopback-only" "mydestination =" "mynetworks = 127.0.0.0/8" \
    "smtpd_relay_restrictions = permit_mynetworks, reject" "default_transport = discard:sink" \
    "relay_transport = discard:sink" "local_transport = discard:sink" "maillog_file = /var/log/postfix.log"
grep -q "^127.0.0.1:2525 " /etc/postfix/master.cf || echo "127.0.0.1:2525 inet n - n - - smtpd" >> /etc/postfix/master.cf
if postfix status > /dev/null 2>&1; then postfix reload; else postfix start; fi
echo "Postfix takes mail on 127.0.0.1:2525 and logs to /var/log/postfix.log"
