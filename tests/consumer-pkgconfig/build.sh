#!/bin/sh
# Builds and runs a user's program with pkg-config alone, as a Makefile would:
#   build.sh <pkg-config> <c++ compiler> <dir of mpp.pc> <main.cpp> <output>
set -eu
pkg_config=$1 cxx=$2 pc_dir=$3 source=$4 output=$5
if [ -z "$pkg_config" ] || [ ! -x "$pkg_config" ]; then
  echo "pkg-config is not installed (Debian: apt-get install pkg-config); test skipped"
  exit 77
fi
# Only the staged mpp.pc, not one installed on the system; tbb.pc comes from the system.
export PKG_CONFIG_PATH="$pc_dir"
flags=$("$pkg_config" --cflags --libs mpp)
echo "pkg-config --cflags --libs mpp: $flags"
case "$flags" in
  *"$(dirname "$(dirname "$pc_dir")")"*) ;;
  *) echo "mpp.pc does not point into the staged install"; exit 1 ;;
esac
# shellcheck disable=SC2086  # the flags are words
"$cxx" -std=c++20 -Wall -Wextra -Wpedantic -Werror "$source" -o "$output" $flags
"$output"
