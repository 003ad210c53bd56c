# SPDX-License-Identifier: GPL-2.0
#
# exitless: build, test, demonstrate.
#
#   make                     build both modules for the running kernel
#   make KDIR=/usr/src/linux-headers-6.1.0-56-amd64
#                            ... or for any other kernel build tree
#   make kernels             build for every Debian 6.1/6.12 headers tree
#                            installed, each in .build/<kernel release>/
#   make deps                install the Debian packages everything needs
#   make demo                one IPI workload in a nested guest, stock and
#                            with exitless: VM exits side by side (6.1)
#   make check               every test: KUnit + nested QEMU suite, both
#                            kernels (what CI runs); installs deps first
#   make bench               the long measurements, both kernels (pvipi:
#                            raw 256-vCPU guest, L2 IPI loads; dynidle:
#                            stock/host poll/haltpoll/dynidle), report in
#                            Documentation/benchmarks.rst
#   make debug               the nested suite with L1 and L2 on a debug
#                            build of Debian's 6.1 source (lockdep, atomic-
#                            sleep checks, debug objects, kmemleak), built
#                            and installed first; DEBUG_KERNEL=6.12 for
#                            6.12's source (not part of make check)
#   make style               checkpatch --strict and sparse on the sources
#   make deb                 .build/exitless-dkms_<version>_all.deb (DKMS)
#   make dkms-install        as root: DKMS add/build/install for the running
#                            kernel, or KERNELRELEASE=<release>
#   make dkms-remove         as root: undo dkms-install, every kernel

KDIR ?= /lib/modules/$(shell uname -r)/build
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(TOP)/.build
# Debian headers trees we target (6.1 LTS and 6.12 LTS)
HDR_TREES = $(sort $(wildcard /usr/src/linux-headers-6.1.*-amd64 \
			       /usr/src/linux-headers-6.12.*-amd64))
KRELS = $(patsubst /usr/src/linux-headers-%,%,$(HDR_TREES))

.PHONY: all modules clean kernels deps check kunit nested demo bench bench-report style help debug \
	deb dkms-install dkms-remove

all: modules

modules:
	@test -d $(KDIR) || { echo "error: no kernel build tree at $(KDIR);" \
	  "install linux-headers or pass KDIR= (see README.md)" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 modules

clean:
	@test ! -d $(KDIR) || $(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -rf $(BUILD)

# Out-of-tree builds write next to the sources; give each kernel its own
# copy so 6.1 and 6.12 objects never mix.
kernels:
	@test -n "$(KRELS)" || { echo "error: no linux-headers-6.1/6.12 installed; run 'make deps'" >&2; exit 1; }
	@set -e; for r in $(KRELS); do \
	  echo "== building for $$r"; \
	  $(TOP)/scripts/build-for-kernel.sh $$r; \
	done

deps:
	$(TOP)/scripts/install-deps.sh

check: deps
	$(TOP)/selftests/run-all.sh

kunit: deps
	$(TOP)/selftests/kunit/run.sh

nested: deps
	$(TOP)/selftests/qemu/run.sh

demo: deps
	$(TOP)/selftests/qemu/run.sh --demo

# The same nested suite, L1 and L2 on a debug kernel (selftests/debug/).
DEBUG_KERNEL ?= 6.1
debug: deps
	rel=$$($(TOP)/selftests/debug/build-kernel.sh $(DEBUG_KERNEL)) && \
	  $(TOP)/selftests/qemu/run.sh $$rel

# Both kernels, then the report: raw results, CSV and plots in
# Documentation/bench/, Documentation/benchmarks.rst regenerated.
bench: deps
	rm -f $(BUILD)/bench/bench-*.txt $(BUILD)/bench/pvtimer-*.txt
	$(TOP)/selftests/qemu/run.sh --bench
	@set -e; for r in $(KRELS); do \
	  EXITLESS_BOOTS=pvtimer $(TOP)/selftests/qemu/run.sh $$r || true; \
	  cp $(BUILD)/nested-$$r/pvtimer/pvtimer.txt $(BUILD)/bench/pvtimer-$$r.txt; \
	done
	$(MAKE) bench-report

bench-report:
	mkdir -p $(TOP)/Documentation/bench
	cp -p $(BUILD)/bench/bench-*.txt $(TOP)/Documentation/bench/
	cp -p $(BUILD)/bench/pvtimer-*.txt $(TOP)/Documentation/bench/ 2>/dev/null || true
	$(TOP)/scripts/bench-report.py $(TOP)/Documentation/bench \
		$(TOP)/Documentation/benchmarks.rst

style:
	$(TOP)/scripts/style.sh

# DKMS (Documentation/dkms.rst).  dkms runs make itself: our command line
# (KERNELRELEASE=...) must not reach it through MAKEFLAGS.
DKMS_SH = env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $(TOP)/scripts/dkms.sh

deb:
	@$(DKMS_SH) deb $(BUILD)

dkms-install:
	$(DKMS_SH) install $(KERNELRELEASE)

dkms-remove:
	$(DKMS_SH) remove

help:
	@sed -n '3,23p' $(TOP)/Makefile
