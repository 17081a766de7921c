// This machine's registry lacks some other-platform builds of optional packages (e.g. darwin
// binaries); `npm install` skips them but then `npm ci` refuses the lockfile. This drops
// optional dependencies that have no entry in the lockfile. Run after `npm install`.
// See docs/decisions/006-lockfile-and-partial-registry.md.
import { readFileSync, writeFileSync } from 'node:fs'

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'))
const packages = lock.packages
let pruned = 0
for (const [path, pkg] of Object.entries(packages)) {
  if (!pkg.optionalDependencies) continue
  for (const name of Object.keys(pkg.optionalDependencies)) {
    // Resolution walks up node_modules folders from the package's own.
    let dir = path
    let found = false
    for (;;) {
      if (packages[`${dir ? `${dir}/` : ''}node_modules/${name}`]) { found = true; break }
      if (!dir) break
      const i = dir.lastIndexOf('/node_modules/')
      dir = i >= 0 ? dir.slice(0, i) : ''
    }
    if (!found) {
      delete pkg.optionalDependencies[name]
      pruned++
    }
  }
  if (Object.keys(pkg.optionalDependencies).length === 0) delete pkg.optionalDependencies
}
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`)
console.log(`package-lock.json: pruned ${pruned} optional dependencies this registry does not serve`)
