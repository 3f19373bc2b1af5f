# SPDX-License-Identifier: MIT
# crashfs: one flat, non-recursive Makefile.  See README.md.
#
#   make                 build build/crashfs
#   make test            unit tests (ASan+UBSan), integration tests, scenarios,
#                        the fuzz corpus, a bounded pjdfstest
#   make fuzz            libFuzzer on the trace reader/printer/model/explorer
#                        (FUZZ_SECONDS=60)
#   make bench           benchmarks against native and passthrough_ll
#   make install         prefix=/usr/local DESTDIR= (GNU directory names)
#   make uninstall       removes what install installed
#   make deps            install the Debian packages the build needs
#   make format-check    clang-format check
#   make hardened        -Werror build with Debian's hardening flags
#   DEVELOPER=1          adds -Werror

VERSION := 0.1.0
# Installation directories, as GNU names them; PREFIX is the old name of
# prefix.  DESTDIR is prepended to every one of them (staged installs).
PREFIX ?= /usr/local
prefix ?= $(PREFIX)
exec_prefix ?= $(prefix)
bindir ?= $(exec_prefix)/bin
datarootdir ?= $(prefix)/share
datadir ?= $(datarootdir)
mandir ?= $(datarootdir)/man
man1dir ?= $(mandir)/man1
docdir ?= $(datarootdir)/doc/crashfs
bashcompdir ?= $(datarootdir)/bash-completion/completions
DESTDIR ?=
INSTALL ?= install
CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := fuse3 libxxhash jansson inih libseccomp libxml-2.0
DEB_PACKAGES := build-essential pkg-config fuse3 libfuse3-dev libcmocka-dev \
	libseccomp-dev \
	libxxhash-dev libjansson-dev libinih-dev python3 attr sqlite3 fio \
	clang-format groff-base libxml2-dev python3-jsonschema \
	python3-junitparser clang libclang-rt-dev autoconf automake \
	rsync git vim redis-server python3-lmdb python3-gdbm

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wno-sign-compare -Wno-missing-field-initializers
ifeq ($(DEVELOPER),1)
WARN += -Werror
endif
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS))
ALL_CPPFLAGS = -I. -D_GNU_SOURCE -DCRASHFS_VERSION='"$(VERSION)"' $(CPPFLAGS)
ALL_CFLAGS = -std=gnu11 $(WARN) $(PKG_CFLAGS) -MMD -MP -pthread $(CFLAGS)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer

# core/ and harness/ make the library shared by everything; fusefs/ is
# the daemon; cli/ holds main() and the subcommands' front ends (argument
# parsing, output; cli/cmd.c what they share).  The unit tests link the
# library and the front ends of the offline subcommands (check, replay,
# states, trace).
LIB_SRC := $(wildcard core/*.c harness/*.c)
FS_SRC := $(wildcard fusefs/*.c)
CLI_SRC := $(wildcard cli/*.c)
CLI_OFFLINE_SRC := cli/cmd.c cli/cmd_check.c cli/cmd_replay.c \
	cli/cmd_states.c cli/cmd_trace.c
OBJ := $(patsubst %.c,build/obj/%.o,$(LIB_SRC) $(FS_SRC) $(CLI_SRC))
SAN_OBJ := $(patsubst %.c,build/san/%.o,$(LIB_SRC) $(CLI_OFFLINE_SRC))
UNIT_BIN := $(patsubst tests/unit/%.c,build/tests/%,\
	$(wildcard tests/unit/test_*.c))
TOOL_BIN := $(patsubst tests/tools/%.c,build/tools/%,\
	$(wildcard tests/tools/*.c))

.SECONDARY:
.PHONY: all test meta unit integration scenarios apps test-apps fuzz-corpus \
	fuzz fuzz-seeds pjdfstest bench hardened install uninstall clean format \
	format-check deps
all: build/crashfs $(TOOL_BIN)

build/crashfs: $(OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $(OBJ) $(PKG_LIBS) $(LDFLAGS)

build/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

build/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(SAN_FLAGS) -O1 -c -o $@ $<

build/tests/%: tests/unit/%.c $(SAN_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(SAN_FLAGS) -O1 -o $@ $< \
		$(SAN_OBJ) $(PKG_LIBS) $$($(PKG_CONFIG) --libs cmocka) $(LDFLAGS)

build/tools/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS)

test: meta unit integration scenarios fuzz-corpus pjdfstest apps

# Checks on the project's own files (licence lines, every --help option
# in the man page, the CI workflow, every command of README.md and
# docs/*.md run as written), that the suites that mount skip cleanly
# without /dev/fuse, and a staged install.
meta: all
	sh tests/meta/spdx.sh
	sh tests/meta/nofuse.sh
	sh tests/meta/install.sh
	python3 tests/meta/manpage.py
	python3 tests/meta/workflow.py
	python3 tests/meta/docs.py

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; \
		ASAN_OPTIONS=detect_leaks=1 $$t; done

integration: all
	python3 tests/integration/run.py

# Bad input to crashfs check, then every shipped scenario, which must come
# out with its expected verdict, then the explanations of some of them,
# then per-state checkers and checker servers, which must give the same
# verdicts on every shipped scenario.
scenarios: all
	sh tests/scenarios/bad-input.sh
	sh tests/scenarios/run.sh
	sh tests/scenarios/explain.sh
	python3 tests/scenarios/server-equiv.py

# The corpus of real programs (scenarios/apps, docs/apps.md): the quick
# files in `make test`, every file and Redis on a live mount in
# `make test-apps`; a scenario whose program is missing is skipped.
apps: all
	sh tests/apps/run.sh

test-apps: all
	sh tests/apps/run.sh --all

# The fuzz target (tests/fuzz/fuzz_trace.c) over the corpus, once per
# input, under ASan+UBSan, without libFuzzer: every input that once made
# it fail is in tests/fuzz/corpus/ (docs/testing.md).
FUZZ_SRC := tests/fuzz/fuzz_trace.c
build/fuzz/trace-replay: tests/fuzz/replay.c $(FUZZ_SRC) $(SAN_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(SAN_FLAGS) -O1 -o $@ \
		tests/fuzz/replay.c $(FUZZ_SRC) $(SAN_OBJ) $(PKG_LIBS) $(LDFLAGS)

# The seed corpus, written again from source (then commit it).
build/fuzz/mkcorpus: tests/fuzz/mkcorpus.c $(patsubst %.c,build/obj/%.o,$(LIB_SRC))
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $^ $(PKG_LIBS) $(LDFLAGS)

fuzz-seeds: build/fuzz/mkcorpus
	build/fuzz/mkcorpus tests/fuzz/corpus

fuzz-corpus: build/fuzz/trace-replay
	ASAN_OPTIONS=detect_leaks=1 build/fuzz/trace-replay tests/fuzz/corpus

# libFuzzer: the library built again with clang and coverage.  New inputs
# go to build/fuzz/corpus (the seed corpus in the repository is read, not
# written), findings to build/fuzz/crash-*.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1 -g
FUZZ_OBJ := $(patsubst %.c,build/fuzzobj/%.o,$(LIB_SRC) $(FUZZ_SRC))
build/fuzzobj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(ALL_CPPFLAGS) -std=gnu11 $(PKG_CFLAGS) -MMD -MP -pthread \
		$(FUZZ_FLAGS) -c -o $@ $<

build/fuzz/trace-fuzz: $(FUZZ_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $(FUZZ_OBJ) \
		$(PKG_LIBS) $(LDFLAGS)

fuzz: build/fuzz/trace-fuzz
	@mkdir -p build/fuzz/corpus
	build/fuzz/trace-fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-rss_limit_mb=4096 -artifact_prefix=build/fuzz/ \
		build/fuzz/corpus tests/fuzz/corpus

# pjdfstest (POSIX conformance) on a crashfs mount with -o allow_other,
# a bounded subset; PJDFSTEST_FULL=1 runs every test directory.
pjdfstest: all
	sh tests/pjdfstest/run.sh

bench: all
	bench/run.sh

# The build Debian's packaging makes: its hardening flags (FORTIFY_SOURCE
# turns unchecked results of many calls into warnings) with -Werror, in a
# copy of the tree under build/hardened; CI runs it (.ci/run).
HARDENED_FLAGS = CFLAGS="$$(dpkg-buildflags --get CFLAGS)" \
	CPPFLAGS="$$(dpkg-buildflags --get CPPFLAGS)" \
	LDFLAGS="$$(dpkg-buildflags --get LDFLAGS)"
hardened:
	rm -rf build/hardened && mkdir -p build/hardened
	tar -c --exclude=./build --exclude=./.git . | tar -x -C build/hardened
	$(MAKE) -C build/hardened DEVELOPER=1 $(HARDENED_FLAGS) all \
		$(UNIT_BIN)

# What 'make install' puts where: the binary, the man page, the docs
# (README and LICENSE, docs/*.md in docs/ beside them, so the README's
# links work), the shipped scenarios with the programs
# they run (found beside each .ini through CRASHFS_SCENARIO_DIR, so
# 'crashfs check $(datadir)/crashfs/scenarios/atomic-write.ini' works)
# and the bash completion.  'make uninstall' removes exactly these.
DOC_FILES := README.md LICENSE
DOC_PAGES := $(wildcard docs/*.md) docs/report.schema.json
DOC_EXAMPLES := $(wildcard docs/examples/*)
SCN_DATA := $(wildcard scenarios/*.ini scenarios/py/*.py scenarios/c/*.c \
	scenarios/sh/*.sh scenarios/sqlite/*.sh scenarios/sqlite/*.py)
SCN_EXEC := scenarios/c/run-c
SCN_DIRS := $(sort $(dir $(SCN_DATA) $(SCN_EXEC)))
scndir = $(datadir)/crashfs/scenarios

install: build/crashfs
	$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(man1dir) \
		$(DESTDIR)$(docdir)/docs/examples $(DESTDIR)$(bashcompdir) \
		$(patsubst scenarios/%,$(DESTDIR)$(scndir)/%,$(SCN_DIRS))
	$(INSTALL) -m 755 build/crashfs $(DESTDIR)$(bindir)/crashfs
	$(INSTALL) -m 644 docs/crashfs.1 $(DESTDIR)$(man1dir)/crashfs.1
	$(INSTALL) -m 644 $(DOC_FILES) $(DESTDIR)$(docdir)/
	$(INSTALL) -m 644 $(DOC_PAGES) $(DESTDIR)$(docdir)/docs/
	$(INSTALL) -m 644 $(DOC_EXAMPLES) $(DESTDIR)$(docdir)/docs/examples/
	$(INSTALL) -m 644 completion/crashfs.bash \
		$(DESTDIR)$(bashcompdir)/crashfs
	set -e; for f in $(SCN_DATA); do \
		$(INSTALL) -m 644 $$f $(DESTDIR)$(scndir)/$${f#scenarios/}; \
	done
	set -e; for f in $(SCN_EXEC); do \
		$(INSTALL) -m 755 $$f $(DESTDIR)$(scndir)/$${f#scenarios/}; \
	done

uninstall:
	rm -f $(DESTDIR)$(bindir)/crashfs $(DESTDIR)$(man1dir)/crashfs.1 \
		$(DESTDIR)$(bashcompdir)/crashfs \
		$(addprefix $(DESTDIR)$(docdir)/,$(DOC_FILES) $(DOC_PAGES) \
			$(DOC_EXAMPLES)) \
		$(patsubst scenarios/%,$(DESTDIR)$(scndir)/%,\
			$(SCN_DATA) $(SCN_EXEC))
	-rmdir $(patsubst scenarios/%,$(DESTDIR)$(scndir)/%,$(SCN_DIRS)) \
		$(DESTDIR)$(scndir) $(DESTDIR)$(datadir)/crashfs \
		$(DESTDIR)$(docdir)/docs/examples $(DESTDIR)$(docdir)/docs \
		$(DESTDIR)$(docdir) 2>/dev/null

deps:
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y \
			--no-install-recommends $(DEB_PACKAGES); \
	else \
		echo "run as root, or: sudo apt-get update &&" \
			"sudo apt-get install -y $(DEB_PACKAGES)"; \
	fi

FORMAT_SRC = $(wildcard core/*.[ch] harness/*.[ch] fusefs/*.[ch] cli/*.[ch] \
	tests/unit/*.c tests/tools/*.c tests/fuzz/*.c)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf build

-include $(OBJ:.o=.d) $(SAN_OBJ:.o=.d) $(UNIT_BIN:=.d) $(FUZZ_OBJ:.o=.d)
