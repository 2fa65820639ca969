#!/usr/bin/env bash
# Installs molmo-agent into ./.venv, and Debian's Chromium when no browser is found.
#   ./setup.sh          the tool
#   ./setup.sh --dev    the tool and what the tests need
#   ./setup.sh --ml     the tool and the model extras (torch, transformers, peft)
set -euo pipefail
cd "$(dirname "$0")"

extras=""
case "${1:-}" in
  --dev) extras="[dev]" ;;
  --ml) extras="[ml]" ;;
  "") ;;
  *) echo "setup.sh: unknown option $1 (use --dev or --ml)" >&2; exit 2 ;;
esac

have_browser() {
  [ -n "${MOLMO_AGENT_CHROMIUM:-}" ] && return 0
  for path in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
    [ -x "$path" ] && return 0
  done
  compgen -G "${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}/chromium-*/chrome-linux*/chrome" >/dev/null
}

if ! have_browser || ! fc-list 2>/dev/null | grep -qi liberation; then
  if ! command -v apt-get >/dev/null; then
    echo "setup.sh: no Chromium found; install one (or 'playwright install chromium') and set MOLMO_AGENT_CHROMIUM" >&2
    exit 1
  fi
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing Debian's chromium and fonts ..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-liberation fonts-dejavu-core >/dev/null
fi

python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
echo "installing molmo-agent$extras into .venv ..."
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".$extras"
echo "ready: .venv/bin/molmo-agent --help"
