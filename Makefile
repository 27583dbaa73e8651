# rootcrypt: static binary, unit tests, integration tests.
# `make deps` (root) installs Debian packages and builds static libcurl into
# the cache; everything else finds it there.

VERSION := 0.1.0
CACHE ?= $(or $(ROOTCRYPT_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rootcrypt)
CURL_PREFIX ?= $(CACHE)/curl
CC ?= cc

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CPPFLAGS := -D_GNU_SOURCE -DROOTCRYPT_VERSION='"$(VERSION)"' -I$(CURL_PREFIX)/include
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 $(WARN) -pthread
LIBS := $(CURL_PREFIX)/lib/libcurl.a -lmbedtls -lmbedx509 -lmbedcrypto -ljson-c -pthread
AR ?= ar
# src/base/harden.c wipes every heap block on free/realloc (secrets in
# libcurl's and json-c's buffers too): every link of the product's code takes
# these (harden.o is pulled in by main.c's call to harden_process).
WRAP := -Wl,--wrap=free -Wl,--wrap=realloc

# src/ is one folder per layer (ARCHITECTURE.md), top to bottom, which is
# also the link order of the archives. A layer is compiled with only its own
# folder and the folders of the layers it may use (BELOW_<layer>) on the
# include path; a header of any other layer resolves to a stub in
# $(B)/layer-rule/<layer>/ whose #error names the rule.
LAYERS := cli boot azure engine luks2 disk crypto base
BELOW_cli := boot azure engine luks2 disk crypto base
BELOW_boot := azure engine luks2 disk crypto base
BELOW_azure := crypto base
BELOW_engine := luks2 disk crypto base
BELOW_luks2 := crypto base
BELOW_disk := base
BELOW_crypto := base
BELOW_base :=

HDRS := $(wildcard src/*/*.h)
ALL_INC := $(foreach l,$(LAYERS),-Isrc/$(l))
TEST_SRCS := $(wildcard tests/unit/*.c)

B := build
ASAN := build-asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
RULE := $(B)/layer-rule

# Test hooks (src/base/test_hooks.h): the release `rootcrypt` is built
# without them; the test build ($(B)/rootcrypt-test, and its ASan twin) with
# -DROOTCRYPT_TEST_HOOKS, for the integration scripts that need them. The
# unit tests link the release archives: they test the code that ships.
# Four variants of every layer's archive, each in its own folder:
#   rel: $(B)        hooks: $(B)/hooks
#   asan: $(ASAN)    asanhooks: $(ASAN)/hooks
TEST_HOOKS := -DROOTCRYPT_TEST_HOOKS
VARIANTS := rel hooks asan asanhooks
DIR_rel := $(B)
DIR_hooks := $(B)/hooks
DIR_asan := $(ASAN)
DIR_asanhooks := $(ASAN)/hooks
FLAGS_rel :=
FLAGS_hooks := $(TEST_HOOKS)
FLAGS_asan := $(SAN_FLAGS)
FLAGS_asanhooks := $(SAN_FLAGS) $(TEST_HOOKS)

all: rootcrypt

# One archive per layer and variant. main.c is linked as an object, the
# archives after it.
define LAYER_template
$(1)_SRCS := $$(filter-out src/cli/main.c,$$(wildcard src/$(1)/*.c))
$(1)_INC := $$(foreach l,$(1) $$(BELOW_$(1)),-Isrc/$$(l)) -idirafter $$(RULE)/$(1)
endef
$(foreach l,$(LAYERS),$(eval $(call LAYER_template,$(l))))

# $(1) layer, $(2) variant
define VARIANT_template
$$(DIR_$(2))/$(1)/%.o: src/$(1)/%.c $$(HDRS) $$(RULE)/$(1)/.stamp | $$(CURL_PREFIX)/lib/libcurl.a
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) $$($(1)_INC) $$(CFLAGS) $$(FLAGS_$(2)) -c -o $$@ $$<

$$(DIR_$(2))/lib$(1).a: $$($(1)_SRCS:src/%.c=$$(DIR_$(2))/%.o)
	rm -f $$@ && $$(AR) rcs $$@ $$^
endef
$(foreach v,$(VARIANTS),$(foreach l,$(LAYERS),$(eval $(call VARIANT_template,$(l),$(v)))))

# The stubs: for layer L, one header per header of every layer L may not use.
$(RULE)/%/.stamp: $(HDRS) Makefile
	@rm -rf $(@D) && mkdir -p $(@D)
	@set -e; for h in $(HDRS); do \
		l=$${h#src/}; l=$${l%%/*}; n=$${h##*/}; \
		case " $* $(BELOW_$*) " in *" $$l "*) continue ;; esac; \
		printf '#error "layer rule: $*/ may not include %s/%s (a layer sees only its own folder and the layers below it; see ARCHITECTURE.md)"\n' \
			"$$l" "$$n" >$(@D)/$$n; \
	done; touch $@
.PRECIOUS: $(RULE)/%/.stamp

archives = $(foreach l,$(LAYERS),$(DIR_$(1))/lib$(l).a)

$(B)/unit/%.o: tests/unit/%.c $(HDRS) $(wildcard tests/unit/*.h)
	@mkdir -p $(B)/unit
	$(CC) $(CPPFLAGS) $(ALL_INC) -Itests/unit $(CFLAGS) -c -o $@ $<

rootcrypt: $(B)/cli/main.o $(call archives,rel)
	$(CC) -static $(CFLAGS) $(WRAP) -o $@ $^ $(LIBS)

$(B)/rootcrypt-test: $(B)/hooks/cli/main.o $(call archives,hooks)
	$(CC) -static $(CFLAGS) $(WRAP) -o $@ $^ $(LIBS)

$(B)/unit-tests: $(TEST_SRCS:tests/unit/%.c=$(B)/unit/%.o) $(call archives,rel)
	$(CC) -static $(CFLAGS) $(WRAP) -o $@ $^ $(LIBS)

$(ASAN)/unit/%.o: tests/unit/%.c $(HDRS) $(wildcard tests/unit/*.h)
	@mkdir -p $(ASAN)/unit
	$(CC) $(CPPFLAGS) $(ALL_INC) -Itests/unit $(CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(ASAN)/unit-tests: $(TEST_SRCS:tests/unit/%.c=$(ASAN)/unit/%.o) $(call archives,asan)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(WRAP) -o $@ $^ $(LIBS)

$(ASAN)/rootcrypt: $(ASAN)/cli/main.o $(call archives,asan)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(WRAP) -o $@ $^ $(LIBS)

$(ASAN)/rootcrypt-test: $(ASAN)/hooks/cli/main.o $(call archives,asanhooks)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(WRAP) -o $@ $^ $(LIBS)

$(CURL_PREFIX)/lib/libcurl.a:
	@echo "static libcurl missing in $(CURL_PREFIX): run 'make deps' (as root) first" >&2
	@false

deps:
	sh tests/deps.sh

unit: $(B)/unit-tests
	$(B)/unit-tests

# Unit tests, then every integration script, with one summary line.
check: rootcrypt $(B)/rootcrypt-test $(B)/unit-tests
	sh tests/run-tests.sh $(B)/unit-tests ./rootcrypt $(B)/rootcrypt-test

check-asan: $(ASAN)/unit-tests $(ASAN)/rootcrypt $(ASAN)/rootcrypt-test
	ASAN_OPTIONS=detect_leaks=1 sh tests/run-tests.sh $(ASAN)/unit-tests $(ASAN)/rootcrypt \
		$(ASAN)/rootcrypt-test

# What the README and CI run: install dependencies (idempotent, cached), then
# every test suite.
test: deps
	$(MAKE) check
	$(MAKE) qemu-firmware
	$(MAKE) qemu-test

clean:
	rm -rf $(B) $(ASAN) rootcrypt rootcrypt_*_amd64.deb

.PHONY: all deps unit check check-asan test clean

# QEMU boot tests (as root; guest artefacts are built and cached on first use).
qemu-test: rootcrypt
	bash qemu/run-tests.sh
.PHONY: qemu-test

# Firmware boots (issue 15; as root, not part of qemu-test: ~20 min under
# TCG), cloud-layout images with rootcrypt installed from the package,
# through SeaBIOS and OVMF + GRUB: L3 (separate /boot, XFS root, dracut):
# enroll on the running guest, encrypt, unlock; L1 (/boot inside the ext4
# root filling the disk, initramfs-tools, enrolled in the image tree): the
# first boot splits /boot off and encrypts, the next unlocks and runs
# update-initramfs + update-grub, the last unlocks with what they wrote.
# Online mode (issue 18; separate /boot, ext4 root with room behind it,
# enrolled with --mode online in the image tree): the system comes up with
# the conversion below 100 %, rootcrypt-online.service finishes it under a
# writer whose files verify, GRUB unlocks the result, stock cryptsetup
# decrypts it.
qemu-firmware: rootcrypt
	bash qemu/firmware-encrypt.sh
	bash qemu/firmware-split.sh
	bash qemu/online.sh
.PHONY: qemu-firmware

# What does not fit CI's hour: the firmware boots, the boot scenarios with
# those CI leaves out (RCTEST_FULL, qemu/run-tests.sh says which), the plain L1 image through both
# firmwares (GRUB alone, no rootcrypt), L1 with a power cut as each step of
# the /boot split starts (UEFI first), whose unlocked system then installs a
# second kernel package and boots it; L1 with dracut; L2 (320 MiB free behind
# the root: no shrink); online mode with power
# cuts (in the set-up, at 5 random points of the pass), with dracut, a
# 5 MB/s rate limit and a clean shutdown mid-pass, and with dracut and the
# header detached on /boot (no free space behind the root) under cuts;
# detached with the unit's key dropped mid-pass (Key Vault fallback); the
# version fence on the running system (dpkg says libcryptsetup 2.7.2).
qemu-test-full: qemu-firmware
	RCTEST_FULL=1 bash qemu/run-tests.sh
	bash qemu/firmware-boot.sh
	bash qemu/firmware-split.sh --first uefi \
		--cuts "shrink table fill fstab switch-esp switch-bios" --kernel-update
	bash qemu/firmware-split.sh --gen dracut --size-mib 1300
	bash qemu/firmware-split.sh --free-mib 320
	bash qemu/online.sh --first uefi --cuts setup --random-cuts 5
	bash qemu/online.sh --gen dracut --rate 5 --poweroff-at 40
	bash qemu/online.sh --gen dracut --layout detached --cuts setup --random-cuts 3
	bash qemu/online.sh --layout detached --refetch-at 30
	bash qemu/online.sh --first uefi --fence-at 30
.PHONY: qemu-test-full

# Not a test: online mode's first boot and background pass against offline
# (power-on -> root, conversion MB/s, a writer's throughput with and without).
qemu-online-bench: rootcrypt
	bash qemu/online-bench.sh
.PHONY: qemu-online-bench

# Not a test: in-guest throughput on a throttled disk (rootcrypt vs dd via dm-crypt).
qemu-bench: rootcrypt
	bash qemu/run-tests.sh bench && bash -c '. qemu/lib.sh && cat "$$Q/bench.txt"'
.PHONY: qemu-bench

# The main job: a QEMU guest encrypts its root on first boot (key in the fake
# Key Vault) and unlocks it on the second.
demo: deps rootcrypt
	bash qemu/demo.sh
.PHONY: demo

# Install into a root file system (DESTDIR=/path/to/chroot for image builds):
# the binary, the shared hook library, the parts for whichever initramfs
# generator the target uses (both are installed; only one is active), and
# online mode's systemd unit (enabled by `rootcrypt enroll --mode online`).
# ROOTCRYPT_BIN: the binary to install (default the one built here).
PREFIX ?= /usr
ROOTCRYPT_BIN ?= rootcrypt
install: $(ROOTCRYPT_BIN)
	install -D -m 0755 $(ROOTCRYPT_BIN) $(DESTDIR)$(PREFIX)/sbin/rootcrypt
	set -e; for f in hook/*.sh; do [ -e "$$f" ] || continue; \
		install -D -m 0644 "$$f" $(DESTDIR)$(PREFIX)/lib/rootcrypt/$$(basename "$$f"); done
	set -e; for f in dracut-module/*/*; do [ -e "$$f" ] || continue; \
		install -D -m 0755 "$$f" $(DESTDIR)$(PREFIX)/lib/dracut/modules.d/$${f#dracut-module/}; done
	set -e; for f in initramfs-tools/*/* initramfs-tools/*/*/*; do [ -f "$$f" ] || continue; \
		install -D -m 0755 "$$f" $(DESTDIR)$(PREFIX)/share/$$f; done
	install -d -m 0755 $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|@SBINDIR@|$(PREFIX)/sbin|' hook/rootcrypt-online.service \
		>$(DESTDIR)$(PREFIX)/lib/systemd/system/rootcrypt-online.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/rootcrypt-online.service
.PHONY: install

# Debian package rootcrypt_$(VERSION)_amd64.deb in DEB_DIR (default .): exactly
# what `make install PREFIX=/usr` installs (debug info stripped from the
# binary), an update-initramfs trigger as cryptsetup-initramfs and
# clevis-initramfs declare, no maintainer scripts. Static binary: no Depends;
# cryptsetup-bin is Recommended (the generators' parts put cryptsetup in the
# initramfs for the unlock once `rootcrypt enroll` has run; before that they do
# nothing). Installing it changes no boot until `rootcrypt enroll` runs.
DEB_DIR ?= .
DEB_MAINTAINER ?= rootcrypt maintainers <maintainers@users.noreply.b-seed-51b9d946.example>
deb: $(ROOTCRYPT_BIN)
	@set -e; umask 022; st=$$(mktemp -d); chmod 0755 "$$st"; trap 'rm -rf "$$st"' EXIT; \
	$(MAKE) -s --no-print-directory install DESTDIR="$$st" PREFIX=/usr ROOTCRYPT_BIN="$(ROOTCRYPT_BIN)"; \
	strip --strip-debug "$$st/usr/sbin/rootcrypt"; \
	mkdir -p "$$st/DEBIAN"; \
	{ echo "Package: rootcrypt"; echo "Version: $(VERSION)"; echo "Architecture: amd64"; \
	  echo "Maintainer: $(DEB_MAINTAINER)"; \
	  echo "Installed-Size: $$(du -sk --exclude=DEBIAN "$$st" | cut -f1)"; \
	  echo "Section: admin"; echo "Priority: optional"; \
	  echo "Recommends: cryptsetup-bin"; echo "Suggests: initramfs-tools | dracut"; \
	  echo "Description: encrypt the root partition in place from the initramfs"; \
	  echo " rootcrypt converts a VM's root partition to LUKS2 in place from the initramfs,"; \
	  echo " before the root file system is mounted, with the key kept in Azure Key Vault"; \
	  echo " and fetched through the VM's managed identity; every step is checkpointed."; \
	  echo " Ships a static binary and the glue for initramfs-tools and dracut, inactive"; \
	  echo " until \"rootcrypt enroll\" writes /etc/rootcrypt.conf."; \
	} >"$$st/DEBIAN/control"; \
	echo "activate-noawait update-initramfs" >"$$st/DEBIAN/triggers"; \
	chmod 0644 "$$st/DEBIAN/control" "$$st/DEBIAN/triggers"; \
	mkdir -p "$(DEB_DIR)"; \
	dpkg-deb --root-owner-group -Zxz --build "$$st" "$(DEB_DIR)/rootcrypt_$(VERSION)_amd64.deb" >/dev/null; \
	echo "$(DEB_DIR)/rootcrypt_$(VERSION)_amd64.deb"
.PHONY: deb

# libFuzzer targets for the key service parsers (tests/fuzz/fuzz_*.c), built
# with clang from the pure source files only; each runs FUZZ_SECONDS.
FUZZ_SECONDS ?= 20
FUZZ_OUT ?= build-fuzz
FUZZ_KEYSVC := imds_token kv_error kv_secret base64 config
FUZZ_KEYSVC_SRCS := src/base/base64.c src/base/json_util.c src/azure/imds_parse.c \
	src/azure/keyvault_parse.c src/base/config.c src/base/log.c src/base/secmem.c
fuzz-keysvc:
	@mkdir -p $(FUZZ_OUT)
	@set -e; for f in $(FUZZ_KEYSVC); do \
		clang -D_GNU_SOURCE -Isrc/azure -Isrc/base -std=c11 $(WARN) -g -O1 \
			-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
			-o $(FUZZ_OUT)/fuzz_$$f tests/fuzz/fuzz_$$f.c $(FUZZ_KEYSVC_SRCS) -ljson-c; \
		mkdir -p $(FUZZ_OUT)/corpus-$$f; \
		$(FUZZ_OUT)/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
			-artifact_prefix=$(FUZZ_OUT)/crash-$$f- $(FUZZ_OUT)/corpus-$$f \
			tests/fuzz/seeds/$$f >$(FUZZ_OUT)/fuzz_$$f.log 2>&1 || \
			{ tail -n 40 $(FUZZ_OUT)/fuzz_$$f.log; exit 1; }; \
		echo "fuzz_$$f: $$(grep -o 'Done [0-9]* runs' $(FUZZ_OUT)/fuzz_$$f.log) in $(FUZZ_SECONDS) s, no finding"; \
	done
.PHONY: fuzz-keysvc

# libFuzzer target for the LUKS2 header reader (tests/fuzz/luks2_fuzz.c),
# same conventions as fuzz-keysvc: FUZZ_SECONDS, FUZZ_OUT, seeds in the repo.
FUZZ_LUKS2_SRCS := $(wildcard src/luks2/luks2_*.c) src/crypto/crypto_hash_mbedtls.c \
	src/crypto/crypto_mbedtls.c src/crypto/crypto_xts_mbedtls.c src/base/base64.c src/base/log.c \
	src/base/secmem.c
fuzz-luks2:
	@mkdir -p $(FUZZ_OUT)/corpus-luks2
	clang -D_GNU_SOURCE -Isrc/luks2 -Isrc/crypto -Isrc/base -std=c11 $(WARN) -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $(FUZZ_OUT)/fuzz_luks2 tests/fuzz/luks2_fuzz.c $(FUZZ_LUKS2_SRCS) -lmbedcrypto -ljson-c
	@$(FUZZ_OUT)/fuzz_luks2 -max_total_time=$(FUZZ_SECONDS) -timeout=10 -max_len=12288 \
		-artifact_prefix=$(FUZZ_OUT)/crash-luks2- $(FUZZ_OUT)/corpus-luks2 \
		tests/fuzz/seeds/luks2 >$(FUZZ_OUT)/fuzz_luks2.log 2>&1 || \
		{ tail -n 40 $(FUZZ_OUT)/fuzz_luks2.log; exit 1; }
	@echo "fuzz_luks2: $$(grep -o 'Done [0-9]* runs' $(FUZZ_OUT)/fuzz_luks2.log) in $(FUZZ_SECONDS) s, no finding"
.PHONY: fuzz-luks2

# libFuzzer targets for what the disk itself says beyond the LUKS2 header:
# the GPT/MBR reader and grow planner, the detached layout's digest records,
# the FAT reader + ESP switch and the BIOS sector 0 checks of the /boot split,
# online mode's guard record.
FUZZ_DISK := parttable engine_record bootloader online_guard
FUZZ_DISK_SRCS := src/disk/parttable.c src/disk/blkdev.c src/disk/fatfile.c src/boot/esp_stub.c \
	src/boot/bios_core.c src/engine/engine_record.c src/engine/engine_plan.c \
	src/engine/online_guard.c \
	src/engine/engine_pipe.c src/crypto/crypto_mbedtls.c src/crypto/crypto_hash_mbedtls.c \
	src/crypto/crypto_xts_mbedtls.c src/crypto/crypto_xts_aesni.c src/crypto/crypto_xts_bulk.c \
	src/base/log.c src/base/secmem.c src/base/parse.c
# clang 14 cannot check for VAES with __builtin_cpu_supports: that one file
# is built by $(CC), uninstrumented (it is a cipher kernel, not a parser).
fuzz-disk:
	@mkdir -p $(FUZZ_OUT)
	@$(CC) -D_GNU_SOURCE -Isrc/crypto -Isrc/base -std=c11 -O1 -g -c \
		-o $(FUZZ_OUT)/crypto_xts_vaes.o src/crypto/crypto_xts_vaes.c
	@set -e; for f in $(FUZZ_DISK); do \
		clang -D_GNU_SOURCE -Isrc/disk -Isrc/boot -Isrc/engine -Isrc/crypto -Isrc/base -Isrc/luks2 \
			-std=c11 $(WARN) -g -O1 -pthread \
			-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
			-o $(FUZZ_OUT)/fuzz_$$f tests/fuzz/fuzz_$$f.c $(FUZZ_DISK_SRCS) \
			$(FUZZ_OUT)/crypto_xts_vaes.o -lmbedcrypto; \
		mkdir -p $(FUZZ_OUT)/corpus-$$f; \
		$(FUZZ_OUT)/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -max_len=65536 \
			-artifact_prefix=$(FUZZ_OUT)/crash-$$f- $(FUZZ_OUT)/corpus-$$f \
			$$(ls -d tests/fuzz/seeds/$$f 2>/dev/null) >$(FUZZ_OUT)/fuzz_$$f.log 2>&1 || \
			{ tail -n 40 $(FUZZ_OUT)/fuzz_$$f.log; exit 1; }; \
		echo "fuzz_$$f: $$(grep -o 'Done [0-9]* runs' $(FUZZ_OUT)/fuzz_$$f.log) in $(FUZZ_SECONDS) s, no finding"; \
	done
.PHONY: fuzz-disk

# libFuzzer targets for headers found on a disk beyond parsing: the
# conversion token as the engine reads and rewrites it (engine_hdr) and
# keyslot open with a small KDF (luks2_keyslot). Inputs are JSON + keyslot
# area (tests/fuzz/fuzz_hdr_image.h); seeds from headers the product wrote
# (tests/fuzz/make-seeds.sh), checked by tests/unit/test_fuzz_seeds.c.
FUZZ_HDR := engine_hdr luks2_keyslot
FUZZ_HDR_SRCS := $(wildcard src/luks2/luks2_*.c) src/engine/engine_hdr.c src/disk/blkdev.c \
	src/crypto/crypto_hash_mbedtls.c src/crypto/crypto_mbedtls.c src/crypto/crypto_xts_mbedtls.c \
	src/base/base64.c src/base/log.c src/base/secmem.c
fuzz-hdr:
	@mkdir -p $(FUZZ_OUT)
	@set -e; for f in $(FUZZ_HDR); do \
		clang -D_GNU_SOURCE -Isrc/engine -Isrc/disk -Isrc/luks2 -Isrc/crypto -Isrc/base \
			-std=c11 $(WARN) -g -O1 -pthread \
			-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
			-o $(FUZZ_OUT)/fuzz_$$f tests/fuzz/fuzz_$$f.c $(FUZZ_HDR_SRCS) -lmbedcrypto -ljson-c; \
		mkdir -p $(FUZZ_OUT)/corpus-$$f; \
		$(FUZZ_OUT)/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -max_len=300000 \
			-artifact_prefix=$(FUZZ_OUT)/crash-$$f- $(FUZZ_OUT)/corpus-$$f \
			tests/fuzz/seeds/$$f >$(FUZZ_OUT)/fuzz_$$f.log 2>&1 || \
			{ tail -n 40 $(FUZZ_OUT)/fuzz_$$f.log; exit 1; }; \
		echo "fuzz_$$f: $$(grep -o 'Done [0-9]* runs' $(FUZZ_OUT)/fuzz_$$f.log) in $(FUZZ_SECONDS) s, no finding"; \
	done
.PHONY: fuzz-hdr

# Every fuzz target for FUZZ_SECONDS each (60 unless given): runs and
# findings per target; a finding stops with its log and artefact.
fuzz:
	$(MAKE) --no-print-directory fuzz-keysvc fuzz-luks2 fuzz-disk fuzz-hdr FUZZ_SECONDS=$(or $(filter-out 20,$(FUZZ_SECONDS)),60)
.PHONY: fuzz

# Conversion throughput vs dd and cryptsetup reencrypt (not a test; see
# tests/bench/bench.sh). BENCH_MB=2048 BENCH_DIR=/tmp BENCH_ROUNDS=5 by
# default; rounds interleave the methods and the table shows medians.
bench: rootcrypt
	sh tests/bench/bench.sh $(or $(BENCH_MB),2048) $(or $(BENCH_DIR),/tmp) $(or $(BENCH_ROUNDS),5)
.PHONY: bench
