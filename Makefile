# Thin entry points; the logic lives in toolchain/*.sh.
# Extra arguments: make test ARGS="-k enrol -x"   make demo ARGS="..."
ARGS ?=

.PHONY: help demo test

help:
	@echo "make demo   run the local demo (dev server + worker), tools set up on first run"
	@echo "make test   run the test suite (SQLite lane, then PostgreSQL lane)"

demo:
	bash toolchain/demo.sh $(ARGS)

test:
	bash toolchain/test.sh $(ARGS)
