# The README's commands. Everything runs through uv in the workspace's own virtualenv.
UV ?= uv
NAME ?= stack
PYTEST_ARGS ?=

.PHONY: sync demo test unit stack-up stack-down stack-status bench lint format

sync:
	$(UV) sync --all-packages --frozen 2>/dev/null || $(UV) sync --all-packages

demo: sync
	$(UV) run eventyard-stack demo

test: sync
	$(UV) run eventyard-stack up
	$(UV) run pytest $(PYTEST_ARGS)

unit: sync
	$(UV) run pytest -m unit $(PYTEST_ARGS)

stack-up: sync
	$(UV) run eventyard-stack up

stack-down:
	$(UV) run eventyard-stack down

stack-status:
	$(UV) run eventyard-stack status

bench: sync
	$(UV) run python bench/run.py $(NAME)

lint: sync
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run eventyard-schemas check --against-git HEAD

format: sync
	$(UV) run ruff check --fix .
	$(UV) run ruff format .
