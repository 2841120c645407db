#!/usr/bin/env bash
# asio::deferred needs Boost 1.80 or later, and Debian 12's libboost-dev is 1.74, so the plain
# build compiles "asio: deferred" out. This test builds mpp's sources and its Asio tests against
# the headers of Debian's own libboost1.81-dev, fetched with `apt-get download` and unpacked into
# the build tree (installing it would replace 1.74), and runs those tests, "asio: deferred"
# included. It is skipped (exit 77), saying why, where the package cannot be fetched.
#
# usage: run.sh CXX SOURCE_DIR WORK_DIR
set -euo pipefail
cxx=$1 source_dir=$2 work=$3
package=libboost1.81-dev

skip() {
  echo "newer-boost: skipped: $*"
  exit 77
}

mkdir -p "$work"
cd "$work"
headers=$work/root/usr/include
if [ ! -f "$headers/boost/asio/deferred.hpp" ]; then
  command -v apt-get >/dev/null || skip "no apt-get to fetch $package"
  if ! apt-cache show "$package" >/dev/null 2>&1; then
    # A machine whose package lists were cleaned (as in many container images): refresh them.
    [ "$(id -u)" -eq 0 ] || skip "$package is unknown to apt; run 'apt-get update' as root"
    apt-get update -qq || skip "apt-get update failed"
  fi
  rm -f ./*.deb
  # As root, apt downloads as the _apt user when it can write here, else unsandboxed (a notice).
  apt-get download -qq "$package" 2>&1 | grep -v "unsandboxed" || true
  deb=$(ls ./"$package"_*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || skip "apt-get download $package failed"
  rm -rf root
  dpkg-deb -x "$deb" root
  rm -f "$deb"
fi
version=$(sed -n 's/^#define BOOST_LIB_VERSION "\(.*\)"/\1/p' "$headers/boost/version.hpp" | tr _ .)
echo "newer-boost: Boost $version headers in $headers"

# The library's sources (not its MPI layer) and the Asio tests, all against these headers, so that
# no two parts of the program see different Boost versions.
"$cxx" -std=c++20 -O1 -pthread -Wall -Wextra -Wpedantic -Werror \
  -isystem "$headers" -I"$source_dir/include" -I"$source_dir/tests" \
  "$source_dir"/src/*.cpp "$source_dir/tests/main.cpp" "$source_dir/tests/asio_test.cpp" \
  -ltbb -o asio_tests

./asio_tests --list-test-cases --test-case='asio: deferred' | grep -q '^asio: deferred$' ||
  { echo "newer-boost: 'asio: deferred' was not compiled in with Boost $version"; exit 1; }
./asio_tests --test-case='asio*'
echo "newer-boost: the Asio tests, asio::deferred included, pass with Boost $version"
