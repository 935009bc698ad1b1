#!/usr/bin/env bash
# ctest_skips.sh BUILD_DIR CTEST_OUTPUT - after a ctest run: how many tests were skipped and
# why, one line each (the first line of the test's output that says "skipped"), read from
# ctest's console output (the "(Skipped)" list) and BUILD_DIR/Testing/Temporary/LastTest.log
# (each test's output). Also counts the cmocka cases skipped inside tests that ran.
set -u
dir=$1 out=$2
log=$dir/Testing/Temporary/LastTest.log
mapfile -t skipped < <(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' "$out")
# reason NAME: the first "skipped" line of NAME's output in LastTest.log
reason() {
    awk -v name="$1" '
        / Testing: / { cur = $0; sub(/.* Testing: /, "", cur); out = 0; next }
        cur == name && /^Output:/ { out = 1; next }
        cur == name && out && tolower($0) ~ /skip/ && !found { print; found = 1 }' "$log" 2>/dev/null |
        sed 's/^[[:space:]]*//' | cut -c1-200
}
echo "${#skipped[@]} tests skipped"
for t in "${skipped[@]}"; do
    r=$(reason "$t")
    echo "  $t: ${r:-no reason printed}"
done
# cmocka cases skipped inside tests that ran: "[  SKIPPED ] name" lines
n=$(grep -c '^\[  SKIPPED \] ' "$log" 2>/dev/null)
[ "${n:-0}" -gt 0 ] && echo "$n cmocka cases skipped inside tests that ran (see $log)"
exit 0
