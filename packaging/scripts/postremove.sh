#!/bin/sh
# afmc postremove (deb: postrm; rpm: %postun): systemd forgets the units.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
