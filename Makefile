# SPDX-License-Identifier: MIT
# crashfs: one flat, non-recursive Makefile.  See README.md.
#
#   make                 build build/crashfs
#   make test            unit tests (ASan+UBSan), integration tests, scenarios
#   make bench           benchmarks against native and passthrough_ll
#   make install         PREFIX=/usr/local DESTDIR=
#   make deps            install the Debian packages the build needs
#   make format-check    clang-format check
#   DEVELOPER=1          adds -Werror

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := fuse3 libxxhash jansson inih libseccomp libxml-2.0
DEB_PACKAGES := build-essential pkg-config fuse3 libfuse3-dev libcmocka-dev \
	libseccomp-dev \
	libxxhash-dev libjansson-dev libinih-dev python3 attr sqlite3 fio \
	clang-format libxml2-dev python3-jsonschema python3-junitparser \
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
# parsing, output).  The unit tests link the library and the front ends
# of the offline subcommands (check, replay, states, trace).
LIB_SRC := $(wildcard core/*.c harness/*.c)
FS_SRC := $(wildcard fusefs/*.c)
CLI_SRC := $(wildcard cli/*.c)
CLI_OFFLINE_SRC := cli/cmd_check.c cli/cmd_replay.c cli/cmd_states.c \
	cli/cmd_trace.c
OBJ := $(patsubst %.c,build/obj/%.o,$(LIB_SRC) $(FS_SRC) $(CLI_SRC))
SAN_OBJ := $(patsubst %.c,build/san/%.o,$(LIB_SRC) $(CLI_OFFLINE_SRC))
UNIT_BIN := $(patsubst tests/unit/%.c,build/tests/%,\
	$(wildcard tests/unit/test_*.c))
TOOL_BIN := $(patsubst tests/tools/%.c,build/tools/%,\
	$(wildcard tests/tools/*.c))

.SECONDARY:
.PHONY: all test meta unit integration scenarios apps test-apps bench install clean format format-check deps
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

test: meta unit integration scenarios apps

# Checks on the project's own files (licence lines ...).
meta:
	sh tests/meta/spdx.sh

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

bench: all
	bench/run.sh

install: build/crashfs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 build/crashfs $(DESTDIR)$(PREFIX)/bin/crashfs
	install -m 644 docs/crashfs.1 $(DESTDIR)$(PREFIX)/share/man/man1/crashfs.1

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
	tests/unit/*.c tests/tools/*.c)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf build

-include $(OBJ:.o=.d) $(SAN_OBJ:.o=.d) $(UNIT_BIN:=.d)
