#!/usr/bin/env bash
# scanin's one entry point for building, testing, the demo and benchmarks.
#
#   ./build.sh [build]       build bin/scanin and the widget (wasm + .br + .gz)
#   ./build.sh test          build, then gofmt, go vet and staticcheck (native
#                            and js/wasm), unit, conformance, browser and bind
#                            tests with -race, and a short fuzz run
#   ./build.sh demo [--lan]  build, then run the relay and the demo shop;
#                            --lan: over HTTPS on this machine's LAN
#                            address, for a real phone (further flags go
#                            to scanin demo: --lan-ip, --relay-addr, ...)
#   ./build.sh bench [what]  benchmarks: relay, widget (default: all), or
#                            versus: the widget's time to QR against the
#                            build in $SCANIN_BENCH_BASELINE, interleaved;
#                            edge: the edge relay under workerd beside a
#                            minimal Durable Object relay and scanin relay;
#                            redis: 1, 2 and 3 relay nodes over Redis
#                            against the in-memory relay
#   ./build.sh edge [--port PORT] [--no-rate-limit] [--config FILE]
#                            build the edge relay and serve it under workerd
#                            on 127.0.0.1:PORT (default 8787) until Ctrl-C
#   ./build.sh help          this text, and nothing else (also -h, --help);
#                            an unknown command prints it to stderr, exit 2
#
# Environment: FUZZTIME (default 15s) sets each fuzz target's run in `test`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
root=$(pwd)

die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

# usage prints this file's opening comment, its help, and nothing else.
# Plain bash, so that --help needs no other tool and builds nothing.
usage() {
	local line
	while IFS= read -r line; do
		case $line in
		'#!'*) ;;
		'#'*)
			line=${line#\#}
			printf '%s\n' "${line# }"
			;;
		*) return 0 ;;
		esac
	done <"$root/${BASH_SOURCE[0]##*/}"
}

# need TOOL [HOW]: stop with the missing tool's name and how to get it.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	die "missing tool: $1${2:+ ($2)}"
}

# need_pkg COMMAND DEBIAN_PACKAGE [PATH]: make sure a system package is
# there, installing it when we can (root with apt-get) and otherwise stopping
# with the exact command to run. PATH, when given, is checked instead of
# looking COMMAND up on PATH.
need_pkg() {
	local cmd=$1 pkg=$2 path=${3:-}
	if [[ -n $path && -x $path ]] || { [[ -z $path ]] && command -v "$cmd" >/dev/null 2>&1; }; then
		return 0
	fi
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
		step "installing $pkg (for $cmd)"
		if [[ ! -e /tmp/.scanin-apt-updated ]]; then
			DEBIAN_FRONTEND=noninteractive apt-get update -q && touch /tmp/.scanin-apt-updated
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg"
		return 0
	fi
	die "missing $cmd: install it with: sudo apt-get install -y $pkg"
}

chromium_bin=/usr/lib/chromium/chromium

# js_pkgs are the packages that run in the browser as WebAssembly and whose
# tests build for js too; vet and staticcheck check them for js/wasm.
js_pkgs=(./protocol/... ./receiver/policy/... ./widget/... ./demo/phone/wasm/...
	./server/rules/... ./server/session/... ./server/edge/...)
# js_mains are the two WebAssembly programs.
js_mains=(./widget ./demo/phone/wasm)

build() {
	need go "https://go.dev/dl/"
	need_pkg brotli brotli
	step "wasm_exec.js from $(go env GOROOT)/lib/wasm"
	cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" wasm_exec/wasm_exec.js

	step "widget.wasm"
	mkdir -p widget/web/dist
	GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o widget/web/dist/widget.wasm ./widget
	brotli -f -q 11 -o widget/web/dist/widget.wasm.br widget/web/dist/widget.wasm
	gzip -f -9 -k widget/web/dist/widget.wasm
	ls -l widget/web/dist/widget.wasm*

	step "demo phone.wasm"
	mkdir -p demo/phone/dist
	GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o demo/phone/dist/phone.wasm ./demo/phone/wasm
	gzip -f -9 demo/phone/dist/phone.wasm

	step "bin/scanin"
	mkdir -p bin
	# Stamp the commit for `scanin version` even where GOFLAGS turns stamping
	# off; where git cannot read the tree (another user's clone), build
	# without the stamp rather than not at all.
	local vcs=auto
	git status --porcelain >/dev/null 2>&1 || vcs=false
	go build -trimpath -buildvcs=$vcs -o bin/scanin ./cmd/scanin
	bin/scanin version
	ls -l bin/scanin
}

static_checks() {
	step "gofmt"
	local unformatted
	unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))
	[[ -z $unformatted ]] || die "gofmt would change: $unformatted (run gofmt -w on them)"

	step "go mod tidy"
	go mod tidy -diff || die "go.mod/go.sum are not tidy: run go mod tidy"

	step "go vet (native, then js/wasm)"
	go vet ./...
	GOOS=js GOARCH=wasm go vet "${js_pkgs[@]}"

	# staticcheck is a tool of the module (go.mod), so its version is pinned
	# and it needs nothing installed. It is built for this machine and then
	# run with GOOS=js to check the code that ships as WebAssembly: `GOOS=js
	# go tool staticcheck` would build staticcheck itself for js.
	step "staticcheck (native, then js/wasm)"
	local staticcheck
	staticcheck=$(go tool -n staticcheck)
	"$staticcheck" ./...
	GOOS=js GOARCH=wasm "$staticcheck" "${js_pkgs[@]}"
	# And, without their tests, the other packages of this module that the
	# wasm programs link, such as the mobile SDK in the demo phone, whose
	# tests drive a native relay and do not build for js. (Without tests,
	# helpers only tests use would count as unused, so not js_pkgs again.)
	local linked
	linked=$(GOOS=js GOARCH=wasm go list -deps -f '{{if and (not .Standard) .Module .Module.Main}}{{.ImportPath}}{{end}}' "${js_mains[@]}" |
		grep -vxF -f <(GOOS=js GOARCH=wasm go list "${js_pkgs[@]}") || true)
	if [[ -n $linked ]]; then
		# shellcheck disable=SC2086 # one import path a line
		GOOS=js GOARCH=wasm "$staticcheck" -tests=false $linked
	fi
}

fuzz_smoke() {
	local fuzztime=${FUZZTIME:-15s} pkg targets target
	for pkg in $(go list ./...); do
		targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
		for target in $targets; do
			step "fuzz $pkg $target for $fuzztime"
			go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime"
		done
	done
}

run_tests() {
	need git
	need_pkg chromium chromium "$chromium_bin"
	need_pkg gcc gcc # go test -race needs cgo
	need_pkg redis-server redis-server # the Redis backend's tests start their own
	need_pkg certutil libnss3-tools # TestDemoLAN trusts the demo's CA in an NSS database
	build
	static_checks
	# The edge relay's tests (server/edge) skip without its pinned npm
	# packages; install them so that they run here.
	edge_deps
	# The verify tests cross-check assertions with jose (npm); under CI=true
	# they fail rather than skip without it.
	verify_deps
	# The race detector is native only (js/wasm has none). The tests in e2e
	# use the bin/scanin and wasm files build just made.
	step "go test -race ./..."
	CGO_ENABLED=1 go test -race -count=1 -timeout 20m ./...
	fuzz_smoke
	step "all tests passed"
}

demo() {
	build
	step "demo (Ctrl-C stops it)"
	exec bin/scanin demo "$@"
}

bench() {
	local what=${1:-all}
	build
	case $what in
	relay | all)
		need node "apt-get install -y nodejs npm"
		need npm "apt-get install -y npm"
		step "npm ci (benchmark peers)"
		(cd bench && npm ci --no-audit --no-fund)
		step "bench relay"
		go run ./server/bench/cmd/relaybench -scanin bin/scanin -peers bench
		;;&
	widget | all)
		need_pkg chromium chromium "$chromium_bin"
		step "bench widget"
		go test ./e2e -v -run '^$' -bench . -benchtime 1x -count 1
		;;
	versus)
		[[ -n ${SCANIN_BENCH_BASELINE:-} ]] || die "bench versus: set SCANIN_BENCH_BASELINE to another checkout, built with ./build.sh build"
		need_pkg chromium chromium "$chromium_bin"
		step "bench widget: this build versus $SCANIN_BENCH_BASELINE"
		go test ./e2e -v -run '^$' -bench '^BenchmarkWidgetVersus$' -benchtime 1x -count 1 -timeout 60m
		;;
	edge)
		edge_deps
		step "bench edge"
		# Further arguments are edgebench's flags, e.g. -runs 1.
		go run ./server/bench/cmd/edgebench -scanin bin/scanin "${@:2}"
		;;
	redis)
		need_pkg redis-server redis-server
		step "bench redis"
		# Further arguments are redisbench's flags, e.g. -runs 1.
		go run ./server/bench/cmd/redisbench -scanin bin/scanin "${@:2}"
		;;
	relay) ;;
	*) die "unknown benchmark: $what (relay, widget, versus, edge, redis or all)" ;;
	esac
}

# edge_deps installs server/edge's pinned npm packages (workerd, wrangler,
# Node 22 for wrangler), with npm ci, unless node_modules was installed from
# this very lock file. The edge relay's tests skip without them.
edge_deps() {
	need npm "apt-get install -y nodejs npm"
	if ! cmp -s server/edge/package-lock.json server/edge/node_modules/.scanin-lock.json 2>/dev/null; then
		step "npm ci (server/edge: workerd, wrangler, Node 22)"
		(cd server/edge && WRANGLER_SEND_METRICS=false npm ci --no-audit --no-fund)
		cp server/edge/package-lock.json server/edge/node_modules/.scanin-lock.json
	fi
}

# verify_deps installs the jose package (verify/testdata/jose) that the
# verify tests use as an independent JWT implementation.
verify_deps() {
	need npm "apt-get install -y nodejs npm"
	if ! cmp -s verify/testdata/jose/package-lock.json verify/testdata/jose/node_modules/.scanin-lock.json 2>/dev/null; then
		step "npm ci (verify/testdata/jose: jose)"
		(cd verify/testdata/jose && npm ci --no-audit --no-fund)
		cp verify/testdata/jose/package-lock.json verify/testdata/jose/node_modules/.scanin-lock.json
	fi
}

# edge builds the edge relay (server/edge: Go rules as wasm, the Worker and
# its Durable Object) and serves it under workerd on 127.0.0.1 with
# on-disk Durable Object storage in a fresh directory, until Ctrl-C.
edge() {
	local port=8787 rate=on config=
	while (($#)); do
		case $1 in
		--port) [[ $# -ge 2 ]] || die "edge: --port needs a value"; port=$2; shift 2 ;;
		--port=*) port=${1#--port=}; shift ;;
		--no-rate-limit) rate=off; shift ;;
		# Relative to where build.sh was run (OLDPWD: before its cd).
		--config) [[ $# -ge 2 ]] || die "edge: --config needs a file"; config=$2; [[ $config = /* ]] || config=$OLDPWD/$config; shift 2 ;;
		*) die "edge: unknown argument: $1 (--port PORT, --no-rate-limit, --config FILE)" ;;
		esac
	done
	[[ $port =~ ^[0-9]{1,5}$ ]] || die "edge: --port wants a port number, not $port"
	need go "https://go.dev/dl/"
	local dir=server/edge
	# The edge serves the widget that ./build.sh build made; on a fresh
	# clone, make it first.
	[[ -s widget/web/dist/widget.wasm.br ]] || build
	edge_deps
	step "server/edge/dist: rules.wasm and wasm_exec.js"
	mkdir -p "$dir/dist"
	cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" "$dir/dist/wasm_exec.js"
	GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o "$dir/dist/rules.wasm" ./server/edge/wasm
	ls -l "$dir/dist/rules.wasm"
	. server/edge/build-assets.sh && edge_assets "$dir" "$config"
	edge_state=$(mktemp -d) # global: the EXIT trap runs after edge returns
	trap 'rm -rf "$edge_state"' EXIT
	trap 'exit 130' INT # so that Ctrl-C and SIGTERM run the EXIT trap too
	trap 'exit 143' TERM
	step "edge relay on http://127.0.0.1:$port (Ctrl-C stops it)"
	SCANIN_EDGE_RATE_LIMIT=$rate "$dir/node_modules/@cloudflare/workerd-linux-64/bin/workerd" serve --experimental \
		"$dir/workerd.capnp" --socket-addr "http=127.0.0.1:$port" --directory-path "do-storage=$edge_state" \
		--directory-path "assets=$PWD/$dir/dist/public"
}

case ${1:-build} in
build) build ;;
test) run_tests ;;
demo) shift; demo "$@" ;;
bench) shift; bench "$@" ;;
edge) shift; edge "$@" ;;
-h | --help | help) usage ;;
*)
	printf 'build.sh: unknown command: %s\n\n' "$1" >&2
	usage >&2
	exit 2
	;;
esac
