# tsc.bash - sourced by the TypeScript declaration tests (types.sh, browser_types.sh): finds node
# and tests/npm's tsc or skips (exit 77) saying what is missing, loads check.bash, and makes TMP,
# a scratch folder removed on exit.
SRC=${LLMR_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
NPM_DIR=$SRC/tests/npm
command -v node >/dev/null || { echo "skipped: node is not installed (scripts/setup.sh installs it)"; exit 77; }
TSC=$NPM_DIR/node_modules/typescript/bin/tsc
[ -f "$TSC" ] || { echo "skipped: typescript is missing (scripts/setup.sh: npm ci in tests/npm)"; exit 77; }
. "$SRC/tests/check.bash"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
