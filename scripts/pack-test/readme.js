'use strict'

// Runs in a project where faye-websocket-native and faye-websocket-native-linux-x64-gnu
// were installed from their tarballs: the README's server and client examples, what the
// loader picked, and what it says when the binary is missing or is not for this libc.

const { spawn, spawnSync } = require('child_process')
const fs = require('fs')
const path = require('path')
const { check, done, loadedAddons } = require('./check')

const project = process.cwd()
const PLATFORM_PACKAGE = 'faye-websocket-native-linux-x64-gnu'

function lines (child) {
  const seen = []
  const waiters = []
  let buffer = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk) => {
    buffer += chunk
    let end
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end)
      buffer = buffer.slice(end + 1)
      seen.push(line)
      for (const waiter of waiters.slice()) {
        if (waiter.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(line)
        }
      }
    }
  })
  return {
    seen,
    next (test) {
      const found = seen.find(test)
      if (found) return Promise.resolve(found)
      return new Promise((resolve) => waiters.push({ test, resolve }))
    }
  }
}

function run (file, args) {
  const child = spawn(process.execPath, [path.join(__dirname, file)].concat(args || []), {
    cwd: project, stdio: ['ignore', 'pipe', 'inherit']
  })
  return { child, out: lines(child), exited: new Promise((resolve) => child.on('exit', resolve)) }
}

// A module preloaded with -r that makes the loader see musl, the way it would on Alpine.
const FAKE_MUSL = `
const fs = require('fs')
const readFileSync = fs.readFileSync
fs.readFileSync = function (file, ...rest) {
  if (file === '/proc/self/maps') return '7f0000000000-7f0000001000 r-xp 0 08:01 1 /lib/ld-musl-x86_64.so.1\\n'
  if (file === '/usr/bin/ldd') return 'musl libc (x86_64)'
  return readFileSync.call(this, file, ...rest)
}
`

async function main () {
  const installedMain = path.dirname(require.resolve('faye-websocket-native/package.json', { paths: [project] }))
  const installedBinary = path.dirname(require.resolve(PLATFORM_PACKAGE + '/package.json', { paths: [project] }))

  await check('the installed main package holds no binary (it comes from ' + PLATFORM_PACKAGE + ')', () => {
    const stray = fs.readdirSync(installedMain).filter((file) => file.endsWith('.node'))
    if (stray.length) throw new Error('found ' + stray.join(', '))
  })

  await check('the installed main package lists the platform packages as optionalDependencies', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(installedMain, 'package.json'), 'utf8'))
    const version = (pkg.optionalDependencies || {})[PLATFORM_PACKAGE]
    if (version !== pkg.version) throw new Error('optionalDependencies: ' + JSON.stringify(pkg.optionalDependencies))
  })

  const server = run('readme-server.js')
  let port
  await check('README echo server starts', async () => {
    port = Number((await server.out.next((line) => line.startsWith('listening '))).split(' ')[1])
  })

  await check('README client exchanges a message with the README server', async () => {
    const client = run('readme-client.js', ['ws://127.0.0.1:' + port + '/'])
    const code = await client.exited
    const expected = ['open', 'message Hello, world!', 'close 1000 ']
    if (code !== 0 || JSON.stringify(client.out.seen) !== JSON.stringify(expected)) {
      throw new Error('exit ' + code + ', output ' + JSON.stringify(client.out.seen))
    }
  })

  await check('README server sees the client close with 1000', async () => {
    await server.out.next((line) => line === 'close 1000 ')
  })
  server.child.kill()

  await check('the binary loaded is the prebuilt one from ' + PLATFORM_PACKAGE, () => {
    require(installedMain)
    const addons = loadedAddons()
    const expected = path.join(installedBinary, 'faye-websocket-native.linux-x64-gnu.node')
    if (addons.length !== 1 || fs.realpathSync(addons[0]) !== fs.realpathSync(expected)) {
      throw new Error('loaded ' + JSON.stringify(addons) + ', expected ' + expected)
    }
  })

  await check('on musl the loader refuses the glibc binary and names the package to install', () => {
    const preload = path.join(project, 'fake-musl.js')
    fs.writeFileSync(preload, FAKE_MUSL)
    const result = spawnSync(process.execPath, ['-r', preload, '-e',
      "try { require('faye-websocket-native') } catch (e) { console.log(e.message) }\n" +
      "console.log(JSON.stringify(process.report.getReport().sharedObjects.filter((f) => f.endsWith('.node'))))"],
    { cwd: project, encoding: 'utf8' })
    const out = result.stdout.trim().split('\n')
    if (!/no native addon for linux-x64-musl/.test(result.stdout) ||
        !result.stdout.includes('npm install faye-websocket-native-linux-x64-musl@') ||
        out[out.length - 1] !== '[]') {
      throw new Error('output: ' + result.stdout + result.stderr)
    }
  })

  await check('without the platform package the loader says what to install', () => {
    const aside = installedBinary + '.aside'
    fs.renameSync(installedBinary, aside)
    try {
      const result = spawnSync(process.execPath, ['-e', "require('faye-websocket-native')"],
        { cwd: project, encoding: 'utf8' })
      if (result.status === 0 || !result.stderr.includes('npm install ' + PLATFORM_PACKAGE + '@') ||
          !result.stderr.includes('Rust toolchain')) {
        throw new Error('exit ' + result.status + ', stderr: ' + result.stderr)
      }
    } finally {
      fs.renameSync(aside, installedBinary)
    }
  })

  done()
}

main()
