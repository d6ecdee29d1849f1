'use strict'

// Shared by the scale-test scripts, which scripts/scale-test.sh copies into a throwaway
// project where faye, faye-redis, sockjs and sockjs-client are installed with
// "overrides": { "faye-websocket": "file:<a copy of this package with its local build>" }.
// Servers run as child processes (so that they can be killed and restarted on the same
// port); the drivers start them, talk to them as clients and count ok / not ok lines.

const fs = require('fs')
const net = require('net')
const path = require('path')
const { spawn } = require('child_process')

const children = new Set()

// Whatever happens to the driver, no server or redis it started outlives it.
process.on('exit', () => {
  for (const child of children) {
    try { child.kill('SIGKILL') } catch (error) {}
  }
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(1))

// A port the kernel had free a moment ago, on 127.0.0.1. The servers take fixed ports
// (rather than port 0) because a restarted server must come back on the same one.
function freePort () {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

// Runs `node <script>` with `env`, resolves with the JSON object it prints on its first
// stdout line (its "ready" line) and the child. Its other output goes to this process's
// stderr, prefixed with `label`.
function startNode (script, env, label, timeoutMs = 10000) {
  const child = spawn(process.execPath, [path.join(__dirname, script)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  children.add(child)
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    children.delete(child)
    resolve(signal || code)
  }))
  child.stderr.on('data', (data) => process.stderr.write(String(data).replace(/^(?=.)/gm, `[${label}] `)))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start within ${timeoutMs} ms`)), timeoutMs)
    let out = ''
    child.stdout.on('data', (data) => {
      out += data
      const newline = out.indexOf('\n')
      if (newline < 0) return
      clearTimeout(timer)
      try {
        resolve({ child, exited, ready: JSON.parse(out.slice(0, newline)) })
      } catch (error) {
        reject(new Error(`${label} printed ${out}`))
      }
    })
    exited.then((how) => {
      clearTimeout(timer)
      reject(new Error(`${label} exited (${how}) before it was ready`))
    })
  })
}

async function kill (server, signal = 'SIGKILL') {
  server.child.kill(signal)
  return server.exited
}

// A redis-server of its own on a free loopback port, with no persistence, so that no
// other redis on the machine and no earlier run can leak into the test.
async function startRedis () {
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'scale-redis-'))
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    children.delete(child)
    resolve(signal || code)
  }))
  let log = ''
  child.stderr.on('data', (data) => { log += data })
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start: ' + log)), 10000)
    child.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
    child.stdout.on('data', (data) => {
      log += data
      if (/Ready to accept connections/.test(log)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('error', (error) => { clearTimeout(timer); reject(error) })
    exited.then((how) => { clearTimeout(timer); reject(new Error(`redis-server exited (${how}): ${log}`)) })
  })
  return { port, child, exited }
}

// Proof, from inside a server process, that `dependent` runs on this package: the
// faye-websocket it resolves is faye-websocket-native, the loader of that copy is in
// require.cache, faye-websocket's own files are not, and the addon the process loaded is
// that copy's build. Returned as data for the server's ready line.
function nativeProof (dependent) {
  const dependentDir = path.dirname(require.resolve(dependent + '/package.json'))
  let dir = path.dirname(require.resolve('faye-websocket', { paths: [dependentDir] }))
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir)
  const name = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name
  const cached = Object.keys(require.cache)
  return {
    dependent,
    resolvesTo: name,
    loaderCached: cached.includes(path.join(dir, 'lib', 'native.js')),
    upstreamFiles: cached.filter((file) => /[\\/]lib[\\/]faye[\\/]websocket/.test(file)),
    addons: process.report.getReport().sharedObjects.filter((file) => file.endsWith('.node')),
    packageDir: dir
  }
}

function checkProof (proof) {
  const problems = []
  if (proof.resolvesTo !== 'faye-websocket-native') problems.push(`resolves faye-websocket to ${proof.resolvesTo}`)
  if (!proof.loaderCached) problems.push(`${proof.packageDir}/lib/native.js is not in require.cache`)
  if (proof.upstreamFiles.length) problems.push("faye-websocket's own files were loaded: " + proof.upstreamFiles.join(', '))
  const ours = proof.addons.filter((file) => file.startsWith(proof.packageDir + path.sep))
  if (ours.length !== 1 || proof.addons.length !== 1) problems.push('loaded addons: ' + proof.addons.join(', '))
  if (problems.length) throw new Error(`${proof.dependent}: ` + problems.join('; '))
}

function waitUntil (predicate, label, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const poll = () => {
      let value
      try { value = predicate() } catch (error) { return reject(error) }
      if (value) return resolve(value)
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}`))
      setTimeout(poll, 20)
    }
    poll()
  })
}

module.exports = { freePort, startNode, kill, startRedis, nativeProof, checkProof, waitUntil }
