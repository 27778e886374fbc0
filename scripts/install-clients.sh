#!/usr/bin/env bash
# Installs the real AWS clients the end-to-end tests (test/e2e) drive:
#   - AWS CLI v2 (/usr/bin/aws) and boto3 for /usr/bin/python3, from Debian;
#   - faketime (libfaketime), to run a client with its clock off;
#   - @aws-sdk/client-kinesis, pinned in test/e2e/clients/package-lock.json;
# Chromium, which the admin listener's browser test (admin_browser_test.go)
# drives headless; PostgreSQL (initdb), which the Firehose PostgreSQL sink's
# tests start; and versitygw, the real S3 server behind internal/tests3.
# Safe to run again: it skips what is already installed.
set -euo pipefail

cd "$(dirname "$0")/.."

apt_packages=(awscli python3-boto3 faketime chromium postgresql)

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

# Debian installs initdb off PATH, under the versioned server directory.
initdb=(/usr/lib/postgresql/*/bin/initdb)
if [[ ! -x ${initdb[0]} ]]; then
	echo "install-clients: no initdb under /usr/lib/postgresql/*/bin/" >&2
	exit 1
fi

# versitygw (S3 over a POSIX directory) for the S3 destination's tests.
# Building it takes minutes, so skip it when the pinned version is there.
if ! command -v go >/dev/null; then
	echo "install-clients: go is required to install versitygw" >&2
	exit 1
fi
versitygw_version=v1.8.0
# go install puts binaries in the first GOPATH entry.
gopath=$(go env GOPATH)
gobin=${gopath%%:*}/bin
vgw=$gobin/versitygw
if [[ ! -x $vgw ]] || ! go version -m "$vgw" 2>/dev/null |
	grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/versity/versitygw[[:space:]]+$versitygw_version([[:space:]]|\$)"; then
	echo "install-clients: go install versitygw@$versitygw_version (takes a few minutes)"
	GOBIN=$gobin go install "github.com/versity/versitygw/cmd/versitygw@$versitygw_version"
fi
if ! "$vgw" --help >/dev/null 2>&1; then
	echo "install-clients: $vgw does not run" >&2
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
