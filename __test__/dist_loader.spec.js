'use strict'

// lib/native.js picks the binary for the platform it runs on, and only that one. Each
// case loads it in a child process, with process.platform, process.arch and the C library
// it sees replaced where the case needs another platform; the child reports which .node
// files it loaded and the error, if any.

const { spawnSync } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')

const ROOT = path.join(__dirname, '..')
const pkg = require('../package.json')
const LOCAL_BINARY = path.join(ROOT, 'faye-websocket-native.linux-x64-gnu.node')

const MAPS = {
  gnu: '7f0000000000-7f0000001000 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n',
  musl: '7f0000000000-7f0000001000 r-xp 0 08:01 1 /lib/ld-musl-x86_64.so.1\n'
}

// fake: { platform, arch, maps, report }; maps null makes /proc/self/maps unreadable.
function load (nativeJs, fake) {
  const script = `
    const fake = ${JSON.stringify(fake || null)}
    const realReport = process.report.getReport.bind(process.report)
    if (fake) {
      if (fake.platform) Object.defineProperty(process, 'platform', { value: fake.platform })
      if (fake.arch) Object.defineProperty(process, 'arch', { value: fake.arch })
      const fs = require('fs')
      const readFileSync = fs.readFileSync
      fs.readFileSync = function (file, ...rest) {
        if (file === '/proc/self/maps' && 'maps' in fake) {
          if (fake.maps === null) throw new Error('ENOENT')
          return fake.maps
        }
        if (file === '/usr/bin/ldd' && fake.ldd) return fake.ldd
        return readFileSync.call(this, file, ...rest)
      }
      if (fake.report) process.report.getReport = () => fake.report
    }
    const result = {}
    try {
      result.exports = Object.keys(require(${JSON.stringify(nativeJs)}))
    } catch (error) {
      result.error = error.message
      result.code = error.code
    }
    result.addons = realReport().sharedObjects.filter((file) => file.endsWith('.node'))
    console.log(JSON.stringify(result))
  `
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  if (child.status !== 0) throw new Error(child.stderr)
  return JSON.parse(child.stdout)
}

const NATIVE_JS = path.join(ROOT, 'lib', 'native.js')
// napi-rs's own reading of each target triple (platform, arch, abi, platformArchABI).
// @napi-rs/cli's CommonJS build requires ES modules, which Jest's module loader does
// not, so a plain node reads them.
const targets = JSON.parse(spawnSync(process.execPath, ['-e', `
  const { parseTriple } = require('@napi-rs/cli')
  console.log(JSON.stringify(require('./package.json').napi.targets.map(parseTriple)))
`], { cwd: ROOT, encoding: 'utf8' }).stdout)

describe('on this machine', () => {
  test('loads the local build beside package.json', () => {
    const result = load(NATIVE_JS)
    expect(result.error).toBeUndefined()
    expect(result.exports).toContain('connectionFeed')
    expect(result.addons).toEqual([LOCAL_BINARY])
  })

  test('tells glibc from the process report when /proc is not there', () => {
    const result = load(NATIVE_JS, { maps: null })
    expect(result.error).toBeUndefined()
    expect(result.addons).toEqual([LOCAL_BINARY])
  })

  test('takes musl from the process report when /proc is not there', () => {
    const result = load(NATIVE_JS, {
      maps: null,
      report: { header: {}, sharedObjects: ['/lib/ld-musl-x86_64.so.1'] }
    })
    expect(result.error).toMatch(/no native addon for linux-x64-musl/)
    expect(result.addons).toEqual([])
  })
})

describe('never loads a binary for another platform', () => {
  const others = targets.filter((t) => t.platformArchABI !== 'linux-x64-gnu')
  test.each(others.map((t) => [t.platformArchABI, t]))('%s: names its package to install', (name, target) => {
    const fake = { platform: target.platform, arch: target.arch }
    if (target.platform === 'linux') fake.maps = MAPS[target.abi]
    const result = load(NATIVE_JS, fake)
    expect(result.addons).toEqual([])
    expect(result.code).toBe('ERR_FAYE_WEBSOCKET_NATIVE_BINARY')
    expect(result.error).toContain('no native addon for ' + name)
    expect(result.error).toContain(`npm install faye-websocket-native-${name}@${pkg.version}`)
    expect(result.error).toContain('Rust toolchain')
  })

  test.each([
    ['freebsd-x64', { platform: 'freebsd', arch: 'x64' }],
    ['linux-arm-gnueabihf', { platform: 'linux', arch: 'arm', maps: MAPS.gnu }],
    ['win32-ia32-msvc', { platform: 'win32', arch: 'ia32' }]
  ])('%s (no prebuilt package): says to build from source', (name, fake) => {
    const result = load(NATIVE_JS, fake)
    expect(result.addons).toEqual([])
    expect(result.error).toContain('There is no prebuilt binary for ' + name)
    expect(result.error).toContain('`npm install` builds it')
  })
})

describe('as installed from the registry', () => {
  let dir
  let platformDir
  let nativeJs

  beforeEach(() => {
    // node_modules/faye-websocket-native (no binary of its own) beside
    // node_modules/faye-websocket-native-linux-x64-gnu, as npm lays them out.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-loader-'))
    const mainDir = path.join(dir, 'node_modules', 'faye-websocket-native')
    fs.mkdirSync(path.join(mainDir, 'lib'), { recursive: true })
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(mainDir, 'package.json'))
    fs.copyFileSync(NATIVE_JS, path.join(mainDir, 'lib', 'native.js'))
    platformDir = path.join(dir, 'node_modules', 'faye-websocket-native-linux-x64-gnu')
    fs.mkdirSync(platformDir)
    fs.copyFileSync(path.join(ROOT, 'npm', 'linux-x64-gnu', 'package.json'), path.join(platformDir, 'package.json'))
    fs.copyFileSync(LOCAL_BINARY, path.join(platformDir, 'faye-websocket-native.linux-x64-gnu.node'))
    nativeJs = path.join(mainDir, 'lib', 'native.js')
  })

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  test('loads the binary of the platform package', () => {
    const result = load(nativeJs)
    expect(result.error).toBeUndefined()
    expect(result.addons).toEqual([path.join(platformDir, 'faye-websocket-native.linux-x64-gnu.node')])
  })

  test('on musl, leaves the glibc package alone', () => {
    const result = load(nativeJs, { maps: MAPS.musl })
    expect(result.addons).toEqual([])
    expect(result.error).toContain('npm install faye-websocket-native-linux-x64-musl@')
  })

  test('refuses a platform package of another version', () => {
    const file = path.join(platformDir, 'package.json')
    fs.writeFileSync(file, JSON.stringify({ ...require(file), version: '0.0.1' }))
    const result = load(nativeJs)
    expect(result.addons).toEqual([])
    expect(result.error).toContain(`found faye-websocket-native-linux-x64-gnu 0.0.1`)
    expect(result.error).toContain(`npm install faye-websocket-native-linux-x64-gnu@${pkg.version}`)
  })

  test('says so when the platform package has no binary', () => {
    fs.unlinkSync(path.join(platformDir, 'faye-websocket-native.linux-x64-gnu.node'))
    const result = load(nativeJs)
    expect(result.addons).toEqual([])
    expect(result.error).toContain('missing from the installed faye-websocket-native-linux-x64-gnu')
  })
})

describe('the platform list is the same everywhere', () => {
  const names = targets.map((t) => t.platformArchABI).sort()

  test('npm/ has a package for each napi target, and no other', () => {
    expect(fs.readdirSync(path.join(ROOT, 'npm')).sort()).toEqual(names)
  })

  test.each(targets.map((t) => [t.platformArchABI, t]))('npm/%s/package.json', (name, target) => {
    const platformPkg = require(path.join(ROOT, 'npm', name, 'package.json'))
    const binary = `${pkg.napi.binaryName}.${name}.node`
    expect(platformPkg.name).toBe(`${pkg.name}-${name}`)
    expect(platformPkg.version).toBe(pkg.version)
    expect(platformPkg.main).toBe(binary)
    expect(platformPkg.files).toEqual([binary])
    expect(platformPkg.os).toEqual([target.platform])
    expect(platformPkg.cpu).toEqual([target.arch])
    if (target.platform === 'linux') expect(platformPkg.libc).toEqual([target.abi === 'musl' ? 'musl' : 'glibc'])
  })

  test('the release workflow builds and tests every napi target, and no other', () => {
    const workflow = fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8')
    const matrix = [...workflow.matchAll(/^\s+target: ([\w-]+)\s*$/gm)].map((m) => m[1])
    expect(matrix.sort()).toEqual([...pkg.napi.targets, ...pkg.napi.targets].sort())
  })

  test('the main package ships neither a binary nor the generated loader', () => {
    expect(pkg.files.some((pattern) => /\.node|binding/.test(pattern))).toBe(false)
  })

  // `napi pre-publish` adds them at release time: listed here before they exist on the
  // registry, they would make `npm ci` fail (the lockfile cannot record them).
  test('the repository leaves optionalDependencies to napi pre-publish', () => {
    expect(pkg.optionalDependencies).toBeUndefined()
  })
})
