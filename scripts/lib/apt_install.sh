# Sourced by the setup scripts: apt_install WHO PACKAGE... installs the given Debian
# packages as root (or through sudo), non-interactively. WHO names the caller in messages.
apt_install() {
  local who=$1; shift
  echo "$who: installing $*"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "$who: need root (or sudo) to install: $*" >&2; exit 1; }
    sudo=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "$@"
}
