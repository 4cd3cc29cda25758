# macvm -- build, test, fuzz, benchmark.
#
#   make            ./macvm (on macOS: with bridge.m, signed with macvm.entitlements)
#   make run        the main job: check the Mac's tools, install the latest macOS into
#                   ~/VM.bundle if missing, boot it
#   make test       the Criterion suite
#   make check      the same suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       every fuzz target for FUZZ_SECONDS each (clang + libFuzzer)
#   make bench      the benchmarks, each against the tool a user would use otherwise
#   make demo       what works on any OS, on the sample files in tests/fixtures
#   make install    into $(DESTDIR)$(PREFIX)/bin and share/man/man1
#   make mac-check BUNDLE=~/VM.bundle [RUN_SECONDS=90]   once on a new Mac: probe, boot
#                   disposable clones in each start mode it has, one table for bug reports
#   make sign-private   on a Mac set up for it (SIP off, amfi_get_out_of_my_way=1; README,
#                   Debugging the guest): ./macvm re-signed with com.apple.private.virtualization
#   make clean      removes ./macvm and build/

CC      ?= cc
CFLAGS  ?= -O2 -g
# WERROR=1 turns warnings into errors in the build of ./macvm.  .ci/run sets it;
# a user's `make` leaves it off, so a newer compiler's new warning never stops
# the first build.  The test, sanitizer and fuzz builds always use -Werror.
WERROR  ?= 0
WARN     = -std=c11 -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror)
STRICT   = -std=c11 -Wall -Wextra -Werror
LDLIBS   = -lz
PREFIX  ?= /usr/local
FUZZ_SECONDS ?= 20
SANITIZE = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

UNAME := $(shell uname -s)

ifeq ($(UNAME),Darwin)
ARCH       = -arch arm64 -mmacosx-version-min=12.0
FRAMEWORKS = -framework Virtualization -framework AppKit -framework Foundation -framework Security
macvm: macvm.c bridge.m bridge.h macvm.entitlements
	$(CC) $(ARCH) $(WARN) $(CFLAGS) -o $@ macvm.c bridge.m -fobjc-arc $(FRAMEWORKS) $(LDLIBS)
	codesign -s - -f --entitlements macvm.entitlements $@

# Only for hosts with SIP disabled and boot-args amfi_get_out_of_my_way=1 (see README).
sign-private: macvm
	@mkdir -p build
	awk '{ print } /<dict>/ { print "\t<key>com.apple.private.virtualization</key>"; print "\t<true/>" }' \
	    macvm.entitlements >build/private.entitlements
	codesign -s - -f --entitlements build/private.entitlements macvm
else
macvm: macvm.c bridge.h
	$(CC) $(WARN) $(CFLAGS) -o $@ macvm.c $(LDLIBS)

sign-private:
	@echo "make sign-private: only on macOS" >&2; exit 69
endif

# The main job.  On a Mac it first checks what the build needs, one line and
# its fix for each (`macvm doctor` shows the same checks first); off a Mac it
# says what works here instead.
ifeq ($(UNAME),Darwin)
run: mac-preflight
	@$(MAKE) --no-print-directory macvm
	@test -d "$$HOME/VM.bundle" || ./macvm install --latest
	./macvm run

mac-preflight:
	@[ "$$(sysctl -n hw.optional.arm64 2>/dev/null)" = 1 ] || \
	  { echo "make run: this Mac has an Intel processor; macOS VMs need a Mac with Apple Silicon" >&2; exit 69; }
	@v=$$(sw_vers -productVersion); [ "$${v%%.*}" -ge 12 ] || \
	  { echo "make run: this Mac runs macOS $$v; macvm needs macOS 12 or later: update macOS" >&2; exit 69; }
	@xcode-select -p >/dev/null 2>&1 || \
	  { echo "make run: no Command Line Tools (the compiler); fix: xcode-select --install" >&2; exit 69; }
	@command -v codesign >/dev/null || \
	  { echo "make run: codesign not found; fix: xcode-select --install" >&2; exit 69; }
else
run: macvm
	@echo "make run: macOS VMs need a Mac with Apple Silicon (macOS 12 or later); 'make demo' shows what works here" >&2
	@exit 69
endif

# The first run on a new Mac: probe it, boot disposable clones of BUNDLE in each
# start mode it has, and print a table for bug reports (off a Mac: the plan, exit 69).
BUNDLE  ?= $(HOME)/VM.bundle
RUN_SECONDS ?= 90
ifeq ($(UNAME),Darwin)
mac-check: mac-preflight
	@$(MAKE) --no-print-directory macvm
	@sh tests/mac-check.sh "$(BUNDLE)" "$(RUN_SECONDS)"
else
mac-check:
	@sh tests/mac-check.sh "$(BUNDLE)" "$(RUN_SECONDS)"
endif

TESTS = $(wildcard tests/test_*.c) tests/helpers.c tests/unit.c

# Criterion: installed when missing (apt-get on Debian/Ubuntu, Homebrew on macOS).
ifeq ($(UNAME),Darwin)
BREW_PREFIX := $(shell brew --prefix 2>/dev/null)
TEST_FLAGS = $(if $(BREW_PREFIX),-I$(BREW_PREFIX)/include -L$(BREW_PREFIX)/lib)
endif
SUDO = $(if $(filter 0,$(shell id -u)),,sudo)

criterion:
	@printf '#include <criterion/criterion.h>\n' | $(CC) $(TEST_FLAGS) -E -x c - >/dev/null 2>&1 || \
	{ echo "make: installing Criterion"; \
	  if command -v apt-get >/dev/null; then $(SUDO) apt-get update -qq && \
	     DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libcriterion-dev; \
	  elif command -v brew >/dev/null; then brew install criterion; \
	  else echo "make: install Criterion (https://github.com/Snaipe/Criterion) and retry" >&2; exit 69; fi; }

# The unit binary includes macvm.c itself, so tests reach every static function.
build/unit: $(TESTS) macvm.c bridge.h | criterion
	@mkdir -p build
	$(CC) $(STRICT) -Wno-unused-function $(CFLAGS) $(TEST_FLAGS) -o $@ tests/unit.c $(LDLIBS) -lcriterion

# macvm linked with the fake bridge, which records what it was handed.
build/macvm-fake: macvm.c bridge.h tests/fake_bridge.c
	@mkdir -p build
	$(CC) $(STRICT) $(CFLAGS) -DMACVM_EXTERNAL_BRIDGE -o $@ macvm.c tests/fake_bridge.c $(LDLIBS)

test: macvm build/macvm-fake build/unit
	sh tests/check_docs.sh
	sh tests/check_werror.sh
	MACVM_BIN=./macvm MACVM_FAKE_BIN=build/macvm-fake build/unit

check: criterion
	@mkdir -p build/asan
	$(CC) $(STRICT) -O1 -g $(SANITIZE) -o build/asan/macvm macvm.c $(LDLIBS)
	$(CC) $(STRICT) -O1 -g $(SANITIZE) -DMACVM_EXTERNAL_BRIDGE -o build/asan/macvm-fake macvm.c tests/fake_bridge.c $(LDLIBS)
	$(CC) $(STRICT) -Wno-unused-function -O1 -g $(SANITIZE) $(TEST_FLAGS) -o build/asan/unit tests/unit.c $(LDLIBS) -lcriterion
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 \
	MACVM_BIN=build/asan/macvm MACVM_FAKE_BIN=build/asan/macvm-fake build/asan/unit

# Each target starts from the fixtures of its format and keeps what it finds in build/fuzz.
SEEDS_zip   = tests/fixtures/ipsw tests/fixtures/hostile tests/fixtures/conformance/zip
SEEDS_plist = tests/fixtures/plist tests/fixtures/hostile tests/fixtures/bundles/configured \
              tests/fixtures/conformance/plist
SEEDS_json  = tests/fixtures/logs
SEEDS_redact = tests/fixtures/redact

.PRECIOUS: build/fuzz/fuzz_%

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c macvm.c
	@mkdir -p build/fuzz
	clang $(STRICT) -Wno-unused-function -g -O1 -fsanitize=fuzzer,address,undefined -o $@ $< $(LDLIBS)

fuzz: fuzz-zip fuzz-plist fuzz-json fuzz-redact
	@echo "fuzz: no crash"

fuzz-%: build/fuzz/fuzz_%
	@mkdir -p build/fuzz/corpus-$*
	@echo "fuzz: $* for $(FUZZ_SECONDS)s"
	@$< -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 build/fuzz/corpus-$* $(SEEDS_$*) \
	    >build/fuzz/$*.log 2>&1 || { tail -40 build/fuzz/$*.log; exit 1; }

bench: macvm
	sh tests/bench/run.sh

demo: macvm
	sh tests/demo.sh

install: macvm
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 macvm $(DESTDIR)$(PREFIX)/bin/macvm
	install -m 644 macvm.1 $(DESTDIR)$(PREFIX)/share/man/man1/macvm.1

clean:
	rm -rf macvm build

.PHONY: run mac-preflight mac-check test check fuzz fuzz-% bench demo install clean sign-private criterion
