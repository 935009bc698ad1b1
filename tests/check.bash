# check.bash - sourced by the shell tests: `check NAME STATUS` counts a check as passed when
# STATUS is 0 and prints "FAIL: NAME" otherwise; tests end with
#   echo "$passes passed, $fails failed"; [ $fails = 0 ]
fails=0; passes=0
check() { # name, condition-result
    if [ "$2" = 0 ]; then passes=$((passes+1)); else fails=$((fails+1)); echo "FAIL: $1"; fi
}
# DEFAULT_MODEL: stories260K from ../shared, else the copy the source tree ships (models/), so
# that the tests that need only this model run in a fresh clone without ../shared.
DEFAULT_MODEL=${LLMR_SHARED:-../shared}/models/stories260K.gguf
[ -f "$DEFAULT_MODEL" ] ||
    DEFAULT_MODEL=${LLMR_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}/models/stories260K.gguf
