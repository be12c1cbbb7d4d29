// The one place that knows which Node the project needs. Plain JavaScript on
// purpose: the project's own entry points are TypeScript, which an older Node
// cannot even load, so this runs first (`node scripts/need-node.js && …` in
// the npm scripts, the first import of bin/securelogin.js) and says in one
// line what to do instead of a stack trace. package.json `engines`,
// scripts/node24.sh and README name the same minimum.
const MINIMUM = [22, 18];

const [major, minor] = process.versions.node.split('.').map(Number);
const recentEnough = major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1]);
// 23.0 to 23.5 strip types only behind a flag; features.typescript is false there.
const stripsTypes = process.features.typescript !== false && (major !== 23 || minor >= 6);

if (!recentEnough || !stripsTypes) {
  process.stderr.write(
    `securelogin: Node ${MINIMUM.join('.')} or later is needed (this is ${process.versions.node}): ` +
      'install Node 24 LTS, or run `. scripts/node24.sh` to use a local copy\n',
  );
  process.exit(2);
}
