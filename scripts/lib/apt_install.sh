# Sourced by the setup scripts. WHO names the caller in messages.
#   as_root WHO COMMAND...       runs COMMAND as root (itself when root, else through sudo)
#   apt_install WHO PACKAGE...   installs the given Debian packages, non-interactively
as_root() {
  local who=$1; shift
  if [ "$(id -u)" = 0 ]; then
    "$@"
  else
    command -v sudo >/dev/null || { echo "$who: need root (or sudo) for: $*" >&2; exit 1; }
    sudo "$@"
  fi
}

apt_install() {
  local who=$1; shift
  echo "$who: installing $*"
  export DEBIAN_FRONTEND=noninteractive
  as_root "$who" apt-get update -q
  as_root "$who" apt-get install -y -q --no-install-recommends "$@"
}
