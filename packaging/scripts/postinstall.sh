#!/bin/sh
# afmc postinstall (deb: configure; rpm: %post). Tells systemd of the new or
# changed units, and on a first install says what to do next. The timer is
# not enabled: set cluster in /etc/afmc/afmc.yaml and write /etc/afmc/token,
# check, then enable it.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
# deb passes "configure" and the version replaced (none on a first
# install); rpm passes the number of versions installed (1 on a first).
case "$1:${2:-}" in
    configure: | 1:)
        cat <<'MSG'
afmc is installed; its timer is not enabled. To set it up:
  1. set cluster in /etc/afmc/afmc.yaml, and write the token to /etc/afmc/token (mode 0600)
  2. systemctl start afmc-check; journalctl -u afmc-check   (every row OK or SKIP)
  3. systemctl enable --now afmc.timer
See /usr/share/doc/afmc/README.md and man afmc.
MSG
        ;;
esac
exit 0
