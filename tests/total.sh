#!/bin/sh
# total.sh BUILD... — adds up the tallies run_all.sh left in each build dir.
p=0; f=0
for b in "$@"; do
  if [ -f "$b/tally" ]; then
    read bp bf < "$b/tally"; p=$((p + bp)); f=$((f + bf))
  else
    echo "total: no results from $b"; f=$((f + 1))
  fi
done
echo "total: $p passed, $f failed"
[ "$f" -eq 0 ]
