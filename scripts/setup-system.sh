#!/usr/bin/env bash
# Debian packages the service and its tests need: CJK fonts and HarfBuzz subsetting for WeasyPrint,
# Pango for WeasyPrint itself; with --test also PostgreSQL, Chromium and poppler-utils.
set -euo pipefail
packages=(fonts-noto-cjk fonts-hanazono fontconfig libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0)
[[ "${1:-}" == "--test" ]] && packages+=(postgresql chromium poppler-utils)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
((${#missing[@]})) || exit 0
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
echo "安装系统软件包：${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
