# The two commands a newcomer needs (see README.md); everything else lives in scripts/.
.PHONY: local test

local:  ## bring up the local stack with the sample backend (installs what it needs)
	scripts/local

test:  ## run the whole test suite, as CI does
	scripts/test
