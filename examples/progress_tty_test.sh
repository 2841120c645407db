#!/usr/bin/env bash
# Checks mpp::progress_bar the way a person sees it: runs the `progress` example inside a
# pseudo-terminal with script(1) and reads the captured screen, then runs it with stderr in a file
# and reads that.
#
# On the terminal: a bar with percentage, done/total, elapsed<remaining and rate, redrawn in place
# with carriage returns, at most ten times a second, ending at 100%; then a bar without a total
# showing count, elapsed and rate. In the file: plain lines only, no carriage returns.
#
# Usage: progress_tty_test.sh <progress executable> <scratch directory>
# Exits 77 (CTest's SKIP_RETURN_CODE) when script(1) is missing.
set -euo pipefail

exe=$1
dir=$2
items=200
cost_ms=10
events=$(((items + 2) / 3)) # the example keeps every third item
export MPP_NUM_THREADS=2    # the run then takes at least items * cost / 2: over a second

if ! command -v script > /dev/null; then
  echo "SKIP: script(1) from util-linux is not installed, so no pseudo-terminal can be made"
  exit 77
fi

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

rm -rf "$dir"
mkdir -p "$dir"

# --- in a pseudo-terminal ------------------------------------------------------------------
start=$(date +%s%N)
script -qfec "'$exe' $items $cost_ms" "$dir/typescript" < /dev/null > /dev/null
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
# At most one redraw every 100 ms, plus the first and the last drawing of each bar.
max_frames=$((elapsed_ms / 100 + 2))

# Every drawing of a bar starts with a carriage return; one per line makes the frames readable.
tr '\r' '\n' < "$dir/typescript" > "$dir/frames"
grep -E '^simulate ' "$dir/frames" > "$dir/simulate" || fail "no 'simulate' bar on the screen"
grep -E '^events ' "$dir/frames" > "$dir/events" || fail "no 'events' bar on the screen"

bar='^simulate +[0-9]{1,3}% \|[# ]{20}\| [0-9]+/'$items' \[[0-9]{2}:[0-9]{2}<([0-9]{2}:[0-9]{2}|\?), [0-9]+\.[0-9] items/s\] *$'
if grep -vqE "$bar" "$dir/simulate"; then
  fail "a frame lacks percentage, done/total, elapsed<remaining or rate: $(grep -vE "$bar" "$dir/simulate" | head -1)"
fi
frames=$(wc -l < "$dir/simulate")
(( frames >= 4 )) || fail "the bar was drawn $frames times in ${elapsed_ms} ms: not live"
(( frames <= max_frames )) ||
  fail "the bar was drawn $frames times in ${elapsed_ms} ms: more than ten times a second"

# Redrawn in place: the frames share one line of the screen, separated by carriage returns only.
in_place=$(grep -c $'\rsimulate ' "$dir/typescript" || true)
(( in_place == 1 )) || fail "the bar's frames are spread over $in_place lines instead of one"
per_line=$(grep $'\rsimulate ' "$dir/typescript" | tr -cd '\r' | wc -c)
(( per_line >= frames )) || fail "only $per_line carriage returns for $frames frames"

# Counts never go back, and the last frame is the whole map.
awk '{ split($3, d, "/"); if (d[1] + 0 < last) bad = 1; last = d[1] + 0 } END { exit bad }' \
  "$dir/simulate" || fail "the bar's count went backwards"
grep -qE '^simulate +[0-9]{1,2}% ' "$dir/simulate" || fail "no frame below 100% was drawn"
tail -n 1 "$dir/simulate" | grep -qE "^simulate 100% \|#{20}\| $items/$items \[" ||
  fail "the last frame is not 100%: $(tail -n 1 "$dir/simulate")"

# Without a total: count, elapsed and rate, no percentage and no remaining time.
count='^events [0-9]+ items \[[0-9]{2}:[0-9]{2}, [0-9]+\.[0-9] items/s\] *$'
if grep -vqE "$count" "$dir/events"; then
  fail "a frame of the unknown total is not 'count items [elapsed, rate]': $(grep -vE "$count" "$dir/events" | head -1)"
fi
(( $(wc -l < "$dir/events") <= max_frames )) || fail "the count was redrawn more than ten times a second"
tail -n 1 "$dir/events" | grep -qE "^events $events items \[" ||
  fail "the count did not end at $events: $(tail -n 1 "$dir/events")"
grep -q "simulate: $items results" "$dir/frames" || fail "the program's own output is missing"

# --- without a terminal ------------------------------------------------------------------------
"$exe" $items $cost_ms > "$dir/plain.out" 2> "$dir/plain.err"
if grep -q $'\r' "$dir/plain.err"; then fail "carriage returns written to a file"; fi
grep -qE "^simulate 100% \|#{20}\| $items/$items \[" "$dir/plain.err" || fail "no final line in the file"
grep -qE "^events $events items \[" "$dir/plain.err" || fail "no final count in the file"
# A run shorter than the log interval (10 s) writes one line per bar.
lines=$(wc -l < "$dir/plain.err")
(( lines == 2 )) || fail "$lines lines written to the file, expected one per bar: $(cat "$dir/plain.err")"
if grep -qE 'items/s|%' "$dir/plain.out"; then fail "a bar went to stdout"; fi

echo "progress bar: $frames frames in ${elapsed_ms} ms on a terminal, ending at 100%; plain lines in a file"
