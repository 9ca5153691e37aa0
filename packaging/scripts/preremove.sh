#!/bin/sh
# afmc preremove (deb: prerm; rpm: %preun). On removal, not on upgrade:
# stop and disable the timer, stop the services. deb passes "remove"; rpm
# passes the number of versions left, 0 on removal.
case "$1" in
    remove|0)
        if [ -d /run/systemd/system ]; then
            systemctl disable --now afmc.timer >/dev/null 2>&1 || :
            systemctl stop afmc.service afmc-check.service >/dev/null 2>&1 || :
        fi
        ;;
esac
exit 0
