# need_packages PKG...: installs the Debian packages that are not installed yet (as root, or
# through sudo), or says how to and exits. want_packages PKG... does the same but returns 1
# instead of exiting, for parts that can be skipped. Sourced by scripts/quickstart.sh and
# bench/run.sh.
want_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "mpp: installing missing Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "mpp: missing packages ${missing[*]}; install them as root with:" >&2
      echo "  apt-get install ${missing[*]}" >&2
      return 1
    fi
  fi
  if ! "${sudo[@]}" apt-get update -qq ||
    ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
      "${missing[@]}"; then
    echo "mpp: could not install ${missing[*]}" >&2
    return 1
  fi
}

need_packages() {
  want_packages "$@" || exit 1
}
