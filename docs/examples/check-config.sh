#!/bin/sh
# SPDX-License-Identifier: MIT
# A checker server in shell (crashfs check --check-server, docs/check.md):
# config.json holds "old" or "new", and "new" once the mark "saved" was
# made.  Nothing but the answers may reach stdout.
tab=$(printf '\t')
echo ready
while IFS=$tab read -r state marks point id rest; do
	got=$(cat "$state/config.json" 2>/dev/null) || got="(missing)"
	if grep -qx saved "$marks"; then want="new"; else want="old new"; fi
	case " $want " in
	*" $got "*) echo ok ;;
	*) echo "fail config.json holds '$got' at crash point $point, expected $want" ;;
	esac
done
