# The two commands a newcomer needs (see README.md), then the stack's everyday operations; the rest lives in scripts/.
.PHONY: local test dev logs stop restart down run rollback restore

local:  ## bring up the local stack with the sample backend (installs what it needs)
	scripts/local

test:  ## run the whole test suite, as CI does
	scripts/test

ANSIBLE = PATH="$(CURDIR)/.venv/bin:$$PATH" ANSIBLE_CONFIG="$(CURDIR)/ansible.cfg" ansible-playbook
# Extra ansible-playbook arguments, e.g. make logs ARGS="-e compose_stack_name=test"
ARGS ?=

dev:  ## the stack in dev mode: hot reload, source bind-mounted
	scripts/local -e compose_stack_mode=dev $(ARGS)

logs:  ## the last log lines of every process of the stack
	$(ANSIBLE) playbooks/logs.yml $(ARGS)

stop:  ## stop the stack's containers (data and files kept)
	$(ANSIBLE) playbooks/local.yml -e compose_stack_state=stopped $(ARGS)

restart:  ## restart the stack and wait until it is healthy
	$(ANSIBLE) playbooks/local.yml -e compose_stack_state=restarted $(ARGS)

down:  ## remove the stack's containers and network (volumes, .env and images kept)
	$(ANSIBLE) playbooks/local.yml -e compose_stack_state=absent $(ARGS)

rollback:  ## bring back the previous release's images (the database stays as it is)
	$(ANSIBLE) playbooks/local.yml -e compose_stack_state=rolled_back $(ARGS)

restore:  ## restore the stack's database from its latest backup, or make restore BACKUP=20261206T183000Z.dump
	$(ANSIBLE) playbooks/local.yml -e compose_stack_state=restored -e compose_stack_backup=$(or $(BACKUP),latest) $(ARGS)

run:  ## a one-off command in the stack's context: make run CMD="npx prisma db seed"
	$(ANSIBLE) playbooks/run.yml -e '{"compose_stack_run_command": "$(CMD)"}' $(ARGS)
