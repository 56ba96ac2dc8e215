# connectorfs: see README.md. `make help` lists the targets.

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
DESTDIR   ?=

CC        ?= cc
PKG_CONFIG ?= pkg-config
WERROR    ?= -Werror
OPT       ?= -O2 -g
CSTD      := -std=c11
WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wwrite-strings -Wformat=2 -Wno-format-nonliteral $(WERROR)
CPPFLAGS  += -D_DEFAULT_SOURCE -DCFS_VERSION='"$(VERSION)"' -Ilib

ifeq ($(SANITIZE),1)
OPT       := -O1 -g -fno-omit-frame-pointer
SANFLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined
BUILD     := build/san
else ifeq ($(SANITIZE),thread)
OPT       := -O1 -g -fno-omit-frame-pointer
SANFLAGS  := -fsanitize=thread
BUILD     := build/tsan
else
SANFLAGS  :=
BUILD     := build/default
endif

# The libraries are found through pkg-config when the Makefile is read. Building never
# installs anything: a rule that is about to run checks what it needs with
# $(call require,MODULES) and, when something is missing, stops with one line naming the
# Debian package (as meson's dependency() does). `make deps` installs what is missing;
# `make demo`, `make check`, `make bench` and `make soak` run it first and then build in a
# second make, which reads these flags afresh.
CURL_CFLAGS  := $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)
CURL_LIBS    := $(shell $(PKG_CONFIG) --libs libcurl libcrypto 2>/dev/null)
JSON_CFLAGS  := $(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)
JSON_LIBS    := $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null)
FUSE_CFLAGS  := $(shell $(PKG_CONFIG) --cflags fuse3 2>/dev/null)
FUSE_LIBS    := $(shell $(PKG_CONFIG) --libs fuse3 2>/dev/null)
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

# The Debian package that provides each pkg-config module.
DEB_fuse3     := libfuse3-dev
DEB_libcurl   := libcurl4-openssl-dev
DEB_libcrypto := libssl-dev
DEB_json-c    := libjson-c-dev
DEB_check     := check

HAVE_CC         := $(shell command -v $(firstword $(CC)) 2>/dev/null)
HAVE_PKG_CONFIG := $(shell command -v $(PKG_CONFIG) 2>/dev/null)
MISSING_MODULES := $(if $(HAVE_PKG_CONFIG),$(foreach m,fuse3 libcurl libcrypto json-c check,\
                   $(if $(shell $(PKG_CONFIG) --exists $(m) && echo y),,$(m))))

# $(call cfs_missing,PACKAGES,WHAT,HOW): stop make with one line.
comma := ,
cfs_missing = $(error connectorfs: missing $(strip $(1)) ($(strip $(2)) not found); run '$(3)')

# $(call require,MODULES): nothing when the compiler, pkg-config and the pkg-config
# MODULES are there, else one line naming the missing Debian packages. It sits in the
# recipes, so only a rule that is about to run checks, and only for what it uses.
req_mods = $(filter $(1),$(MISSING_MODULES))
req_debs = $(if $(HAVE_CC),,build-essential) $(if $(HAVE_PKG_CONFIG),,pkg-config) \
           $(foreach m,$(req_mods),$(DEB_$(m)))
req_what = $(if $(HAVE_CC),,$(firstword $(CC))$(if $(HAVE_PKG_CONFIG),$(if $(req_mods),$(comma)),$(comma))) \
           $(if $(HAVE_PKG_CONFIG),$(if $(req_mods),pkg-config $(req_mods)),$(PKG_CONFIG))
require  = $(if $(strip $(req_debs)),$(call cfs_missing,$(req_debs),$(req_what),make deps))

# V=1 shows every command.
Q := $(if $(filter 1,$(V)),,@)

CFLAGS_COMMON := $(CSTD) $(OPT) $(WARN) $(SANFLAGS) -pthread
LDFLAGS_COMMON := $(SANFLAGS) -pthread

LIB_SRC  := $(wildcard lib/*.c)
FS_SRC   := $(wildcard fs/*.c)
UNIT_SRC := $(wildcard tests/unit/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
FS_OBJ   := $(FS_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)

LIBA     := $(BUILD)/libconnectorfs.a
BIN      := fs/connectorfs
BUILD_BIN := $(BUILD)/connectorfs
UNIT_BIN := $(BUILD)/unit-tests

.PHONY: all deps check check-unit check-tsan check-integration check-fresh check-systemd demo \
        demo-stop bench soak install uninstall clean help

# A sanitized build never replaces fs/connectorfs: it stays under build/san or build/tsan.
ifneq ($(SANITIZE),)
all: $(BUILD_BIN)
else
all: $(BIN)
endif

help:
	@echo "make              build fs/connectorfs"
	@echo "make check        install missing packages, run unit + integration tests"
	@echo "make check SANITIZE=1   the same with ASan+UBSan builds"
	@echo "make check-unit   Check unit tests of lib/ only"
	@echo "make check-tsan   the unit tests under ThreadSanitizer"
	@echo "make check-integration  mount the real binary against the emulator"
	@echo "make check-fresh  the README's make demo and make check, each on a fresh Debian 12 root"
	@echo "                  (debootstrap, cached in /tmp; needs root; CHECK_FRESH=demo|check)"
	@echo "make check-systemd  the unit under a real systemd (nspawn): crashes, reload, stop, restart"
	@echo "                  under load (needs root; not part of make check)"
	@echo "make demo         build, start the emulator, mount ./mnt, show a tour"
	@echo "make demo-stop    unmount ./mnt and stop the demo's emulator"
	@echo "make bench        speed and memory, side by side with tmpfs and curl|jq"
	@echo "make soak         rotation soak (SOAK_SECONDS=60): every read checked"
	@echo "make fuzz         libFuzzer on the decoder and name/URL checks (FUZZ_SECONDS=60 each)"
	@echo "make install      binary, man page, systemd unit (PREFIX, DESTDIR); make uninstall"
	@echo "make deps         install the missing Debian packages (scripts/install-deps.sh)"
	@echo "make clean        remove build output"

# Installs packages only when one is missing (no network otherwise).
deps:
	@sh scripts/install-deps.sh

# lib/ is compiled without the FUSE flags: a FUSE include there cannot build.
$(BUILD)/lib/%.o: lib/%.c lib/*.h
	$(call require,libcurl libcrypto json-c)@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(CURL_CFLAGS) $(JSON_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/fs/%.o: fs/%.c fs/*.h lib/*.h
	$(call require,fuse3)@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(FUSE_CFLAGS) -DFUSE_USE_VERSION=314 $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%.o: tests/unit/%.c tests/unit/*.h lib/*.h
	$(call require,check json-c)@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(CHECK_CFLAGS) $(JSON_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD_BIN): $(FS_OBJ) $(LIBA)
	$(call require,fuse3 libcurl libcrypto json-c)@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_COMMON) $(LDFLAGS) -o $@ $(FS_OBJ) $(LIBA) $(FUSE_LIBS) \
	    $(CURL_LIBS) $(JSON_LIBS)

$(BIN): $(BUILD_BIN)
	$(Q)cp $< $@

$(UNIT_BIN): $(UNIT_OBJ) $(LIBA)
	$(call require,check libcurl libcrypto json-c)@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_COMMON) $(LDFLAGS) -o $@ $(UNIT_OBJ) $(LIBA) $(CHECK_LIBS) \
	    $(CURL_LIBS) $(JSON_LIBS)

# check, demo, soak and bench install what is missing (deps), then build in a second
# make, whose pkg-config flags are read after the installation.
# The unit run's output is kept so that the closing line counts both suites;
# a failing unit run still lets the integration tests run, and fails the check.
check: deps
	@$(MAKE) --no-print-directory $(UNIT_BIN) $(BUILD_BIN) SANITIZE=$(SANITIZE)
	@CK_DEFAULT_TIMEOUT=30 $(UNIT_BIN) 2>&1 | tee $(BUILD)/unit.log; \
	CFS_SANITIZE=$(SANITIZE) python3 tests/integration/run.py --binary $(BUILD_BIN) \
	    --unit-log $(BUILD)/unit.log

check-unit: $(UNIT_BIN)
	CK_DEFAULT_TIMEOUT=30 $(UNIT_BIN)

# The cache and refresh code under ThreadSanitizer (the unit tests run many
# threads through single-flight); halt_on_error makes any race fail the run.
check-tsan:
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	    $(MAKE) --no-print-directory check-unit SANITIZE=thread

check-integration: $(BUILD_BIN)
	CFS_SANITIZE=$(SANITIZE) python3 tests/integration/run.py --binary $(BUILD_BIN)

# The README's first commands on fresh Debian 12 roots, from this repository's HEAD.
check-fresh:
	@sh scripts/check-fresh.sh $(CHECK_FRESH)

# The installed unit under a real systemd 252 (Debian 12 booted in systemd-nspawn): start, kill -9
# of the server and of the main process, reload, stop and restart, with four readers all along.
check-systemd: $(BIN)
	@bash scripts/check-systemd.sh

demo: deps
	@$(MAKE) --no-print-directory $(BIN)
	@sh scripts/demo.sh start

demo-stop:
	@sh scripts/demo.sh stop

soak: deps
	@$(MAKE) --no-print-directory $(BIN)
	python3 scripts/soak.py --seconds $(or $(SOAK_SECONDS),60)

bench: deps
	@$(MAKE) --no-print-directory $(BIN)
	@python3 scripts/bench.py

UNITDIR   ?= $(PREFIX)/lib/systemd/system

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/connectorfs
	install -m 0644 fs/connectorfs.1 $(DESTDIR)$(MANDIR)/man1/connectorfs.1
	sed 's|@BINDIR@|$(BINDIR)|g' scripts/connectorfs.service > $(DESTDIR)$(UNITDIR)/connectorfs.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/connectorfs.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/connectorfs $(DESTDIR)$(MANDIR)/man1/connectorfs.1 \
	    $(DESTDIR)$(UNITDIR)/connectorfs.service

clean:
	rm -rf build $(BIN)

# make fuzz: libFuzzer targets under tests/fuzz/ (clang, installed on demand).
include fuzz.mk
