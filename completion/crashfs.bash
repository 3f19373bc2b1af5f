# SPDX-License-Identifier: MIT
# bash completion for crashfs(1).  Installed by 'make install' into
# $(datarootdir)/bash-completion/completions/crashfs; to try it from the
# source tree: . completion/crashfs.bash
#
# The options of each subcommand are read from its own --help, so they
# never fall behind the binary; the values of the options that take a
# fixed set (--model, --report ...) and the ctl verbs are listed here.

_crashfs_opts()
{
	# the options '$1 $2 --help' lists: those that begin an indented line
	# ("  -j, --jobs N", "      --real-sync"), not the ones in its prose
	"$1" "$2" --help 2>/dev/null | awk '
		/^[ \t]+-/ {
			for (i = 1; i <= NF && $i ~ /^-/; i++) {
				o = $i; sub(/[,=].*/, "", o); print o
			}
		}' | sort -u
}

_crashfs()
{
	local cur prev words cword
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	words=("${COMP_WORDS[@]}")
	cword=$COMP_CWORD
	local bin=${words[0]} cmd=${words[1]:-}

	if [ "$cword" -eq 1 ]; then
		COMPREPLY=($(compgen -W "check mount umount ctl mark trace \
			states replay --help --version" -- "$cur"))
		return
	fi
	# after '--' (check's workload): complete commands, then files
	local i
	for ((i = 2; i < cword; i++)); do
		if [ "${words[i]}" = "--" ]; then
			if [ "$i" -eq $((cword - 1)) ]; then
				COMPREPLY=($(compgen -c -- "$cur"))
			else
				COMPREPLY=($(compgen -f -- "$cur"))
			fi
			return
		fi
	done
	case $prev in
	--model | -m)
		COMPREPLY=($(compgen -W "posix ext4 strict prefix" -- "$cur"))
		return ;;
	--report)
		COMPREPLY=($(compgen -W "text json junit" -- "$cur"))
		return ;;
	--states)
		COMPREPLY=($(compgen -W "visible crash all" -- "$cur"))
		return ;;
	--kind)
		COMPREPLY=($(compgen -W "strict strict+data visible prefix \
			prefix-nodata omit torn-head torn-tail size-only \
			random" -- "$cur"))
		return ;;
	--keep)
		if [ "$cmd" = ctl ]; then
			COMPREPLY=($(compgen -W "metadata" -- "$cur"))
		else
			COMPREPLY=($(compgen -d -- "$cur"))
		fi
		return ;;
	--from | --run | --verify | -o)
		if [ "$cmd" = mount ]; then
			COMPREPLY=($(compgen -W "allow_other nonempty" -- "$cur"))
		elif [ "$cmd" = check ] && [ "$prev" = -o ]; then
			COMPREPLY=($(compgen -f -- "$cur"))
		else
			COMPREPLY=($(compgen -d -- "$cur"))
		fi
		return ;;
	--trace | --log | --faults)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--setup | --check | --state | --point | --seed | --shard | --jobs | \
		-j | --timeout | --check-timeout | --max-states | \
		--max-prefixes | --max-writes | --random | --sector | \
		--type | --pid)
		return ;; # a value of the user's: nothing to offer
	esac
	if [ "$cmd" = ctl ]; then
		# crashfs ctl MNT VERB ...
		if [ "$cword" -eq 2 ]; then
			COMPREPLY=($(compgen -d -- "$cur"))
		elif [ "$cword" -eq 3 ]; then
			COMPREPLY=($(compgen -W "mark status unsynced sync \
				powercut fault faults" -- "$cur"))
		else
			case ${words[3]} in
			powercut)
				COMPREPLY=($(compgen -W "--keep --seed" -- "$cur")) ;;
			unsynced)
				COMPREPLY=($(compgen -W "--json" -- "$cur")) ;;
			faults)
				COMPREPLY=($(compgen -W "clear" -- "$cur")) ;;
			esac
		fi
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_crashfs_opts "$bin" "$cmd")" \
			-- "$cur"))
		return
	fi
	case $cmd in
	mount | umount) COMPREPLY=($(compgen -d -- "$cur")) ;;
	mark) ;;
	*) COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
}
complete -o filenames -F _crashfs crashfs
