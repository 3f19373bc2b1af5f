# SPDX-License-Identifier: MIT
# Sourced by the git scenarios' scripts: git without the machine's or the
# user's configuration, with a fixed identity.
GIT_CONFIG_NOSYSTEM=1
GIT_CONFIG_GLOBAL=/dev/null
GIT_AUTHOR_NAME=crashfs GIT_AUTHOR_EMAIL=crashfs@example.invalid
GIT_COMMITTER_NAME=crashfs GIT_COMMITTER_EMAIL=crashfs@example.invalid
export GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL GIT_AUTHOR_NAME \
	GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
