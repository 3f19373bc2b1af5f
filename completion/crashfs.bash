# SPDX-License-Identifier: MIT
# bash completion for crashfs(1).  Installed by 'make install' into
# $(datarootdir)/bash-completion/completions/crashfs; to try it from the
# source tree: . completion/crashfs.bash
#
# The options of each subcommand, the ctl verbs and the options of ctl
# powercut are read from the binary's own --help, so they never fall
# behind it; the values of the options that take a fixed set (--model,
# --report ...) are listed here.

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

# the ctl verbs ('crashfs ctl MNT VERB' in '$1 ctl --help'), or, given a
# verb as $2, the options its usage lines show
_crashfs_ctl()
{
	"$1" ctl --help 2>/dev/null | awk -v verb="${2:-}" '
		{
			start = 0
			for (i = 1; i + 2 <= NF; i++)
				if ($i == "ctl" && $(i + 1) == "MNT") {
					v = $(i + 2); start = 1
					if (verb == "") print v
				}
			if (!start && $1 !~ /^--/) v = ""
		}
		verb != "" && v == verb {
			for (i = 1; i <= NF; i++)
				if (match($i, /--[a-z][a-z-]*/))
					print substr($i, RSTART, RLENGTH)
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
	--color)
		COMPREPLY=($(compgen -W "auto always never" -- "$cur"))
		return ;;
	--tear)
		COMPREPLY=($(compgen -W "sector page" -- "$cur"))
		return ;;
	--write)
		COMPREPLY=($(compgen -W "last" -- "$cur"))
		return ;;
	--points)
		# the crash points of check and states
		if [ "$cmd" = check ] || [ "$cmd" = states ]; then
			COMPREPLY=($(compgen -W "all sync marks every" -- "$cur"))
			return
		fi ;;
	--json | --junit)
		# check writes a report to FILE; trace, states, ctl: a switch
		if [ "$cmd" = check ]; then
			COMPREPLY=($(compgen -f -- "$cur"))
			return
		fi ;;
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
	--trace | --log | --faults | --fifo | --fifo-completed | --file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--setup | --check | --check-server | --name | --state | --point | \
		--seed | --shard | --jobs | -j | --timeout | --check-timeout | \
		--max-states | --max-time | --max-prefixes | --max-writes | \
		--random | --sector | --type | --pid | --writes | --parts | \
		--part-bytes | --persist)
		return ;; # a value of the user's: nothing to offer
	esac
	if [ "$cmd" = ctl ]; then
		# crashfs ctl MNT VERB ...
		if [ "$cword" -eq 2 ]; then
			COMPREPLY=($(compgen -d -- "$cur"))
		elif [ "$cword" -eq 3 ]; then
			COMPREPLY=($(compgen -W "$(_crashfs_ctl "$bin")" \
				-- "$cur"))
		elif [ "${words[3]}" = faults ]; then
			COMPREPLY=($(compgen -W "clear" -- "$cur"))
		else
			COMPREPLY=($(compgen -W \
				"$(_crashfs_ctl "$bin" "${words[3]}")" -- "$cur"))
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
