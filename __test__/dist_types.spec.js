'use strict'

// index.d.ts against the README's examples, code written for faye-websocket, and misuse
// that must not compile (__test__/types/), with tsc --noEmit --strict.

const { spawnSync } = require('child_process')
const path = require('path')

const ROOT = path.join(__dirname, '..')

test('tsc --noEmit --strict accepts the examples and rejects the misuse', () => {
  const tsc = path.join(path.dirname(require.resolve('typescript/package.json')), 'bin', 'tsc')
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types'), '--noEmit', '--strict'], {
    cwd: ROOT,
    encoding: 'utf8'
  })
  expect(result.stdout + result.stderr).toBe('')
  expect(result.status).toBe(0)
}, 60000)
