#!/usr/bin/env bash
# Installs the real AWS clients the end-to-end tests (test/e2e) drive:
#   - AWS CLI v2 (/usr/bin/aws) and boto3 for /usr/bin/python3, from Debian;
#   - faketime (libfaketime), to run a client with its clock off;
#   - @aws-sdk/client-kinesis, pinned in test/e2e/clients/package-lock.json;
# and Chromium, which the admin listener's browser test (admin_browser_test.go)
# drives headless.
# Safe to run again: it skips what is already installed.
set -euo pipefail

cd "$(dirname "$0")/.."

apt_packages=(awscli python3-boto3 faketime chromium)

missing=()
for pkg in "${apt_packages[@]}"; do
	if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
		missing+=("$pkg")
	fi
done

if ((${#missing[@]} > 0)); then
	sudo=()
	if ((EUID != 0)); then
		if ! command -v sudo >/dev/null; then
			echo "install-clients: need root to apt-get install ${missing[*]}" >&2
			exit 1
		fi
		sudo=(sudo)
	fi
	echo "install-clients: apt-get install ${missing[*]}"
	# Wait for another apt run's lock instead of failing on it.
	lock=(-o DPkg::Lock::Timeout=600)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y -qq "${missing[@]}" >/dev/null
fi

if [[ ! -x /usr/bin/aws ]] || ! /usr/bin/aws --version 2>&1 | grep -q '^aws-cli/2\.'; then
	echo "install-clients: /usr/bin/aws is not AWS CLI v2" >&2
	exit 1
fi
if [[ ! -x /usr/bin/faketime ]]; then
	echo "install-clients: /usr/bin/faketime is missing" >&2
	exit 1
fi
if ! /usr/bin/python3 -c 'import boto3' 2>/dev/null; then
	echo "install-clients: /usr/bin/python3 cannot import boto3" >&2
	exit 1
fi

if ! command -v chromium >/dev/null; then
	echo "install-clients: chromium is not on PATH" >&2
	exit 1
fi

if ! command -v npm >/dev/null; then
	echo "install-clients: npm (Node.js >= 20) is required for the JS SDK test" >&2
	exit 1
fi

# npm ci wipes node_modules, so run it only when the lock file changed.
clients=test/e2e/clients
stamp=$clients/node_modules/.rivulet-lock.sha256
sum=$(sha256sum "$clients/package-lock.json" | cut -d' ' -f1)
if [[ ! -f $stamp ]] || [[ $(cat "$stamp") != "$sum" ]]; then
	echo "install-clients: npm ci in $clients"
	(cd "$clients" && npm ci --no-audit --no-fund --loglevel=error)
	echo "$sum" >"$stamp"
fi
