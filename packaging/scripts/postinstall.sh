#!/bin/sh
# afmc postinstall (deb: configure; rpm: %post). Tells systemd of the new or
# changed units. The timer is not enabled: set cluster in
# /etc/afmc/afmc.yaml and write /etc/afmc/token, then
#   systemctl enable --now afmc.timer
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
