# Thin aliases; dev.py works without make.
.PHONY: run test services
run:
	python3 dev.py run
test:
	python3 dev.py test
services:
	python3 dev.py services
